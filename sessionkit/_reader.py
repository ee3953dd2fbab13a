"""The one bounded reader every response body goes through: a JSON body, a download, an event stream.

- Only the encodings sessionkit asks for (`Accept-Encoding: gzip, deflate`) are read; a body in any
  other (`br`, `zstd`, `x-custom`) is refused, never handed out still encoded.
- gzip and deflate are inflated in steps of at most `CHUNK` bytes of output, so one small network
  chunk of a compression bomb never becomes one huge buffer, and the loop gets a turn every
  `YIELD_EVERY` steps (a caller's `asyncio.wait_for` can fire while a bomb is being refused).
- The decoded size is capped; the cap counts inflated bytes.
- Every read of a body that outlives its attempt (`ByteStream`) is bounded by the call's `Deadline`:
  the per-attempt timeout bounds each silence, the total deadline the whole read.
"""

from __future__ import annotations

import asyncio
import os
import zlib
from collections.abc import AsyncGenerator, Iterator, Mapping
from pathlib import Path

import aiohttp
from multidict import CIMultiDictProxy

from ._closing import AsyncClosing
from ._deadline import Deadline
from .errors import SessionkitError
from .result import Err, Ok, Result

__all__ = [
    "ACCEPT_ENCODING",
    "CHUNK",
    "BodyTooLarge",
    "ByteStream",
    "EncodingRefused",
    "Raw",
    "StreamErrors",
    "raw",
    "read_whole",
]

CHUNK = 1 << 16
"""The most bytes one read hands out (after inflating)."""
YIELD_EVERY = 16
"""Inflating steps (of `CHUNK` bytes) between two turns of the event loop."""
ACCEPT_ENCODING = "gzip, deflate"
"""What every request asks for, and so all the reader accepts besides `identity`."""
_INFLATABLE = frozenset({"gzip", "x-gzip", "deflate"})
_MAX_ERROR_TEXT = 1 << 20


class BodyTooLarge(Exception):
    """The decoded body passed its cap."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the response body is larger than {limit} bytes")
        self.limit = limit


class EncodingRefused(Exception):
    """The body came in an encoding that was not asked for."""

    def __init__(self, encoding: str) -> None:
        super().__init__(f"the body is encoded with {encoding!r}, which was not asked for (only gzip and deflate are)")
        self.encoding = encoding


def content_encoding(headers: Mapping[str, str]) -> str:
    return headers.get("Content-Encoding", "").strip().lower()


def identity(headers: Mapping[str, str]) -> bool:
    """Whether the body is sent as it is (no `Content-Encoding`, or `identity`)."""
    return content_encoding(headers) in ("", "identity")


class _Inflater:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it), inflated `CHUNK` bytes at a
    time. Several gzip members one after the other are one body (RFC 1952); a body that ends before
    its compressed stream does is cut short, never taken as whole."""

    __slots__ = ("_raw_fallback", "_zlib")

    def __init__(self, encoding: str) -> None:
        self._zlib = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
        self._raw_fallback = encoding == "deflate"

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """The inflated bytes of `data`, in pieces of at most `CHUNK` bytes."""
        while data:
            try:
                out = self._zlib.decompress(data, CHUNK)
            except zlib.error:
                if not self._raw_fallback:
                    raise aiohttp.ClientPayloadError("the body is not valid gzip or deflate") from None
                self._raw_fallback = False
                self._zlib = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
                continue  # the same data, read as raw deflate
            self._raw_fallback = False
            if out:
                yield out
            while self._zlib.unconsumed_tail:
                try:
                    out = self._zlib.decompress(self._zlib.unconsumed_tail, CHUNK)
                except zlib.error:
                    raise aiohttp.ClientPayloadError("the body is not valid gzip or deflate") from None
                if out:
                    yield out
            data = self._zlib.unused_data if self._zlib.eof else b""
            if data:  # the next member
                self._zlib = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)

    def finish(self) -> bytes:
        """What is left inflated at the end of the body; `ClientPayloadError` if the compressed
        stream had not ended (a body cut short, whatever its Content-Length said)."""
        tail = self._zlib.flush()
        if not self._zlib.eof:
            raise aiohttp.ClientPayloadError("the compressed body was cut short before its end")
        return tail


