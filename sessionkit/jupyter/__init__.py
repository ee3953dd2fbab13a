"""Jupyter Server sessions and their kernels: `JupyterCore` and the operation functions."""

from . import errors, kernels, models, outputs, params, sessions
from ._core import JupyterCore
from .errors import *  # noqa: F403 - each module's __all__ is the public API
from .kernels import *  # noqa: F403 - each module's __all__ is the public API
from .models import *  # noqa: F403 - each module's __all__ is the public API
from .outputs import *  # noqa: F403 - each module's __all__ is the public API
from .params import *  # noqa: F403 - each module's __all__ is the public API
from .sessions import *  # noqa: F403 - each module's __all__ is the public API

OPERATIONS = sessions.OPERATIONS + kernels.OPERATIONS  # pyright: ignore[reportConstantRedefinition]  # replaces the star import's
"""Every operation of the package with its function: what the CLI, the docs and the request tests read."""

__all__ = ["JupyterCore", "OPERATIONS"]
__all__ += errors.__all__
__all__ += kernels.__all__
__all__ += models.__all__
__all__ += outputs.__all__
__all__ += params.__all__
__all__ += [name for name in sessions.__all__ if name != "OPERATIONS"]
