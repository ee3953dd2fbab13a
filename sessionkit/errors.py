"""The closed set of error values a sessionkit operation can return inside `Err`.

Each pipeline stage fails into exactly one kind, so a caller can tell *where* a call went wrong:
input validation (`InvalidRequestError`), transport (`ConnectionError`, `RequestTimeoutError`),
the server's status (`APIError` and subclasses), or decoding (`ResponseValidationError`).
They subclass `Exception` so that `raise err` works where a caller prefers exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, cast

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ConnectionError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseValidationError",
    "SessionkitError",
    "UnprocessableEntityError",
    "ErrorClassifier",
    "ErrorTable",
    "clean_text",
    "error_class_for_status",
    "lookup_status",
    "status_table",
]


class SessionkitError(Exception):
    """Base of every error value. Carries where and how long the call went."""

    operation_id: str
    attempts: int
    elapsed: float

    def __init__(self, message: str, *, operation_id: str = "", attempts: int = 0, elapsed: float = 0.0) -> None:
        super().__init__(message)
        self.message = message
        self.operation_id = operation_id
        self.attempts = attempts
        self.elapsed = elapsed

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, operation_id={self.operation_id!r}, attempts={self.attempts})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    __hash__ = Exception.__hash__


class InvalidRequestError(SessionkitError):
    """The input failed validation (nothing was sent), or the caller's own upload source failed
    while it was being sent (`cause` is what it raised)."""

    def __init__(self, reason: str, *, field_path: str = "", cause: BaseException | None = None, **kw: Any) -> None:
        where = f" at {field_path}" if field_path else ""
        super().__init__(f"invalid request{where}: {reason}", **kw)
        self.field_path = field_path
        self.reason = reason
        self.cause = cause


class ConnectionError(SessionkitError):
    """DNS failure, refused or reset connection, TLS failure, or a body cut short."""

    def __init__(self, message: str, *, cause: BaseException | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.cause = cause


class RequestTimeoutError(SessionkitError):
    """A deadline passed: `deadline` is "attempt" (one try) or "total" (the whole call)."""

    def __init__(
        self, message: str, *, deadline: Literal["attempt", "total"], timeout: float | None = None, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.deadline = deadline
        self.timeout = timeout


class APIError(SessionkitError):
    """The server answered with a status the operation does not treat as success."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: Any = None,
        raw_text: str = "",
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.status = status
        self.body = body
        self.raw_text = raw_text
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self.request_id = request_id

    @property
    def server_message(self) -> str | None:
        """The human-readable message of a JSON error body, when it has one."""
        return message_from_body(self.body)


class BadRequestError(APIError):
    """400."""


class AuthenticationError(APIError):
    """401: missing or invalid credentials."""


class PermissionDeniedError(APIError):
    """403: the credentials are not allowed to do this (Jupyter answers a bad token with 403)."""


class NotFoundError(APIError):
    """404."""


class ConflictError(APIError):
    """409."""


class UnprocessableEntityError(APIError):
    """422."""


class RateLimitError(APIError):
    """429. `retry_after` is the wait the server asked for, in seconds, when it said one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class InternalServerError(APIError):
    """5xx."""


class ResponseValidationError(SessionkitError):
    """A success response whose body does not decode into the operation's model."""

    def __init__(
        self,
        reason: str,
        *,
        field_path: str = "",
        raw_text: str = "",
        status: int = 0,
        headers: Mapping[str, str] | None = None,
        **kw: Any,
    ) -> None:
        where = f" at {field_path}" if field_path else ""
        super().__init__(f"response does not match the model{where}: {reason}", **kw)
        self.field_path = field_path
        self.reason = reason
        self.raw_text = raw_text
        self.status = status
        self.headers: Mapping[str, str] = headers if headers is not None else {}


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")
_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
_MAX_MESSAGE = 1000


def clean_text(text: str) -> str:
    """`text` made safe for one line of a message or a log: ANSI escapes removed, line breaks and
    other control characters folded into single spaces, at most 1,000 characters."""
    text = _CONTROL.sub(" ", _ANSI.sub("", text)).strip()
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def json_field(data: Any, key: str) -> Any:
    """`data[key]` when `data` is a JSON object that has it, else None."""
    return cast("Mapping[str, Any]", data).get(key) if isinstance(data, Mapping) else None


def message_from_body(body: Any) -> str | None:
    """The message of a JSON error body: `message`, `detail`, `error` or `error.message`."""
    for key in ("message", "detail", "error"):
        value = json_field(body, key)
        if isinstance(value, str):
            return value
        inner = json_field(value, "message")
        if isinstance(inner, str):
            return inner
    return None


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for_status(status: int, body: Any = None) -> type[APIError]:
    """The generic typed error for a status, used where a service declares nothing more specific."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return InternalServerError if status >= 500 else APIError


ErrorClassifier = Callable[[int, Any], "type[APIError]"]
"""How a service turns a failing status (and its decoded body) into a typed error."""
ErrorTable = Mapping["int | str", "type[APIError]"]
"""Statuses (`404`), classes (`"5XX"`) and `"default"` mapped to typed errors."""


def lookup_status(table: ErrorTable, status: int) -> type[APIError] | None:
    """The error `table` gives `status`: the exact status, then its class ("4XX"), then "default"."""
    if not table:
        return None
    return table.get(status) or table.get(f"{status // 100}XX") or table.get("default")


def status_table(table: ErrorTable) -> ErrorClassifier:
    """A classifier from a status table, falling back to the generic errors."""

    def classify(status: int, body: Any) -> type[APIError]:
        return lookup_status(table, status) or error_class_for_status(status)

    return classify
