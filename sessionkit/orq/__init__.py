"""Orq sessions (the live `/v2/sessions` API): `OrqCore` and the `sessions_*` functions."""

from . import errors, models, params, sessions
from ._core import OrqCore
from .errors import *  # noqa: F403 - each module's __all__ is the public API
from .models import *  # noqa: F403 - each module's __all__ is the public API
from .params import *  # noqa: F403 - each module's __all__ is the public API
from .sessions import *  # noqa: F403 - each module's __all__ is the public API

__all__ = ["OrqCore"]
__all__ += errors.__all__
__all__ += models.__all__
__all__ += params.__all__
__all__ += sessions.__all__


def __getattr__(name: str) -> object:
    """Deprecated names (`HonoApiError`, `OrqAuthenticationError`) resolve with a warning."""
    return errors.deprecated_alias(name, __name__)
