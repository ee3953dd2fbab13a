"""Mix sessions: `MixCore` and the `sessions_*` functions."""

from . import errors, events, models, params, sessions, turns
from ._core import MixCore
from .errors import *  # noqa: F403 - each module's __all__ is the public API
from .events import *  # noqa: F403 - each module's __all__ is the public API
from .models import *  # noqa: F403 - each module's __all__ is the public API
from .params import *  # noqa: F403 - each module's __all__ is the public API
from .sessions import *  # noqa: F403 - each module's __all__ is the public API
from .turns import *  # noqa: F403 - each module's __all__ is the public API

__all__ = ["MixCore"]
__all__ += errors.__all__
__all__ += events.__all__
__all__ += models.__all__
__all__ += params.__all__
__all__ += sessions.__all__
__all__ += turns.__all__
