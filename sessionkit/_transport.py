"""One attempt on the wire: the request, its redirects, and a body read within the size cap.

A JSON response is read whole (`Raw.body`); a streamed one is left open for its caller as a
`ByteStream`, read in chunks within the same cap and deadlines.
"""

from __future__ import annotations

import functools
import inspect
import os
import zlib
from collections.abc import AsyncGenerator, Mapping
from pathlib import Path

import aiohttp
import attrs
from multidict import CIMultiDictProxy
from yarl import URL

from ._bodies import Body
from ._clock import Clock
from ._closing import AsyncClosing
from ._proxy import Proxies
from .errors import SessionkitError
from .result import Err, Ok, Result

__all__ = ["Attempt", "ByteStream", "Raw", "TooManyRedirectsError", "send_attempt"]

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
    response: aiohttp.ClientResponse | None = None  # left open: a streamed success, body unread

    def text(self) -> str:
        """The start of the body as text, for error messages (at most 1 MiB, bad UTF-8 replaced)."""
        return self.body[:_MAX_ERROR_TEXT].decode("utf-8", "replace")


class Attempt:
    """What one attempt sends, and the limits it runs under. A plain slotted class: one is built for
    every attempt, and a frozen attrs class would cost a `object.__setattr__` per field."""

    __slots__ = (
        "body",
        "clock",
        "connect",
        "deadline",
        "headers",
        "max_bytes",
        "method",
        "open_statuses",
        "proxies",
        "secret_names",
        "url",
        "watched",
    )

    def __init__(
        self,
        method: str,
        url: str,  # already percent-encoded
        headers: Mapping[str, str],
        body: bytes | Body | None,
        connect: float | None,
        deadline: float | None,  # on `clock`; covers every redirect hop of the attempt
        clock: Clock,
        max_bytes: int,
        secret_names: frozenset[str],
        proxies: Proxies,
        open_statuses: tuple[int, ...] = (),  # statuses whose body is left unread, for the caller to stream
        watched: bool = False,  # the pipeline's watchdog holds `deadline`: no aiohttp timer per hop
    ) -> None:
        self.method, self.url, self.headers, self.body = method, url, headers, body
        self.connect, self.deadline, self.clock, self.max_bytes = connect, deadline, clock, max_bytes
        self.secret_names, self.proxies, self.open_statuses = secret_names, proxies, open_statuses
        self.watched = watched


@functools.lru_cache(maxsize=64)
def client_timeout(total: float | None, connect: float | None, sock_read: float | None = None) -> aiohttp.ClientTimeout:
    """aiohttp's timeout for these deadlines. It is frozen, so the usual ones are built once, not per call.

    aiohttp's `total` also covers reading the body, and `sock_read` bounds each silence in it.
    """
    return aiohttp.ClientTimeout(total=total, connect=connect, sock_read=sock_read)


@functools.lru_cache(maxsize=16)
def watched_timeout(connect: float | None) -> aiohttp.ClientTimeout:
    """aiohttp's timeout for an attempt whose deadline the pipeline's watchdog holds: no `total`
    timer per request; getting a connection keeps aiohttp's own `connect` bound, as before."""
    return aiohttp.ClientTimeout(total=None, connect=connect)


def _takes_our_arguments() -> bool:
    """Whether `ClientSession._request` takes what `send_attempt` passes.

    `ClientSession.request` only wraps it (keywords packed into a dict and out again, a context
    manager around the coroutine): calling it straight is 3 % fewer instructions on a get. It is
    aiohttp's private method, so it is used only when its signature is the one expected, and
    `session.request` otherwise.
    """
    method = getattr(aiohttp.ClientSession, "_request", None)
    if method is None:
        return False
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    wanted = {"headers", "data", "timeout", "allow_redirects", "proxy", "proxy_headers"}
    return wanted <= params.keys() and all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in wanted)


DIRECT_REQUEST = _takes_our_arguments()