def decoder(headers: Mapping[str, str]) -> _Inflater | None:
    """What inflates this body, None for an unencoded one; `EncodingRefused` for any other encoding."""
    encoding = content_encoding(headers)
    if encoding in ("", "identity"):
        return None
    if encoding in _INFLATABLE:
        return _Inflater(encoding)
    raise EncodingRefused(encoding)


async def _chunks(content: aiohttp.StreamReader, inflate: _Inflater | None) -> AsyncGenerator[bytes, None]:
    """The decoded body in pieces of at most `CHUNK` bytes (no deadline: the caller's watch holds it)."""
    steps = 0
    while True:
        data = await content.read(CHUNK)
        if not data:
            break
        if inflate is None:
            yield data
            continue
        for piece in inflate.pieces(data):
            steps += 1
            if steps % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            yield piece
    if inflate is not None:
        tail = inflate.finish()
        if tail:
            yield tail


async def read_whole(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, at most `limit` bytes after inflating.

    Raises `BodyTooLarge`, `EncodingRefused`, or aiohttp's errors for a body cut short or corrupt.
    """
    headers = resp.headers
    length = resp.content_length
    inflate = decoder(headers)
    if length is not None and inflate is None:
        if length > limit:
            raise BodyTooLarge(limit)
        return await resp.read()  # exactly `length` bytes
    parts: list[bytes] = []
    size = 0
    async for piece in _chunks(resp.content, inflate):
        size += len(piece)
        if size > limit:
            raise BodyTooLarge(limit)
        parts.append(piece)
    return b"".join(parts)


class Raw:
    """A final response: status, headers, the body, and why the body is not there (`problem`).

    A plain slotted class: one is built for every response.
    """

    __slots__ = ("body", "headers", "note", "problem", "reason", "response", "status")

    def __init__(
        self,
        status: int,
        reason: str,
        headers: CIMultiDictProxy[str],
        body: bytes,
        problem: str = "",  # the body was refused: too large, or an encoding not asked for
        note: str = "",  # why a redirect was not followed
        response: aiohttp.ClientResponse | None = None,  # left open: a streamed success, body unread
    ) -> None:
        self.status, self.reason, self.headers, self.body = status, reason, headers, body
        self.problem, self.note, self.response = problem, note, response

    def text(self) -> str:
        """The start of the body as text, for error messages (at most 1 MiB, bad UTF-8 replaced)."""
        return self.body[:_MAX_ERROR_TEXT].decode("utf-8", "replace")


_new = object.__new__


def raw(status: int, reason: str, headers: CIMultiDictProxy[str], body: bytes) -> Raw:
    """`Raw(status, reason, headers, body)` of a body read whole, built without a call to `__init__`."""
    made: Raw = _new(Raw)
    made.status, made.reason, made.headers, made.body = status, reason, headers, body
    made.problem = made.note = ""
    made.response = None
    return made


def readable_at_once(resp: aiohttp.ClientResponse, limit: int) -> bool:
    """Whether the body can be read whole as it comes: announced within `limit`, not encoded."""
    length = resp.content_length
    return length is not None and length <= limit and "Content-Encoding" not in resp.headers


async def read_raw(resp: aiohttp.ClientResponse, limit: int, note: str = "") -> Raw:
    """`resp` with its body read within `limit` (a refused body leaves `problem` set and no bytes)."""
    status, reason, headers = resp.status, resp.reason or "", resp.headers
    if readable_at_once(resp, limit):
        return Raw(status, reason, headers, await resp.read(), note=note)  # exactly `length` bytes
    try:
        return Raw(status, reason, headers, await read_whole(resp, limit), note=note)
    except BodyTooLarge:
        problem = f"the response body is larger than max_response_bytes ({limit} bytes)"
        return Raw(status, reason, headers, b"", problem=problem, note=note)
    except EncodingRefused as exc:
        return Raw(status, reason, headers, b"", problem=str(exc), note=note)


class StreamErrors:
    """How a `ByteStream` turns what goes wrong while reading into error values (the pipeline gives
    it one that knows the call: operation, attempts, deadline, secrets)."""

    def read_failed(self, exc: BaseException) -> SessionkitError:
        raise NotImplementedError

    def refused(self, exc: BodyTooLarge | EncodingRefused) -> SessionkitError:
        raise NotImplementedError

    def write_failed(self, exc: OSError, path: Path) -> SessionkitError:
        raise NotImplementedError


class ByteStream(AsyncClosing):
    """The open body of a streamed response, read once, in chunks, within a size cap and the call's deadline.

    `async for chunk in stream` yields `Ok(bytes)` pieces of at most 64 KiB; a failure (a dropped
    connection, a deadline, more than `limit` bytes, an encoding that was not asked for) comes once
    as `Err` and ends it. `save(path)` writes it to a file instead. Reading to the end, `aclose()` or
    leaving `async with` closes the connection. gzip and deflate bodies are inflated as they are
    read; the limit counts inflated bytes. Each read waits at most the call's per-attempt timeout
    for data, and all of them together end by its total deadline.
    """

    def __init__(self, raw: Raw, *, limit: int | None, errors: StreamErrors, deadline: Deadline) -> None:
        self.status = raw.status
        self.headers = raw.headers
        self.limit = limit
        self.received = 0
        """Bytes read so far (after inflating)."""
        self.saved_to: Path | None = None
        """Where `save` wrote the body, once it has."""
        self._response = raw.response
        self._errors = errors
        self._deadline = deadline
        self._started = False

    @property
    def content_type(self) -> str:
        """The response's `Content-Type` (empty when it has none)."""
        return self.headers.get("Content-Type", "")

    @property
    def content_length(self) -> int | None:
        """The announced size of an uncompressed body, when the server sent one."""
        length = self.headers.get("Content-Length", "")
        return int(length) if length.isdigit() and len(length) < 20 and identity(self.headers) else None

    @property
    def closed(self) -> bool:
        return self._response is None

    async def __aiter__(self) -> AsyncGenerator[Result[bytes, SessionkitError], None]:
        resp = self._response
        if resp is None or self._started:  # already read, or closed: nothing more to give
            return
        self._started = True
        limit, deadline, silence = self.limit, self._deadline, self._deadline.attempt
        try:
            try:
                inflate = decoder(self.headers)
            except EncodingRefused as exc:
                yield Err(self._errors.refused(exc))
                return
            content = resp.content
            steps = 0
            while True:
                try:
                    data = await deadline.within(content.read(CHUNK), silence)
                    pieces = [data] if inflate is None or not data else inflate.pieces(data)
                    if not data and inflate is not None:
                        pieces = [inflate.finish()]
                    for piece in pieces:
                        steps += 1
                        if steps % YIELD_EVERY == 0:
                            await asyncio.sleep(0)  # a bomb's pieces: let the loop run between them
                        if limit is not None and self.received + len(piece) > limit:
                            yield Err(self._errors.refused(BodyTooLarge(limit)))
                            return
                        self.received += len(piece)
                        if piece:
                            yield Ok(piece)
                except Exception as exc:  # the network, a deadline, or a bad gzip stream: each ends it
                    yield Err(self._errors.read_failed(exc))
                    return
                if not data:
                    return
        finally:
            await self.aclose()

    async def save(self, to: str | os.PathLike[str]) -> Result[int, SessionkitError]:
        """Write the whole body to the file `to`: `Ok(bytes written)`.

        It is written to `<to>.part` and renamed when complete, so `to` never holds a cut-off body;
        on failure, or if the call is cancelled, the part file is removed.
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
        complete = False
        try:
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
            if failure is None:
                try:
                    part.replace(path)
                except OSError as exc:
                    failure = self._errors.write_failed(exc, path)
                else:
                    complete = True
        finally:
            if not complete:  # a failure, or the caller's cancellation: no part file is left behind
                part.unlink(missing_ok=True)
        if failure is not None:
            return Err(failure)
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
