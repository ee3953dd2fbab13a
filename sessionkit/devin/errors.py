"""Devin's typed API errors. Its error body is `{"detail": str}`, or FastAPI's `{"detail": [...]}` on 422."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from ..errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    json_field,
)

__all__ = [
    "DevinAPIError",
    "DevinBadRequestError",
    "DevinAuthenticationError",
    "DevinPermissionDeniedError",
    "DevinNotFoundError",
    "DevinConflictError",
    "DevinUnprocessableEntityError",
    "DevinRateLimitError",
    "DevinInternalServerError",
    "DEVIN_ERRORS",
]


class DevinAPIError(APIError):
    """A non-success Devin response. `detail` is the body's `detail`: a message, or a list of validation items."""

    @property
    def detail(self) -> str | list[Any] | None:
        value = json_field(self.body, "detail")
        return cast("str | list[Any]", value) if isinstance(value, (str, list)) else None

    @property
    def server_message(self) -> str | None:
        detail = self.detail
        if isinstance(detail, list):
            # FastAPI items look like {"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}
            parts = [_describe(item) for item in detail]
            return "; ".join(p for p in parts if p) or None
        return detail


def _describe(item: Any) -> str:
    if not isinstance(item, Mapping):
        return str(item)
    loc, msg = json_field(item, "loc"), json_field(item, "msg")
    where = ".".join(str(p) for p in cast("list[Any]", loc)) if isinstance(loc, list) else ""
    text = "" if msg is None else str(msg)
    return f"{where}: {text}" if where and text else where or text


class DevinBadRequestError(DevinAPIError, BadRequestError):
    """400."""


class DevinAuthenticationError(DevinAPIError, AuthenticationError):
    """401: missing or invalid API key."""


class DevinPermissionDeniedError(DevinAPIError, PermissionDeniedError):
    """403."""


class DevinNotFoundError(DevinAPIError, NotFoundError):
    """404 (not documented by Devin; kept typed in case it answers one)."""


class DevinConflictError(DevinAPIError, ConflictError):
    """409."""


class DevinUnprocessableEntityError(DevinAPIError, UnprocessableEntityError):
    """422: FastAPI request validation; `detail` lists `{loc, msg, type}` items."""


class DevinRateLimitError(DevinAPIError, RateLimitError):
    """429."""


class DevinInternalServerError(DevinAPIError, InternalServerError):
    """5xx."""


DEVIN_ERRORS: Mapping[int | str, type[APIError]] = {
    400: DevinBadRequestError,
    401: DevinAuthenticationError,
    403: DevinPermissionDeniedError,
    404: DevinNotFoundError,
    409: DevinConflictError,
    422: DevinUnprocessableEntityError,
    429: DevinRateLimitError,
    "5XX": DevinInternalServerError,
    "default": DevinAPIError,
}
"""Every Devin operation shares this status → error table."""