def _same_origin(a: URL, b: URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


async def send_attempt(session: aiohttp.ClientSession, attempt: Attempt, first_timeout: aiohttp.ClientTimeout) -> Raw:
    """Send `attempt`, following redirects by hand: secrets never cross to another origin, a body is
    never re-sent to one, and every hop shares the attempt's one deadline."""
    method, body = attempt.method, attempt.body
    headers: Mapping[str, str] = attempt.headers  # replaced, never changed, when a redirect drops some
    url = URL(attempt.url, encoded=True)
    timeout = first_timeout
    for hop in range(MAX_REDIRECTS + 1):
        if hop and attempt.deadline is not None:
            remaining = attempt.deadline - attempt.clock.monotonic()
            if remaining <= 0:
                raise TimeoutError("the attempt's deadline passed while following redirects")
            if not attempt.watched:
                timeout = client_timeout(remaining, attempt.connect)
        proxy, proxy_headers = attempt.proxies.for_url(url.scheme, url.host or "") if attempt.proxies else (None, None)
        sent = headers
        if proxy_headers and url.scheme == "http":  # no CONNECT: the proxy reads the request's own headers
            sent = {**headers, **proxy_headers}
        sending = body  # this hop's body, released after the hop even when `body` changes below
        resp: aiohttp.ClientResponse | None = None
        kept = False
        try:
            resp = await (session._request if DIRECT_REQUEST else session.request)(  # pyright: ignore[reportPrivateUsage]
                method,
                url,
                headers=sent,
                data=sending.open() if isinstance(sending, Body) else sending,
                timeout=timeout,
                allow_redirects=False,
                proxy=proxy,
                proxy_headers=proxy_headers,
            )
            location = resp.headers.get("Location")
            if resp.status not in _REDIRECTS or not location:
                if resp.status in attempt.open_statuses:
                    kept = True
                    return Raw(resp.status, resp.reason or "", resp.headers, b"", response=resp)
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
            if isinstance(body, Body) and not body.replayable and not to_get:
                note = "not followed: the request body came from a source that cannot be read again"
                return await _read(resp, attempt.max_bytes, note=note)
            if cross:
                headers = {k: v for k, v in headers.items() if k.lower() not in attempt.secret_names}
            if to_get:
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            url = target
        finally:
            if resp is not None and not kept:
                resp.release()
                if isinstance(sending, Body):
                    await resp.wait_for_close()  # the body writer is done: its file may be closed now
            if isinstance(sending, Body):
                sending.release()
    raise TooManyRedirectsError(f"more than {MAX_REDIRECTS} redirects")


async def _read(resp: aiohttp.ClientResponse, limit: int, note: str = "") -> Raw:
    """The body, capped at `limit` bytes *after* decompression, so a gzip bomb cannot inflate past it.

    The pool reads bodies raw (`auto_decompress=False`): aiohttp before 3.14 inflates each network
    chunk whole, so the cap is enforced here, in bounded steps, on every aiohttp version.
    """
    status, reason, headers = resp.status, resp.reason or "", resp.headers
    length = resp.content_length
    if length is not None and length > limit:
        return Raw(status, reason, headers, b"", too_large=True, note=note)
    if length is not None and _identity(headers):
        return Raw(status, reason, headers, await resp.read(), note=note)  # exactly `length` bytes
    inflate = _inflater(headers, limit)
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


def _encoding(headers: Mapping[str, str]) -> str:
    return headers.get("Content-Encoding", "").strip().lower()


def _identity(headers: Mapping[str, str]) -> bool:
    """Whether the body is sent as it is (no `Content-Encoding`, or `identity`)."""
    return _encoding(headers) in ("", "identity")


def _inflater(headers: Mapping[str, str], limit: int) -> _Inflater | None:
    """What inflates this body within `limit` bytes, or None when it is not gzip or deflate."""
    encoding = _encoding(headers)
    return _Inflater(encoding, limit) if encoding in _INFLATABLE else None


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


class StreamErrors:
    """How a `ByteStream` turns what goes wrong while reading into error values (the pipeline
    gives it one that knows the call: operation, attempts, deadlines, secrets)."""

    def read_failed(self, exc: BaseException) -> SessionkitError:
        raise NotImplementedError

    def too_large(self, limit: int) -> SessionkitError:
        raise NotImplementedError

    def write_failed(self, exc: OSError, path: Path) -> SessionkitError:
        raise NotImplementedError


class ByteStream(AsyncClosing):
    """The open body of a streamed response, read once, in chunks, within a size cap.

    `async for chunk in stream` yields `Ok(bytes)` pieces; a failure (a dropped connection, a
    deadline, more than `limit` bytes) comes once as `Err` and ends it. `save(path)` writes it to a
    file instead. Reading to the end, `aclose()` or leaving `async with` closes the connection.
    gzip and deflate bodies are inflated as they are read; the limit counts inflated bytes.
    """

    def __init__(self, raw: Raw, *, limit: int | None, errors: StreamErrors) -> None:
        self.status = raw.status
        self.headers = raw.headers
        self.limit = limit
        self.received = 0
        """Bytes read so far (after inflating)."""
        self.saved_to: Path | None = None
        """Where `save` wrote the body, once it has."""
        self._response = raw.response
        self._errors = errors
        self._started = False

    @property
    def content_type(self) -> str:
        """The response's `Content-Type` (empty when it has none)."""
        return self.headers.get("Content-Type", "")

    @property
    def content_length(self) -> int | None:
        """The announced size of an uncompressed body, when the server sent one."""
        length = self.headers.get("Content-Length", "")
        return int(length) if length.isdigit() and _identity(self.headers) else None

    @property
    def closed(self) -> bool:
        return self._response is None

    async def __aiter__(self) -> AsyncGenerator[Result[bytes, SessionkitError], None]:
        resp = self._response
        if resp is None or self._started:  # already read, or closed: nothing more to give
            return
        self._started = True
        limit = self.limit
        inflate = _inflater(self.headers, limit if limit is not None else 1 << 62)
        try:
            while True:
                try:
                    raw = await resp.content.readany()
                    chunk = raw if inflate is None else inflate.feed(raw) if raw else inflate.finish()
                except Exception as exc:  # the network, a deadline, or a bad gzip stream: each ends it
                    yield Err(self._errors.read_failed(exc))
                    return
                if chunk is None or (limit is not None and self.received + len(chunk) > limit):
                    yield Err(self._errors.too_large(limit or 0))
                    return
                self.received += len(chunk)
                if chunk:
                    yield Ok(chunk)
                if not raw:
                    return
        finally:
            await self.aclose()

    async def save(self, to: str | os.PathLike[str]) -> Result[int, SessionkitError]:
        """Write the whole body to the file `to`: `Ok(bytes written)`.

        It is written to `<to>.part` and renamed when complete, so `to` never holds a cut-off body;
        on failure the part file is removed.
        """
        path = Path(to)
        if self._started or self._response is None:
            return Err(self._errors.read_failed(RuntimeError("the body was already read or closed")))
        part = path.with_name(path.name + ".part")
        try:
            file = open(part, "wb")  # noqa: SIM115, ASYNC230 - closed below; see the loop for why it is sync
        except OSError as exc:
            await self.aclose()
            return Err(self._errors.write_failed(exc, path))
        failure: SessionkitError | None = None
        with file:
            async for chunk in self:  # a break leaves the generator: aclose() below ends the read
                if isinstance(chunk, Err):
                    failure = chunk.error
                    break
                try:
                    # A chunk goes to the page cache in microseconds: a thread hop per chunk costs more.
                    file.write(chunk.value)
                except OSError as exc:
                    failure = self._errors.write_failed(exc, path)
                    break
        await self.aclose()
        try:
            if failure is not None:
                part.unlink(missing_ok=True)
                return Err(failure)
            part.replace(path)
        except OSError as exc:
            return Err(self._errors.write_failed(exc, path))
        self.saved_to = path
        return Ok(self.received)

    async def aclose(self) -> None:
        """Close the connection (a body not read to its end is not kept for reuse)."""
        resp, self._response = self._response, None
        if resp is None:
            return
        if resp.content.at_eof():
            resp.release()  # read to the end: the connection can serve the next request
        else:
            resp.close()

    def __repr__(self) -> str:
        state = f"saved_to={str(self.saved_to)!r}" if self.saved_to else ("closed" if self.closed else "open")
        return (
            f"ByteStream(status={self.status}, content_type={self.content_type!r}, received={self.received}, {state})"
        )
