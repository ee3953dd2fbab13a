"""Shared machinery of the fake servers: lifecycle, request log, fault injection, session store.

Every fake in `sessionkit.testing` is a `FakeServer`: an `aiohttp.web` app served on 127.0.0.1 at a
free port. Requests pass, in order, through the request log (`fake.requests`), the fault queue
(`fake.faults`), the fake's auth check, and its handler.

    async with FakeOrq(api_key="k") as fake:
        fake.faults.push(Fault.status(503), times=2)                 # the next two requests fail
        fake.faults.push(Fault.rate_limited(retry_after=1), path="/v2/sessions/*")
        fake.faults.push(Fault.delay(0.5), method="GET")             # latency, then a normal answer
        fake.faults.push(Fault.reset())                              # close the connection, no answer
        ...
        assert fake.requests[-1].method == "POST"

Any fake can also enforce a rate limit, as a real API gateway does: `fake.set_rate_limit(200)` (or
`FakeOrq(rate_limit=200)`) answers 429 with `Retry-After` to every request beyond a token bucket of
200 a second, before faults and handlers, and counts `fake.served` and `fake.refused`.
`set_rate_limit(200, exact_wait=False)` sends only `Retry-After` in whole seconds, as most gateways do.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import os
import socket
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from http import HTTPStatus
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import CIMultiDictProxy

from .._clock import SYSTEM_CLOCK, Clock
from ..ratelimit import Gcra

__all__ = [
    "MISSING",
    "Fault",
    "FaultKind",
    "FaultQueue",
    "FakeServer",
    "RecordedRequest",
    "SessionStore",
    "UploadRefused",
    "json_response",
    "read_json",
    "receive_upload",
]

FaultKind = Literal["status", "delay", "reset", "malformed_json", "truncated"]
_S = TypeVar("_S", bound="FakeServer")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""What `read_json` returns for an empty request body."""


@dataclass(frozen=True)
class Fault:
    """One injected failure. Build it with a constructor (`Fault.status(503)`), then `faults.push` it.

    `latency` (seconds) is slept before any fault acts, so `Fault.status(503, latency=0.2)` is a slow 503.
    """

    kind: FaultKind
    code: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict[str, str])
    latency: float = 0.0

    @classmethod
    def status(
        cls, code: int = 503, body: Any = None, headers: Mapping[str, str] | None = None, *, latency: float = 0.0
    ) -> Fault:
        """Answer `code` instead of the handler. `body=None` uses the service's own error shape;
        bytes or str are sent as is; anything else is sent as JSON."""
        return cls("status", code, body, dict(headers or {}), latency)

    @classmethod
    def rate_limited(
        cls,
        retry_after: float | datetime | str | None = None,
        *,
        retry_after_ms: float | None = None,
        body: Any = None,
        latency: float = 0.0,
    ) -> Fault:
        """A 429 with `Retry-After` (seconds, or an HTTP date from a datetime) and/or `retry-after-ms`.

        `Retry-After` holds whole seconds only (RFC 9110), so a fractional number of seconds is sent
        as `retry-after-ms` beside `Retry-After` rounded up, as OpenAI-style servers do. A string is
        sent exactly as given (to test hostile values).
        """
        headers: dict[str, str] = {}
        if isinstance(retry_after, datetime):
            headers["Retry-After"] = email.utils.format_datetime(retry_after, usegmt=True)
        elif isinstance(retry_after, float | int):
            headers["Retry-After"] = str(math.ceil(retry_after))
            if not float(retry_after).is_integer() and retry_after_ms is None:
                retry_after_ms = retry_after * 1000
        elif retry_after is not None:
            headers["Retry-After"] = retry_after
        if retry_after_ms is not None:
            headers["retry-after-ms"] = f"{retry_after_ms:g}"
        return cls("status", 429, body, headers, latency)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Sleep `seconds`, then answer normally."""
        return cls("delay", latency=seconds)

    @classmethod
    def reset(cls, *, latency: float = 0.0) -> Fault:
        """Reset the TCP connection (RST) without answering."""
        return cls("reset", latency=latency)

    @classmethod
    def malformed_json(cls, code: int = 200, body: bytes = b'{"id": "abc", ', *, latency: float = 0.0) -> Fault:
        """Answer `code` with `Content-Type: application/json` and a body that is not JSON."""
        return cls("malformed_json", code, body, {}, latency)

    @classmethod
    def truncated(cls, *, latency: float = 0.0) -> Fault:
        """Run the handler, send its status, headers and half its body, then close the connection."""
        return cls("truncated", latency=latency)


@dataclass
class _Rule:
    fault: Fault
    remaining: int | None
    method: str | None
    path: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or fnmatchcase(path, self.path))


class FaultQueue:
    """Scripted faults, consumed in push order by the requests they match."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []

    def push(self, fault: Fault, *, times: int | None = 1, method: str | None = None, path: str | None = None) -> None:
        """Apply `fault` to the next `times` matching requests (`None`: every one until `clear()`).

        `method` ("GET", ...) and `path` (a glob on the URL path, e.g. "/api/sessions/*") narrow the match.
        """
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        self._rules.append(_Rule(fault, times, method.upper() if method else None, path))

    def clear(self) -> None:
        """Drop every pending fault."""
        self._rules.clear()

    def __len__(self) -> int:
        return len(self._rules)

    def take(self, method: str, path: str) -> Fault | None:
        """Consume and return the first pending fault that matches this request, if any."""
        for i, rule in enumerate(self._rules):
            if rule.matches(method, path):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        del self._rules[i]
                return rule.fault
        return None


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it, and the fault (if any) it got."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: CIMultiDictProxy[str]
    body: bytes
    fault: Fault | None = None

    def json(self) -> Any:
        """The body parsed as JSON (`None` when empty)."""
        return json.loads(self.body) if self.body else None


