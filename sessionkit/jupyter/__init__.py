"""Jupyter Server sessions and their kernels: `JupyterCore` and the operation functions."""

from . import errors, models, params, sessions
from ._core import JupyterCore
from .errors import *  # noqa: F403 - each module's __all__ is the public API
from .models import *  # noqa: F403 - each module's __all__ is the public API
from .params import *  # noqa: F403 - each module's __all__ is the public API
from .sessions import *  # noqa: F403 - each module's __all__ is the public API

__all__ = ["JupyterCore"]
__all__ += errors.__all__
__all__ += models.__all__
__all__ += params.__all__
__all__ += sessions.__all__
