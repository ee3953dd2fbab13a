"""Orq's typed API errors, read from its `ErrorResponse` body `{"message", "code"?, "details"?}`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, cast

from ..errors import APIError, AuthenticationError, NotFoundError, json_field

__all__ = ["OrqAPIError", "ErrorResponse", "UnauthorizedErrorResponse", "NotFoundErrorResponse", "ORQ_ERRORS"]


class OrqAPIError(APIError):
    """An API error whose body may be Orq's `ErrorResponse`.

    The body's `message` is `server_message`; `message` stays the full sessionkit message
    ("401 Unauthorized: <server message>") like every other error.
    """

    @property
    def code(self) -> int | str | None:
        """The body's `code`: a gRPC status number in the live API, a string in older Hono errors."""
        value = json_field(self.body, "code")
        return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None

    @property
    def details(self) -> list[Any] | None:
        """The body's `details` list, when the service sent one."""
        value = json_field(self.body, "details")
        return list(cast("list[Any]", value)) if isinstance(value, list) else None


class ErrorResponse(OrqAPIError):
    """The error the live SDK types (`ErrorResponse`): a 401 on every operation, a 404 on get."""


class UnauthorizedErrorResponse(ErrorResponse, AuthenticationError):
    """401: the API key is missing or invalid."""


class NotFoundErrorResponse(ErrorResponse, NotFoundError):
    """404 from `sessions_get`: no such session. Other operations' 404s are plain `NotFoundError`s,
    as the live SDK leaves them untyped."""


ORQ_ERRORS: Mapping[int | str, type[APIError]] = {401: UnauthorizedErrorResponse}
"""The typed errors of every `/v2/sessions` operation; other statuses get the generic ones."""

_DEPRECATED: dict[str, tuple[type[APIError], str]] = {
    "OrqAuthenticationError": (UnauthorizedErrorResponse, "UnauthorizedErrorResponse"),
    "HonoApiError": (NotFoundErrorResponse, "NotFoundErrorResponse"),
}


def deprecated_alias(name: str, module: str, stacklevel: int = 3) -> type[APIError]:
    """The 2025 trace-sessions names, kept as deprecated aliases of the live ones."""
    if name in _DEPRECATED:
        cls, new = _DEPRECATED[name]
        warnings.warn(f"sessionkit.orq.{name} is deprecated: use {new}", DeprecationWarning, stacklevel=stacklevel)
        return cls
    raise AttributeError(f"module {module!r} has no attribute {name!r}")


def __getattr__(name: str) -> type[APIError]:
    return deprecated_alias(name, __name__)