def json_response(
    data: Any, status: int = 200, *, headers: Mapping[str, str] | None = None, newline: bool = False
) -> web.Response:
    """A JSON response with `Content-Type: application/json` (no charset, like the real servers)."""
    text = json.dumps(data) + ("\n" if newline else "")
    return web.Response(body=text.encode(), status=status, content_type="application/json", headers=headers)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; `MISSING` when empty. Raises `ValueError` when it is not JSON."""
    raw = await request.read()
    if not raw.strip():
        return MISSING
    return json.loads(raw.decode("utf-8"))


class UploadRefused(Exception):
    """A multipart upload a fake refuses: `status` (400 or 413) and the server's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def receive_upload(
    request: web.Request, folder: Path, *, limit: int | None, field: str = "file"
) -> tuple[str, Path, int]:
    """Stream the file part `field` of a multipart request into `folder` (under its base name), in
    64 KiB chunks, never whole in memory: `(name, path, size)`. A file is written beside the
    target and renamed when complete. Raises `UploadRefused`: 400 for a body that is not multipart,
    no such part or a bad filename; 413 past `limit` bytes (with the limit in MB in its message)."""
    if not request.content_type.startswith("multipart/"):
        raise UploadRefused(400, "Failed to parse multipart form")
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            raise UploadRefused(400, "No file provided")
        if getattr(part, "name", None) == field and getattr(part, "filename", None):
            break
    name = os.path.basename(str(getattr(part, "filename", "")))
    if name in ("", ".", ".."):
        raise UploadRefused(400, "Invalid filename")
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a local folder, made in microseconds
    target, partial = folder / name, folder / f".{name}.upload"
    size = 0
    with partial.open("wb") as out:
        while chunk := await part.read_chunk(1 << 16):  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownVariableType]
            size += len(chunk)  # pyright: ignore[reportUnknownArgumentType]
            if limit is not None and size > limit:
                break
            out.write(chunk)  # pyright: ignore[reportUnknownArgumentType]
    if limit is not None and size > limit:
        partial.unlink()
        raise UploadRefused(413, f"File too large (max {limit // (1024 * 1024)}MB)")
    partial.replace(target)
    return name, target, size


def as_object(value: Any) -> dict[str, Any] | None:
    """`value` if it is a JSON object, else None."""
    return value if isinstance(value, dict) else None  # pyright: ignore[reportUnknownVariableType]


