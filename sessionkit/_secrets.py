"""What a core knows to be secret, and the scrubbing that keeps it out of errors, logs and reprs.

Secret are: the core's credentials (each auth header's value, and its token after a scheme such as
`Bearer`), the password of userinfo in the server URL, and the values of headers whose names are
secret (the defaults plus the core's `secret_headers=`). Values shorter than `MIN_SECRET_LENGTH`
are not searched for in text: they cannot be told apart from ordinary words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from ._logging import REDACTED

__all__ = ["MIN_SECRET_LENGTH", "Secrets", "redact_url"]

MIN_SECRET_LENGTH = 4


def redact_url(url: str) -> str:
    """`url` with the userinfo's password replaced (the user name is kept, as browsers show it)."""
    try:
        parts = urlsplit(url)
        if parts.password is None and "@" not in parts.netloc:
            return url
        host = parts.netloc.rpartition("@")[2]
        user = f"{parts.username}:{REDACTED}@" if parts.username else f"{REDACTED}@"
        return urlunsplit(parts._replace(netloc=user + host))
    except ValueError:
        return "<unparseable url>"


def _values_of(header_value: str) -> list[str]:
    """A header value and, for `Scheme token`, the token alone (it is what a server echoes)."""
    out = [header_value]
    scheme, _, token = header_value.partition(" ")
    if token and scheme.isalpha():
        out.append(token.strip())
    return out


class Secrets:
    """Secret header names (lower case) and secret values, with scrubbing helpers."""

    __slots__ = ("names", "values")

    def __init__(self, names: Iterable[str], values: Iterable[str] = ()) -> None:
        self.names: frozenset[str] = frozenset(n.lower() for n in names)
        kept = {v for v in values if len(v) >= MIN_SECRET_LENGTH}
        self.values: tuple[str, ...] = tuple(sorted(kept, key=len, reverse=True))  # longest first

    @classmethod
    def of(cls, names: Iterable[str], headers: Mapping[str, str], url: str | None = None) -> Secrets:
        """The secrets of a core: `names`, the values of its `headers` that have one of them, and the
        password of userinfo in `url`."""
        try:
            password = urlsplit(url).password if url else None
        except ValueError:
            password = None
        return cls(names, [password] if password else []).with_headers(headers)

    def with_headers(self, headers: Mapping[str, str]) -> Secrets:
        """These secrets plus the values of secret-named `headers` (the core's, or a call's)."""
        extra = [v for k, val in headers.items() if k.lower() in self.names for v in _values_of(val)]
        return Secrets(self.names, (*self.values, *extra)) if extra else self

    def scrub(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def leaks(self, text: str) -> bool:
        return any(value in text for value in self.values)

    def scrub_data(self, data: Any) -> Any:
        """A JSON value with every secret inside its strings (keys included) replaced."""
        if not self.values:
            return data
        if isinstance(data, str):
            return self.scrub(data)
        if isinstance(data, list):
            return [self.scrub_data(v) for v in cast("list[Any]", data)]
        if isinstance(data, dict):
            return {self.scrub_data(k): self.scrub_data(v) for k, v in cast("dict[Any, Any]", data).items()}
        return data

    def scrub_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Secret-named headers redacted, and secret values inside the others replaced."""
        return {k: REDACTED if k.lower() in self.names else self.scrub(v) for k, v in headers.items()}

    def scrub_exception(self, exc: BaseException) -> BaseException:
        """`exc` made safe to hand out: no traceback or chained exceptions (their frames hold the
        request's headers), aiohttp's `request_info` redacted, and a plain stand-in where a secret
        would still show in its text."""
        _detach(exc)
        os_error = getattr(exc, "os_error", None)
        if isinstance(os_error, BaseException):
            _detach(os_error)
        if isinstance(exc, aiohttp.ClientResponseError):
            info: Any = exc.request_info  # None on some aiohttp versions' synthetic errors
            if info is not None:
                exc.request_info = type(info)(
                    info.url.with_password(None),
                    info.method,
                    CIMultiDictProxy(CIMultiDict(self.scrub_headers(info.headers))),
                    info.real_url.with_password(None),
                )
            exc.history = ()
        seen = f"{exc!r} {exc} {getattr(exc, '__dict__', '')!r}"
        if self.leaks(seen):
            return aiohttp.ClientError(self.scrub(f"{type(exc).__name__}: {exc}"))
        return exc


def _detach(exc: BaseException) -> None:
    exc.__traceback__ = None
    exc.__cause__ = None
    exc.__context__ = None
    exc.__suppress_context__ = True
