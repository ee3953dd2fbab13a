"""Caller-given configuration and its checks, shared by every core and by `RequestOptions`.

Each check raises `ValueError` with a message that names the option; a core constructor lets it
propagate, the pipeline turns it into `InvalidRequestError`. One normaliser serves both, so a core
and a call can never disagree on what a value means.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

import attrs

from ._logging import REDACTED, looks_secret
from ._retry import RetryConfig

__all__ = [
    "OptionError",
    "RequestOptions",
    "Timeout",
    "check_header_name",
    "check_headers",
    "check_server_url",
    "resolve_retry",
    "resolve_timeout",
]


class OptionError(ValueError):
    """A bad option; `field_path` says which (for `InvalidRequestError.field_path`)."""

    def __init__(self, message: str, field_path: str) -> None:
        super().__init__(message)
        self.field_path = field_path


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # controls but HTAB (RFC 9110 field-value)
_BAD_URL = re.compile(r"[\x00-\x20\x7f]")


def _deadline(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OptionError(f"{name} must be a number of seconds or None, got {type(value).__name__}", name)
    seconds = float(value)
    if not (math.isfinite(seconds) and seconds > 0):
        raise OptionError(
            f"{name} must be a finite number of seconds > 0 (None means no deadline), got {value!r}", name
        )
    return seconds


@attrs.frozen
class Timeout:
    """Deadlines in seconds: per attempt (redirects included), for the whole call with its retries,
    and to connect. Each is a finite number > 0, or None for no such deadline: 0, negative, NaN and
    infinity are refused with `ValueError`, so no deadline is ever switched off by accident.
    """

    attempt: float | None = attrs.field(default=60.0, converter=lambda v: _deadline("Timeout.attempt", v))
    total: float | None = attrs.field(default=None, converter=lambda v: _deadline("Timeout.total", v))
    connect: float | None = attrs.field(default=10.0, converter=lambda v: _deadline("Timeout.connect", v))


def _redacted_headers(headers: Mapping[str, str] | None) -> str:
    if headers is None:
        return "None"
    items = cast("Mapping[Any, Any]", headers).items()
    return repr({k: (REDACTED if isinstance(k, str) and looks_secret(k) else v) for k, v in items})


@attrs.frozen
class RequestOptions:
    """Per-call overrides of the core's configuration.

    Nothing is checked here: a bad value makes the call return `Err(InvalidRequestError)`.
    `headers` that look secret (Authorization, tokens, keys, cookies) are redacted in the repr.
    """

    retries: RetryConfig | int | None = None
    timeout: Timeout | float | None = None
    server_url: str | None = None
    headers: Mapping[str, str] | None = attrs.field(default=None, repr=_redacted_headers)
    idempotency_key: str | None = None


def resolve_timeout(value: Timeout | float | None, default: Timeout, name: str = "timeout") -> Timeout:
    """`value` as a `Timeout`: None keeps `default`, a number replaces its per-attempt deadline."""
    if value is None:
        return default
    if isinstance(value, Timeout):
        return value
    return attrs.evolve(default, attempt=_deadline(name, value))


def resolve_retry(value: RetryConfig | int | None, default: RetryConfig, name: str = "retries") -> RetryConfig:
    """`value` as a `RetryConfig`: None keeps `default`, an int replaces its number of retries."""
    if value is None:
        return default
    if isinstance(value, RetryConfig):
        return value
    if isinstance(value, bool) or not isinstance(value, int):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise OptionError(f"{name} must be an int >= 0 or a RetryConfig, got {type(value).__name__}", name)
    if value < 0:
        raise OptionError(f"{name} must be >= 0, got {value}", name)
    return attrs.evolve(default, max_retries=value)


def check_server_url(url: Any, name: str = "server_url") -> str:
    """`url` without a trailing slash, refusing what would change the request line."""
    if not isinstance(url, str):
        raise OptionError(f"{name} must be a string, got {type(url).__name__}", name)
    if _BAD_URL.search(url):
        raise OptionError(f"{name} must not contain spaces or control characters (CR, LF, ...)", name)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        # Not the parser's own text: it may quote part of a password (one holding "/", "?" or "#").
        reason = "its host or port cannot be read (a password with / ? # @ must be percent-encoded)"
        raise OptionError(f"{name} is not a valid URL: {reason}", name) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OptionError(f"{name} must be an http:// or https:// URL with a host", name)
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise OptionError(f"{name} must not have a query or fragment (paths are appended to it)", name)
    return url.rstrip("/")


def check_header_name(name: Any) -> str:
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        # Escaped, so that a bad name cannot put a line break into error text or logs.
        shown = name.encode("unicode_escape").decode("ascii") if isinstance(name, str) else repr(name)
        raise OptionError(f"header name '{shown}' is not a valid HTTP field name", f"headers.{shown}")
    return name


def check_headers(headers: Mapping[str, str]) -> None:
    """Refuse header names that are not tokens and values with CR, LF, NUL or other controls."""
    for name, value in cast("Mapping[Any, Any]", headers).items():
        check_header_name(name)
        if not isinstance(value, str):
            raise OptionError(f"header {name!r} must be a string, got {type(value).__name__}", f"headers.{name}")
        if _BAD_VALUE.search(value):
            raise OptionError(
                f"header {name!r} contains a control character (CR, LF, NUL, DEL, ...)", f"headers.{name}"
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise OptionError(f"header {name!r} is not valid Unicode (a lone surrogate)", f"headers.{name}") from None