class SessionStore:
    """Insertion-ordered JSON documents keyed by `id_key`, plus an optional lazy population.

    `populate(n, factory)` makes `n` documents exist without storing them: each is built by
    `factory(index, sid)` when read, so a fake can serve a million sessions cheaply. Documents are
    plain dicts; after changing one, `put` it back. Populated documents come first, in index order.
    """

    def __init__(self, id_key: str = "id") -> None:
        self.id_key = id_key
        self._docs: dict[str, dict[str, Any]] = {}
        self._lazy_count = 0
        self._lazy_prefix = ""
        self._lazy_width = 0
        self._factory: Callable[[int, str], dict[str, Any]] | None = None
        self._lazy_changed: dict[str, dict[str, Any] | None] = {}  # replaced, or None when deleted
        self._lazy_deleted = 0

    def populate(
        self, count: int, factory: Callable[[int, str], dict[str, Any]], *, prefix: str, width: int = 12
    ) -> None:
        """Make `count` lazily built documents with ids `prefix + zero-padded index` (replaces any previous)."""
        self._lazy_count, self._factory = count, factory
        self._lazy_prefix, self._lazy_width = prefix, width
        self._lazy_changed.clear()
        self._lazy_deleted = 0

    def lazy_id(self, index: int) -> str:
        """The id of the populated document number `index`."""
        return f"{self._lazy_prefix}{index:0{self._lazy_width}d}"

    def _lazy_index(self, sid: str) -> int | None:
        if not self._lazy_count or not sid.startswith(self._lazy_prefix):
            return None
        tail = sid[len(self._lazy_prefix) :]
        if len(tail) != self._lazy_width or not tail.isdigit() or int(tail) >= self._lazy_count:
            return None
        return int(tail)

    def get(self, sid: str) -> dict[str, Any] | None:
        """The document with this id, or None."""
        doc = self._docs.get(sid)
        if doc is not None:
            return doc
        index = self._lazy_index(sid)
        if index is None:
            return None
        if sid in self._lazy_changed:
            return self._lazy_changed[sid]
        assert self._factory is not None
        return self._factory(index, sid)

    def put(self, doc: dict[str, Any]) -> None:
        """Insert or replace a document (by its id)."""
        sid = str(doc[self.id_key])
        if sid not in self._docs and self._lazy_index(sid) is not None and self._lazy_changed.get(sid, doc) is not None:
            self._lazy_changed[sid] = doc
        else:
            self._docs[sid] = doc

    def delete(self, sid: str) -> bool:
        """Remove a document; False when there was none."""
        if self._docs.pop(sid, None) is not None:
            return True
        if self._lazy_index(sid) is None or (sid in self._lazy_changed and self._lazy_changed[sid] is None):
            return False
        self._lazy_changed[sid] = None
        self._lazy_deleted += 1
        return True

    def clear(self) -> None:
        """Remove every document, populated ones included."""
        self._docs.clear()
        self.populate(0, lambda i, sid: {}, prefix="")

    def __len__(self) -> int:
        return len(self._docs) + self._lazy_count - self._lazy_deleted

    def __contains__(self, sid: object) -> bool:
        return isinstance(sid, str) and self.get(sid) is not None

    def ids(self) -> Iterator[str]:
        """Every id, in order."""
        for i in range(self._lazy_count):
            sid = self.lazy_id(i)
            if self._lazy_changed.get(sid, True) is not None:
                yield sid
        yield from list(self._docs)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for sid in self.ids():
            doc = self.get(sid)
            if doc is not None:
                yield doc

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """`limit` documents from position `offset`, without building the ones skipped."""
        if self._lazy_deleted == 0:  # positions map straight to indexes
            ids = [self.lazy_id(i) for i in range(offset, min(offset + limit, self._lazy_count))]
            start = max(0, offset - self._lazy_count)
            ids += list(islice(self._docs, start, start + limit - len(ids)))
        else:
            ids = list(islice(self.ids(), offset, offset + limit))
        return [doc for doc in map(self.get, ids) if doc is not None]

    def find(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The first document for which `predicate` is true."""
        # Straight over the stored documents when none is populated: Jupyter's create-or-return
        # looks a path up on every create, and going through `ids()` and `get()` cost 1.9 ms at
        # 10,000 sessions (0.26 ms this way), enough to make the fake, not the client, the
        # bottleneck of a rate-limit benchmark at 200 creates a second.
        docs = self._docs.values() if not self._lazy_count else self
        return next((doc for doc in docs if predicate(doc)), None)


class FakeServer:
    """Base class of the fakes: start/stop, `url`, `requests`, `faults`, `reset()`.

    Subclasses add routes (`_add_routes`), and may override `_authorize` (return an error response to
    refuse a request), `_error_body` (the service's error shape, used by `Fault.status`),
    `_finish` (headers every response carries) and `_clear_state`.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, rate_limit: float | None = None) -> None:
        self.host = host
        self.port = port
        self.faults = FaultQueue()
        self.requests: list[RecordedRequest] = []
        self.served = 0
        self.refused = 0
        self._bucket: Gcra | None = None
        self._bucket_clock: Clock = SYSTEM_CLOCK
        self._exact_wait = True
        self._runner: web.AppRunner | None = None
        self._clear_state()
        self.set_rate_limit(rate_limit)

    def set_rate_limit(
        self, rate: float | None, *, burst: int | None = None, clock: Clock | None = None, exact_wait: bool = True
    ) -> None:
        """Refuse requests beyond `rate` a second (None: no limit) with 429 and `Retry-After`.

        A token bucket of `burst` tokens (default: one second's worth, `ceil(rate)`) refilled at
        `rate` a second. The 429 carries the wait until the next token rounded up to whole seconds
        as `Retry-After` and, with `exact_wait` (the default), exactly as `retry-after-ms` too, as
        OpenAI-style servers do. `exact_wait=False` sends `Retry-After` alone, as most gateways do:
        then a bucket of 200 a second says `Retry-After: 1` where the next token is 5 ms away.
        `clock` (a `FakeClock` in tests) is what refills it. Counts restart at 0.
        """
        self._bucket = None if rate is None else Gcra(rate, burst if burst is not None else max(1, math.ceil(rate)))
        self._bucket_clock = clock or SYSTEM_CLOCK
        self._exact_wait = exact_wait
        self.served = self.refused = 0

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. "http://127.0.0.1:41234" (no trailing slash). Only valid while started."""
        if self._runner is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://{self.host}:{self.port}"

    async def start(self: _S) -> _S:
        """Bind and serve. With `port=0` (the default) a free port is picked (read `url`); a restart reuses it."""
        if self._runner is not None:
            return self
        app = web.Application(middlewares=[self._middleware])
        self._add_routes(app.router)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            # A restart binds the port it had: allow it while old connections sit in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self.port = sock.getsockname()[1]
        self._runner = runner
        return self

    async def stop(self) -> None:
        """Stop serving and close every connection. The state is kept; `start()` serves it again, same URL."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self: _S) -> _S:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def reset(self) -> None:
        """Forget every session, pending fault and recorded request, and zero the rate-limit counts."""
        self.faults.clear()
        self.requests.clear()
        self.served = self.refused = 0
        self._clear_state()

    # -- hooks for subclasses ------------------------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    def _clear_state(self) -> None:
        """(Re)create the fake's in-memory state."""

    def _authorize(self, request: web.Request) -> web.StreamResponse | None:
        """None to let the request through, or the response that refuses it."""
        return None

    def _error_body(self, status: int, message: str) -> Any:
        return {"message": message}

    def _error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
        return json_response(self._error_body(status, message), status, headers=headers)

    def _finish(self, request: web.Request, response: web.StreamResponse) -> None:
        """Add the headers every response of this service carries."""

    def _streams_body(self, request: web.Request) -> bool:
        """True when the handler reads the body itself, as a stream (an upload): it is then not read
        into memory first, and its `RecordedRequest.body` is empty."""
        return False

    # -- the request path ----------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = b"" if self._streams_body(request) else await request.read()
        fault = self._over_limit()
        if fault is None:
            fault = self.faults.take(request.method, request.path)
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.query), request.headers, body, fault)
        )
        if fault is not None:
            if fault.latency > 0:
                await asyncio.sleep(fault.latency)
            early = self._fault_response(request, fault)
            if early is not None:
                return early
        response = self._authorize(request)
        if response is None:
            response = await handler(request)
        self._finish(request, response)
        if fault is not None and fault.kind == "truncated" and isinstance(response, web.Response):
            return _send_truncated(request, response)
        return response

    def _over_limit(self) -> Fault | None:
        """The 429 for a request beyond the rate limit, or None (and it counts as served)."""
        if self._bucket is not None:
            wait = self._bucket.take(self._bucket_clock.monotonic())
            if wait > 0:
                self.refused += 1
                exact = round(wait * 1000, 3) if self._exact_wait else None
                return Fault.rate_limited(retry_after=math.ceil(wait), retry_after_ms=exact)
        self.served += 1
        return None

    def _fault_response(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        if fault.kind == "reset":
            _reset_connection(request)
            return web.Response()
        if fault.kind == "malformed_json":
            body = fault.body if isinstance(fault.body, bytes) else str(fault.body).encode()
            return web.Response(body=body, status=fault.code, content_type="application/json")
        if fault.kind != "status":
            return None
        if fault.body is None:
            response = self._error_response(fault.code, HTTPStatus(fault.code).phrase, fault.headers)
        elif isinstance(fault.body, bytes | str):
            raw = fault.body.encode() if isinstance(fault.body, str) else fault.body
            response = web.Response(body=raw, status=fault.code, headers=fault.headers)
            if "Content-Type" not in fault.headers:
                response.content_type = "application/json"
        else:
            response = json_response(fault.body, fault.code, headers=fault.headers)
        self._finish(request, response)
        return response


def _reset_connection(request: web.Request) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER 0 makes close() send RST: the client sees a reset, not a clean EOF.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _send_truncated(request: web.Request, response: web.Response) -> web.StreamResponse:
    transport = request.transport
    body = response.body if isinstance(response.body, bytes) else b""
    if transport is None:
        return response
    reason = HTTPStatus(response.status).phrase
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    lines += [f"{k}: {v}" for k, v in response.headers.items() if k.lower() not in ("content-length", "connection")]
    lines += [f"Content-Length: {max(len(body), 2)}", "Connection: close", "", ""]
    # Written straight to the socket so the declared length is a lie aiohttp cannot correct.
    transport.write("\r\n".join(lines).encode("latin-1") + body[: len(body) // 2])
    transport.close()
    return web.Response()
