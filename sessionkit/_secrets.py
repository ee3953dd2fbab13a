"""What a core knows to be secret, and the one scrubber every error passes through where it is made.

Secret are: the core's credentials (each auth header's value, and its token after a scheme such as
`Bearer`), the userinfo password of the server URL (and of a proxy's), and the values of headers
whose names are secret (the defaults plus the core's `secret_headers=`). Each counts in its derived
forms too: percent-encoded and percent-decoded, base64 (what a server echoing a header in another
encoding shows), and for userinfo the `Basic` credentials aiohttp builds from it. Values shorter than
`MIN_SECRET_LENGTH` are not searched for in text: they cannot be told apart from ordinary words.

`scrub_error` is applied to every error a call makes (message, every text field, body, headers,
the cause and the cause's args, chained exceptions dropped), so no path can forget it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import quote, unquote

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from ._logging import REDACTED

if TYPE_CHECKING:
    from .errors import SessionkitError

__all__ = ["MIN_SECRET_LENGTH", "Secrets", "redact_url", "userinfo_secrets"]

MIN_SECRET_LENGTH = 4
E = TypeVar("E", bound="SessionkitError")


def _authority(url: str) -> tuple[str, str, str] | None:
    """(scheme with "://", userinfo, the rest) of `url` read by hand, for a URL whose userinfo holds
    what `urlsplit` cannot read (an unencoded `/`, `?` or `#` in a password): everything up to the
    last `@` before the host counts as userinfo."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return None
    userinfo, _, host = rest.rpartition("@")
    return scheme + sep, userinfo, host


def redact_url(url: str) -> str:
    """`url` with the userinfo's password replaced (the user name is kept, as browsers show it).

    Everything between `://` and the last `@` counts as userinfo, so a password holding an
    unencoded `/`, `?` or `#` (which URL parsers read as the path) is hidden too.
    """
    found = _authority(url)
    if found is None:
        return url
    scheme, userinfo, rest = found
    user, colon, _ = userinfo.partition(":")
    shown = f"{user}:{REDACTED}" if colon and user and not any(c in user for c in "/?#") else REDACTED
    return f"{scheme}{shown}@{rest}"


def userinfo_secrets(url: str | None) -> list[str]:
    """The secret forms of `url`'s userinfo: the password (raw and decoded), a user name given
    without a password (a token), the whole userinfo where it holds `/`, `?` or `#`, and the
    `Basic` credentials aiohttp sends for it."""
    if not url:
        return []
    found = _authority(url)
    if found is None:
        return []
    userinfo = found[1]
    user, colon, password = userinfo.partition(":")
    out = [userinfo] if any(c in userinfo for c in "/?#") else []
    out += [password, unquote(password)] if colon else [user, unquote(user)]
    login = f"{unquote(user)}:{unquote(password)}"
    for encoding in ("latin-1", "utf-8"):
        try:
            out.append(base64.b64encode(login.encode(encoding)).decode("ascii"))
        except UnicodeEncodeError:
            continue
    return out


def _values_of(header_value: str) -> list[str]:
    """A header value and, for `Scheme token`, the token alone (it is what a server echoes)."""
    out = [header_value]
    scheme, _, token = header_value.partition(" ")
    if token and scheme.isalpha():
        out.append(token.strip())
    return out


def _forms(value: str) -> set[str]:
    """`value` and the forms a server may echo it in: percent-encoded, percent-decoded, base64."""
    forms = {value, unquote(value), quote(value, safe="")}
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:
        return forms
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms.add(encode(raw).decode("ascii").rstrip("="))  # unpadded: also found before more text
    return forms


