"""Devin v3's typed API errors. Its error body is an RFC 9457 problem (`application/problem+json`):
`{title, status, detail?, type?, instance?, errors?}`, with `errors` on 422 field validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from ...errors import (
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
from ..errors import _describe  # pyright: ignore[reportPrivateUsage]

__all__ = [
    "DevinV3APIError",
    "DevinV3BadRequestError",
    "DevinV3AuthenticationError",
    "DevinV3PermissionDeniedError",
    "DevinV3NotFoundError",
    "DevinV3ConflictError",
    "DevinV3UnprocessableEntityError",
    "DevinV3RateLimitError",
    "DevinV3InternalServerError",
    "DEVIN_V3_ERRORS",
]


def _text(body: Any, key: str) -> str | None:
    value = json_field(body, key)
    return value if isinstance(value, str) else None


class DevinV3APIError(APIError):
    """A non-success Devin v3 response, with the fields of its problem body (None when absent)."""

    @property
    def title(self) -> str | None:
        """A short summary of the problem type ("Not Found")."""
        return _text(self.body, "title")

    @property
    def detail(self) -> str | None:
        """This occurrence explained, when the server says more than `title`."""
        return _text(self.body, "detail")

    @property
    def problem_type(self) -> str | None:
        """The problem's `type` URI (`about:blank` when it has no other meaning)."""
        return _text(self.body, "type")

    @property
    def instance(self) -> str | None:
        """The request path the problem is about."""
        return _text(self.body, "instance")

    @property
    def errors(self) -> list[Any]:
        """The field errors of a 422 (their item shape is UNCONFIRMED); `[]` otherwise."""
        value = json_field(self.body, "errors")
        return cast("list[Any]", value) if isinstance(value, list) else []

    @property
    def server_message(self) -> str | None:
        """`"title: detail"`, then the field errors, as far as the body has them."""
        head = ": ".join(p for p in (self.title, self.detail) if p) or None
        fields = "; ".join(p for p in map(_describe, self.errors) if p)
        if head and fields:
            return f"{head} ({fields})"
        return head or fields or super().server_message


class DevinV3BadRequestError(DevinV3APIError, BadRequestError):
    """400, e.g. an unknown `platform` (the body lists the organisation's platforms)."""


class DevinV3AuthenticationError(DevinV3APIError, AuthenticationError):
    """401: a missing or invalid key. v3 takes `cog_` keys only; an `apk_` key is refused."""


class DevinV3PermissionDeniedError(DevinV3APIError, PermissionDeniedError):
    """403: the key's role lacks the permission (e.g. `ManageOrgSessions`) or the organisation."""


class DevinV3NotFoundError(DevinV3APIError, NotFoundError):
    """404."""


class DevinV3ConflictError(DevinV3APIError, ConflictError):
    """409 (which operations answer it is UNCONFIRMED)."""


class DevinV3UnprocessableEntityError(DevinV3APIError, UnprocessableEntityError):
    """422: request validation; `errors` lists the fields."""


class DevinV3RateLimitError(DevinV3APIError, RateLimitError):
    """429 (undocumented by Devin)."""


class DevinV3InternalServerError(DevinV3APIError, InternalServerError):
    """5xx."""


DEVIN_V3_ERRORS: Mapping[int | str, type[APIError]] = {
    400: DevinV3BadRequestError,
    401: DevinV3AuthenticationError,
    403: DevinV3PermissionDeniedError,
    404: DevinV3NotFoundError,
    409: DevinV3ConflictError,
    422: DevinV3UnprocessableEntityError,
    429: DevinV3RateLimitError,
    "5XX": DevinV3InternalServerError,
    "default": DevinV3APIError,
}
"""Every Devin v3 operation shares this status → error table."""
