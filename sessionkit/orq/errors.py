"""Orq's typed API errors, read from its `ErrorResponse` body `{"message", "code"?, "details"?}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from ..errors import APIError, AuthenticationError, NotFoundError, json_field

__all__ = ["OrqAPIError", "OrqAuthenticationError", "HonoApiError", "ORQ_ERRORS"]


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


class OrqAuthenticationError(OrqAPIError, AuthenticationError):
    """401: the API key is missing or invalid (the SDK's `ErrorResponse`)."""


class HonoApiError(OrqAPIError, NotFoundError):
    """404: no such session (named after the SDK's `HonoAPIError`)."""


ORQ_ERRORS: Mapping[int | str, type[APIError]] = {401: OrqAuthenticationError, 404: HonoApiError}
"""The typed errors every `/v2/sessions` operation declares; other statuses get the generic ones."""
