"""Jupyter Server sessions: `JupyterCore` and the `sessions_*` functions."""

from . import models, params, sessions
from ._core import JupyterCore
from .models import *  # noqa: F403 - each module's __all__ is the public API
from .params import *  # noqa: F403 - each module's __all__ is the public API
from .sessions import *  # noqa: F403 - each module's __all__ is the public API

__all__ = ["JupyterCore"]
__all__ += models.__all__
__all__ += params.__all__
__all__ += sessions.__all__
