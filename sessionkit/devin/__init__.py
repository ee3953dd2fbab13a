"""Devin sessions (API v1): `DevinCore` and the `sessions_*` functions."""

from ._core import DevinCore
from .errors import (
    DevinAPIError,
    DevinAuthenticationError,
    DevinBadRequestError,
    DevinConflictError,
    DevinInternalServerError,
    DevinNotFoundError,
    DevinPermissionDeniedError,
    DevinRateLimitError,
    DevinUnprocessableEntityError,
)
from .models import (
    CreateSessionRequest,
    CreateSessionResponse,
    GetSessionRequest,
    PullRequest,
    Session,
    SessionMessage,
    SessionSecret,
    SessionStatus,
)
from .sessions import sessions_create, sessions_get

__all__ = [
    "DevinCore",
    "DevinAPIError",
    "DevinAuthenticationError",
    "DevinBadRequestError",
    "DevinConflictError",
    "DevinInternalServerError",
    "DevinNotFoundError",
    "DevinPermissionDeniedError",
    "DevinRateLimitError",
    "DevinUnprocessableEntityError",
    "CreateSessionRequest",
    "CreateSessionResponse",
    "GetSessionRequest",
    "PullRequest",
    "Session",
    "SessionMessage",
    "SessionSecret",
    "SessionStatus",
    "sessions_create",
    "sessions_get",
]
