"""Devin sessions, API v3 (current): `DevinCore(api_key, org_id)` and the `sessions_*` functions.

Paths are `/v3/organizations/{org_id}/sessions...`; keys are `cog_` service-user keys or personal
access tokens. The v1 API (`apk_` keys) is `sessionkit.devin`.
"""

from . import errors, models, params, sessions
from ._core import DevinCore
from .errors import *  # noqa: F403 - each module's __all__ is the public API
from .models import *  # noqa: F403 - each module's __all__ is the public API
from .params import *  # noqa: F403 - each module's __all__ is the public API
from .sessions import *  # noqa: F403 - each module's __all__ is the public API

__all__ = ["DevinCore"]
__all__ += errors.__all__
__all__ += models.__all__
__all__ += params.__all__
__all__ += sessions.__all__
