"""Mix's typed API errors.

A body carrying a `RESTError` (`{"error": {"code", "message", "type"}}`, also inside the 0.1.1
envelope) becomes a `RESTResponseError`; any other failing response a `MixDefaultError`. Each also
inherits the generic class of its status, so `except NotFoundError` and `isinstance(e,
RESTResponseError)` both work.
"""

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
    error_class_for_status,
    json_field,
)
from .models import ErrorType

__all__ = [
    "RESTResponseError",
    "RESTResponseBadRequestError",
    "RESTResponseAuthenticationError",
    "RESTResponsePermissionDeniedError",
    "RESTResponseNotFoundError",
    "RESTResponseConflictError",
    "RESTResponseUnprocessableEntityError",
    "RESTResponseRateLimitError",
    "RESTResponseInternalServerError",
    "MixDefaultError",
    "MixDefaultBadRequestError",
    "MixDefaultAuthenticationError",
    "MixDefaultPermissionDeniedError",
    "MixDefaultNotFoundError",
    "MixDefaultConflictError",
    "MixDefaultUnprocessableEntityError",
    "MixDefaultRateLimitError",
    "MixDefaultInternalServerError",
    "mix_error_class",
]


def _rest_error(body: Any) -> Mapping[str, Any] | None:
    inner = json_field(body, "error")
    return cast("Mapping[str, Any]", inner) if isinstance(inner, Mapping) else None


class RESTResponseError(APIError):
    """A failing response whose body is a Mix `RESTError`."""

    @property
    def code(self) -> int | None:
        """The body's `error.code` (the HTTP status, as the server saw it)."""
        value = json_field(_rest_error(self.body), "code")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def error_type(self) -> ErrorType | None:
        """The body's `error.type`, e.g. `ErrorType.NOT_FOUND`; unknown types are kept."""
        value = json_field(_rest_error(self.body), "type")
        return ErrorType(value) if isinstance(value, str) else None

    @property
    def error_message(self) -> str | None:
        """The body's `error.message`."""
        value = json_field(_rest_error(self.body), "message")
        return value if isinstance(value, str) else None

    @property
    def server_message(self) -> str | None:
        return self.error_message or super().server_message


class RESTResponseBadRequestError(RESTResponseError, BadRequestError):
    """400 (`bad_request`, `validation_error`)."""


class RESTResponseAuthenticationError(RESTResponseError, AuthenticationError):
    """401."""


class RESTResponsePermissionDeniedError(RESTResponseError, PermissionDeniedError):
    """403."""


class RESTResponseNotFoundError(RESTResponseError, NotFoundError):
    """404 (`not_found`)."""


class RESTResponseConflictError(RESTResponseError, ConflictError):
    """409."""


class RESTResponseUnprocessableEntityError(RESTResponseError, UnprocessableEntityError):
    """422."""


class RESTResponseRateLimitError(RESTResponseError, RateLimitError):
    """429."""


class RESTResponseInternalServerError(RESTResponseError, InternalServerError):
    """5xx (`internal_error`); the server answers any fork or delete failure with 500."""


class MixDefaultError(APIError):
    """A failing response without a `RESTError` body (a proxy page, the mux's plain-text 404, ...)."""


class MixDefaultBadRequestError(MixDefaultError, BadRequestError):
    """400."""


class MixDefaultAuthenticationError(MixDefaultError, AuthenticationError):
    """401."""


class MixDefaultPermissionDeniedError(MixDefaultError, PermissionDeniedError):
    """403."""


class MixDefaultNotFoundError(MixDefaultError, NotFoundError):
    """404."""


class MixDefaultConflictError(MixDefaultError, ConflictError):
    """409."""


class MixDefaultUnprocessableEntityError(MixDefaultError, UnprocessableEntityError):
    """422."""


class MixDefaultRateLimitError(MixDefaultError, RateLimitError):
    """429."""


class MixDefaultInternalServerError(MixDefaultError, InternalServerError):
    """5xx."""


def _by_generic(root: type[APIError]) -> dict[type[APIError], type[APIError]]:
    """The subclasses of `root`, keyed by the generic status class each also inherits."""
    table: dict[type[APIError], type[APIError]] = {}
    for cls in root.__subclasses__():
        generic = next(b for b in cls.__bases__ if b is not root)
        table[generic] = cls
    return table


_REST = _by_generic(RESTResponseError)
_DEFAULT = _by_generic(MixDefaultError)


def mix_error_class(status: int, body: Any) -> type[APIError]:
    """The typed error for a failing Mix response: chosen by body kind, then by status."""
    rest = _rest_error(body) is not None
    table, root = (_REST, RESTResponseError) if rest else (_DEFAULT, MixDefaultError)
    return table.get(error_class_for_status(status), root)
