"""Jupyter Server sessions: `JupyterCore` and the `sessions_*` functions."""

from ._core import JupyterCore
from .models import (
    CreateSessionRequest,
    DeleteSessionRequest,
    GetSessionRequest,
    Kernel,
    KernelRef,
    NotebookRef,
    Session,
    SessionUpdate,
    UpdateSessionRequest,
)
from .sessions import sessions_create, sessions_delete, sessions_get, sessions_list, sessions_update

__all__ = [
    "JupyterCore",
    "CreateSessionRequest",
    "DeleteSessionRequest",
    "GetSessionRequest",
    "Kernel",
    "KernelRef",
    "NotebookRef",
    "Session",
    "SessionUpdate",
    "UpdateSessionRequest",
    "sessions_create",
    "sessions_delete",
    "sessions_get",
    "sessions_list",
    "sessions_update",
]