class Secrets:
    """Secret header names (lower case) and secret values, with the scrubbing helpers."""

    __slots__ = ("_given", "names", "values")

    def __init__(self, names: Iterable[str], values: Iterable[str] = ()) -> None:
        self.names: frozenset[str] = frozenset(n.lower() for n in names)
        self._given = tuple(dict.fromkeys(values))
        kept = {form for v in self._given for form in _forms(v) if len(form) >= MIN_SECRET_LENGTH}
        self.values: tuple[str, ...] = tuple(sorted(kept, key=len, reverse=True))  # longest first

    @classmethod
    def of(cls, names: Iterable[str], headers: Mapping[str, str], *urls: str | None) -> Secrets:
        """The secrets of a core: `names`, the values of its `headers` that have one of them, and the
        userinfo of each of `urls` (its server URL, its proxies)."""
        return cls(names, [s for url in urls for s in userinfo_secrets(url)]).with_headers(headers)

    def with_headers(self, headers: Mapping[str, str]) -> Secrets:
        """These secrets plus the values of secret-named `headers` (the core's, or a call's)."""
        extra = [v for k, val in headers.items() if k.lower() in self.names for v in _values_of(val)]
        return Secrets(self.names, (*self._given, *extra)) if extra else self

    def with_url(self, url: str) -> Secrets:
        """These secrets plus the userinfo of `url` (a call's own server URL)."""
        extra = userinfo_secrets(url)
        return Secrets(self.names, (*self._given, *extra)) if extra else self

    def scrub(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def leaks(self, text: str) -> bool:
        return any(value in text for value in self.values)

    def scrub_data(self, data: Any) -> Any:
        """A JSON value with every secret inside its strings (keys included) replaced; no recursion,
        so a body of any depth is scrubbed."""
        if not self.values:
            return data
        if isinstance(data, str):
            return self.scrub(data)
        if not isinstance(data, (list, dict)):
            return data
        root: list[Any] = [data]
        stack: list[tuple[Any, Any]] = [(root, 0)]  # (container, key) whose value is still to scrub
        while stack:
            holder, key = stack.pop()
            value = holder[key]
            if isinstance(value, str):
                holder[key] = self.scrub(value)
            elif isinstance(value, list):
                copy = list(cast("list[Any]", value))
                holder[key] = copy
                stack.extend((copy, i) for i in range(len(copy)))
            elif isinstance(value, dict):
                copy_d = {
                    self.scrub(k) if isinstance(k, str) else k: v for k, v in cast("dict[Any, Any]", value).items()
                }
                holder[key] = copy_d
                stack.extend((copy_d, k) for k in copy_d)
        return root[0]

    def scrub_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Secret-named headers redacted, and secret values inside the others replaced."""
        return {k: REDACTED if k.lower() in self.names else self.scrub(v) for k, v in headers.items()}

    def scrub_exception(self, exc: BaseException) -> BaseException:
        """`exc` made safe to hand out: no traceback or chained exceptions (their frames hold the
        request's headers), aiohttp's `request_info` redacted wherever it is held (its attribute and
        its args), secrets taken out of its text args, and a plain stand-in where a secret would
        still show in its text, its args or its attributes."""
        _detach(exc)
        os_error = getattr(exc, "os_error", None)
        if isinstance(os_error, BaseException):
            _detach(os_error)
        if isinstance(exc, aiohttp.ClientResponseError):
            info: Any = exc.request_info  # None on some aiohttp versions' synthetic errors
            if info is not None:
                exc.request_info = self._request_info(info)
            exc.history = ()
        exc.args = tuple(self._arg(a) for a in exc.args)
        seen = f"{exc!r} {exc} {exc.args!r} {getattr(exc, '__dict__', '')!r}"
        if self.leaks(seen):
            return aiohttp.ClientError(self.scrub(f"{type(exc).__name__}: {exc}"))
        return exc

    def _request_info(self, info: Any) -> Any:
        return type(info)(
            info.url.with_password(None),
            info.method,
            CIMultiDictProxy(CIMultiDict(self.scrub_headers(info.headers))),
            info.real_url.with_password(None),
        )

    def _arg(self, arg: Any) -> Any:
        if isinstance(arg, str):
            return self.scrub(arg)
        if isinstance(arg, aiohttp.RequestInfo):
            return self._request_info(arg)
        if _is_history(arg):
            return ()  # a redirect history: every hop's request, headers and all
        return arg

    def scrub_error(self, error: E) -> E:
        """`error` with every secret taken out, in place: its message and every text field, its
        decoded body, its headers (secret-named ones redacted), and its cause (see
        `scrub_exception`); chained exceptions are dropped."""
        fields = vars(error)
        for name, value in list(fields.items()):
            if isinstance(value, str):
                fields[name] = self.scrub(value)
            elif name == "cause" and isinstance(value, BaseException):
                fields[name] = self.scrub_exception(value)
            elif name == "headers" and isinstance(value, Mapping):
                fields[name] = self.scrub_headers(cast("Mapping[str, str]", value))
            elif name == "body":
                fields[name] = self.scrub_data(value)
        error.args = tuple(self.scrub(a) if isinstance(a, str) else a for a in error.args)
        _detach(error)
        return error


def _is_history(arg: Any) -> bool:
    return isinstance(arg, tuple) and any(isinstance(a, aiohttp.RequestInfo) for a in cast("tuple[Any, ...]", arg))


def _detach(exc: BaseException) -> None:
    exc.__traceback__ = None
    exc.__cause__ = None
    exc.__context__ = None
    exc.__suppress_context__ = True
