"""One attempt on the wire: the request, its redirects, and a body read within the size cap."""

from __future__ import annotations

import functools
import zlib
from collections.abc import Mapping

import aiohttp
import attrs
from multidict import CIMultiDictProxy
from yarl import URL

from ._clock import Clock
from ._proxy import Proxies

__all__ = ["Attempt", "Raw", "TooManyRedirectsError", "send_attempt"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
_MAX_ERROR_TEXT = 1 << 20
_CHUNK = 1 << 16


class TooManyRedirectsError(aiohttp.ClientError):
    pass


@attrs.define
class Raw:
    """A final response: status, headers and the body (empty when it was over the cap)."""

    status: int
    reason: str
    headers: CIMultiDictProxy[str]
    body: bytes
    too_large: bool = False
    note: str = ""  # why a redirect was not followed

    def text(self) -> str:
        """The start of the body as text, for error messages (at most 1 MiB, bad UTF-8 replaced)."""
        return self.body[:_MAX_ERROR_TEXT].decode("utf-8", "replace")


@attrs.frozen
class Attempt:
    """What one attempt sends, and the limits it runs under."""

    method: str
    url: str  # already percent-encoded
    headers: Mapping[str, str]
    body: bytes | None
    connect: float | None
    deadline: float | None  # on `clock`; covers every redirect hop of the attempt
    clock: Clock
    max_bytes: int
    secret_names: frozenset[str]
    proxies: Proxies


@functools.lru_cache(maxsize=64)
def client_timeout(total: float | None, connect: float | None) -> aiohttp.ClientTimeout:
    """aiohttp's timeout for these deadlines. It is frozen, so the usual ones are built once, not per call."""
    return aiohttp.ClientTimeout(total=total, connect=connect)


def _same_origin(a: URL, b: URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


async def send_attempt(session: aiohttp.ClientSession, attempt: Attempt, first_timeout: aiohttp.ClientTimeout) -> Raw:
    """Send `attempt`, following redirects by hand: secrets never cross to another origin, a body is
    never re-sent to one, and every hop shares the attempt's one deadline."""
    method, body = attempt.method, attempt.body
    headers: dict[str, str] = dict(attempt.headers)
    url = URL(attempt.url, encoded=True)
    timeout = first_timeout
    for hop in range(MAX_REDIRECTS + 1):
        if hop and attempt.deadline is not None:
            remaining = attempt.deadline - attempt.clock.monotonic()
            if remaining <= 0:
                raise TimeoutError("the attempt's deadline passed while following redirects")
            timeout = client_timeout(remaining, attempt.connect)
        proxy, proxy_headers = attempt.proxies.for_url(url.scheme, url.host or "") if attempt.proxies else (None, None)
        sent = headers
        if proxy_headers and url.scheme == "http":  # no CONNECT: the proxy reads the request's own headers
            sent = {**headers, **proxy_headers}
        async with session.request(
            method,
            url,
            headers=sent,
            data=body,
            timeout=timeout,
            allow_redirects=False,
            proxy=proxy,
            proxy_headers=proxy_headers,
        ) as resp:
            location = resp.headers.get("Location")
            if resp.status not in _REDIRECTS or not location:
                return await _read(resp, attempt.max_bytes)
            try:
                target = url.join(URL(location))  # encodes spaces and non-ASCII, keeps valid %XX
            except ValueError:
                return await _read(resp, attempt.max_bytes, note="not followed: its Location is not a valid URL")
            if target.scheme not in ("http", "https") or not target.host:
                return await _read(resp, attempt.max_bytes, note="not followed: its Location is not an http(s) URL")
            to_get = resp.status == 303 or (resp.status in (301, 302) and method == "POST")
            cross = not _same_origin(url, target)
            if cross and body is not None and not to_get:
                note = "not followed: it leads to another origin and would re-send the request body there"
                return await _read(resp, attempt.max_bytes, note=note)
            if cross:
                headers = {k: v for k, v in headers.items() if k.lower() not in attempt.secret_names}
            if to_get:
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            url = target
    raise TooManyRedirectsError(f"more than {MAX_REDIRECTS} redirects")


async def _read(resp: aiohttp.ClientResponse, limit: int, note: str = "") -> Raw:
    """The body, capped at `limit` bytes *after* decompression, so a gzip bomb cannot inflate past it.

    The pool reads bodies raw (`auto_decompress=False`): aiohttp before 3.14 inflates each network
    chunk whole, so the cap is enforced here, in bounded steps, on every aiohttp version.
    """
    status, reason, headers = resp.status, resp.reason or "", resp.headers
    encoding = headers.get("Content-Encoding", "").strip().lower()
    length = resp.content_length
    if length is not None and length > limit:
        return Raw(status, reason, headers, b"", too_large=True, note=note)
    if encoding in ("", "identity") and length is not None:
        return Raw(status, reason, headers, await resp.read(), note=note)  # exactly `length` bytes
    inflate = _Inflater(encoding, limit) if encoding in _INFLATABLE else None
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_CHUNK):
        if inflate is not None:
            chunk = inflate.feed(chunk)
            if chunk is None:
                return Raw(status, reason, headers, b"", too_large=True, note=note)
        size += len(chunk)
        if size > limit:
            return Raw(status, reason, headers, b"", too_large=True, note=note)
        chunks.append(chunk)
    if inflate is not None:
        tail = inflate.finish()
        if tail is None or size + len(tail) > limit:
            return Raw(status, reason, headers, b"", too_large=True, note=note)
        chunks.append(tail)
    return Raw(status, reason, headers, b"".join(chunks), note=note)


_INFLATABLE = frozenset({"gzip", "x-gzip", "deflate"})
ACCEPT_ENCODING = "gzip, deflate"  # what `_Inflater` reads; aiohttp would add "br" when Brotli is installed


class _Inflater:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it) inflated at most `limit` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._zlib = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
        self._raw_fallback = encoding == "deflate"
        self._left = limit + 1  # one byte more than allowed tells "too large" from "exactly full"

    def feed(self, data: bytes) -> bytes | None:
        """The inflated bytes of `data`, or None once the output passes the limit."""
        try:
            out = self._zlib.decompress(data, self._left)
        except zlib.error:
            if not self._raw_fallback:
                raise aiohttp.ClientPayloadError("the body is not valid gzip or deflate") from None
            self._raw_fallback = False
            self._zlib = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
            return self.feed(data)
        self._raw_fallback = False
        self._left -= len(out)
        if self._left <= 0 or self._zlib.unconsumed_tail:
            return None
        return out

    def finish(self) -> bytes | None:
        out = self._zlib.flush()
        self._left -= len(out)
        return None if self._left <= 0 else out
