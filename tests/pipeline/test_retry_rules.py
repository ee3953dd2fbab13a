"""Retry rules against loopback aiohttp servers: statuses, Retry-After, deadlines, idempotency, cancellation."""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sessionkit import (
    APIError,
    BadRequestError,
    BaseCore,
    ConflictError,
    ConnectionError,
    Err,
    InternalServerError,
    NotFoundError,
    Ok,
    Operation,
    RateLimitError,
    RequestOptions,
    RequestTimeoutError,
    Result,
    RetryConfig,
    SessionkitError,
    Timeout,
)
from sessionkit.testing import FakeClock

FAST = RetryConfig(initial_wait=0.01, max_wait=0.02)


@attrs.define(kw_only=True)
class Thing:
    id: str


@attrs.define(kw_only=True)
class NewThing:
    name: str


GET_THING: Operation[None, Thing] = Operation(
    id="test.things.get", method="GET", path="/things", response=Thing, body=None
)
CREATE_THING: Operation[NewThing, Thing] = Operation(
    id="test.things.create", method="POST", path="/things", request=NewThing, response=Thing, success=(201,)
)
CREATE_THING_SAFE: Operation[NewThing, Thing] = attrs.evolve(CREATE_THING, retry_safe=True)
CREATE_THING_SAFE_IF_NAMED: Operation[NewThing, Thing] = attrs.evolve(
    CREATE_THING, retry_safe=lambda model: model.name.startswith("idem-")
)


@attrs.frozen
class Reply:
    status: int = 200
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: Any = attrs.field(factory=lambda: {"id": "t1"})


HANG = "hang"  # the handler never answers (until the client goes away)
Step = Reply | Callable[[], Reply] | str


@attrs.define
class Seen:
    at: float
    method: str
    headers: Mapping[str, str]


class Scripted:
    """A loopback server answering each request with the next step of its script (the last one repeats)."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps
        self.seen: list[Seen] = []
        self.server = TestServer(self._app())

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/things", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(time.monotonic(), request.method, dict(request.headers)))
        step = self.steps[min(len(self.seen), len(self.steps)) - 1]
        if step == HANG:
            await asyncio.sleep(30)  # cancelled when the client disconnects
        reply = step() if callable(step) else step
        assert isinstance(reply, Reply)
        if reply.status == 204:
            return web.Response(status=204, headers=reply.headers)
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")

    @property
    def open_connections(self) -> int:
        return len(self.server.handler.connections)

    def gaps(self) -> list[float]:
        return [b.at - a.at for a, b in zip(self.seen, self.seen[1:], strict=False)]


Serve = Callable[..., Awaitable[Scripted]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    started: list[Scripted] = []

    async def start(*steps: Step) -> Scripted:
        scripted = Scripted(list(steps))
        await scripted.server.start_server()
        started.append(scripted)
        return scripted

    yield start
    for scripted in started:
        await scripted.server.close()


async def _call(
    url: str,
    op: Operation[Any, Thing] = GET_THING,
    request: Any = None,
    *,
    retries: RetryConfig = FAST,
    clock: FakeClock | None = None,
    **options: Any,
) -> Result[Thing, SessionkitError]:
    async with BaseCore(server_url=url, retries=retries, clock=clock) as core:
        return await core.send(op, request, RequestOptions(**options) if options else None)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- statuses ---------------------------------------------------------------------------------

STATUS_TABLE: list[tuple[list[int], type[SessionkitError] | None, int]] = [
    ([503, 503, 200], None, 3),
    ([500, 200], None, 2),
    ([502, 504, 200], None, 3),
    ([408, 200], None, 2),
    ([429, 200], None, 2),  # no Retry-After: ordinary backoff
    ([503, 503, 503], InternalServerError, 3),  # max_retries=2 means 3 attempts
    ([501], InternalServerError, 1),
    ([404], NotFoundError, 1),
    ([400], BadRequestError, 1),
    ([409], ConflictError, 1),
]


@pytest.mark.parametrize(("statuses", "error", "attempts"), STATUS_TABLE)
async def test_retried_statuses(
    serve: Serve, statuses: list[int], error: type[SessionkitError] | None, attempts: int
) -> None:
    server = await serve(*(Reply(s) for s in statuses))
    result = await _call(server.url)
    assert len(server.seen) == attempts
    if error is None:
        assert isinstance(result, Ok), result
        assert result.value == Thing(id="t1")
        assert result.meta is not None
        assert result.meta.attempts == attempts
    else:
        assert isinstance(result, Err)
        assert isinstance(result.error, error)
        assert result.error.attempts == attempts
        assert isinstance(result.error, APIError)
        assert result.error.status == statuses[-1]


@pytest.mark.parametrize(("per_call", "attempts"), [(None, 3), (0, 1), (4, 5), (attrs.evolve(FAST, max_retries=1), 2)])
async def test_request_options_override_the_core_retries(
    serve: Serve, per_call: RetryConfig | int | None, attempts: int
) -> None:
    server = await serve(Reply(503))
    async with BaseCore(server_url=server.url, retries=FAST) as core:
        result = await core.send(GET_THING, None, RequestOptions(retries=per_call))
    assert isinstance(result, Err)
    assert result.error.attempts == attempts
    assert len(server.seen) == attempts


# --- Retry-After -------------------------------------------------------------------------------


CLOCK_WALL = 1_700_000_000.0  # the FakeClock's wall time when a test starts


def _http_date_in(seconds: float) -> Reply:
    return Reply(429, {"Retry-After": email.utils.formatdate(CLOCK_WALL + seconds, usegmt=True)})


RETRY_AFTER_TABLE: list[tuple[str, Step, float]] = [
    ("seconds", Reply(429, {"Retry-After": "1"}), 1.0),
    ("retry-after-ms", Reply(429, {"retry-after-ms": "300"}), 0.3),
    ("ms on a 503", Reply(503, {"retry-after-ms": "250", "Retry-After": "30"}), 0.25),  # ms wins
    ("http-date", _http_date_in(2), 2.0),
]


@pytest.mark.parametrize(("form", "first", "waited"), RETRY_AFTER_TABLE, ids=[r[0] for r in RETRY_AFTER_TABLE])
async def test_retry_after_is_honoured(serve: Serve, form: str, first: Step, waited: float) -> None:
    server = await serve(first, Reply(200))
    clock = FakeClock(wall_start=CLOCK_WALL)
    result = await _call(server.url, clock=clock)
    assert isinstance(result, Ok), result
    assert result.meta is not None
    assert result.meta.attempts == 2
    [slept] = clock.sleeps
    assert waited <= slept <= waited + min(0.2 * waited, 1.0)  # as asked, plus at most a fifth of jitter


async def test_retry_after_without_jitter_is_exact(serve: Serve) -> None:
    server = await serve(Reply(429, {"Retry-After": "1"}), Reply(200))
    clock = FakeClock(wall_start=CLOCK_WALL)
    result = await _call(server.url, clock=clock, retries=attrs.evolve(FAST, jitter=False))
    assert isinstance(result, Ok), result
    assert clock.sleeps == [1.0]


CAP_TABLE: list[tuple[str, RetryConfig, Mapping[str, str], float]] = [
    ("over the default cap", FAST, {"Retry-After": "120"}, 120.0),
    ("ms over the default cap", FAST, {"retry-after-ms": "61000"}, 61.0),
    ("over a custom cap", attrs.evolve(FAST, max_retry_after=0.5), {"Retry-After": "1"}, 1.0),
]


@pytest.mark.parametrize(("case", "retries", "headers", "asked"), CAP_TABLE, ids=[c[0] for c in CAP_TABLE])
async def test_retry_after_over_the_cap_returns_at_once(
    serve: Serve, case: str, retries: RetryConfig, headers: Mapping[str, str], asked: float
) -> None:
    server = await serve(Reply(429, headers), Reply(200))
    clock = FakeClock()
    result = await _call(server.url, retries=retries, clock=clock)
    assert clock.sleeps == [], "no wait at all"
    assert isinstance(result, Err)
    assert isinstance(result.error, RateLimitError)
    assert result.error.retry_after == pytest.approx(asked)
    assert result.error.attempts == 1
    assert len(server.seen) == 1


# --- deadlines ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retries", "attempts"),
    [
        (attrs.evolve(FAST, max_retries=0), 1),
        (attrs.evolve(FAST, max_retries=1), 2),
        (attrs.evolve(FAST, retry_timeouts=False), 1),
    ],
    ids=["no retries", "timeouts retried", "retry_timeouts off"],
)
async def test_per_attempt_timeout(serve: Serve, retries: RetryConfig, attempts: int) -> None:
    server = await serve(HANG)
    result = await _call(server.url, retries=retries, timeout=Timeout(attempt=0.2))
    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)
    assert result.error.deadline == "attempt"
    assert result.error.attempts == attempts
    assert len(server.seen) == attempts


async def test_total_deadline(serve: Serve) -> None:
    server = await serve(HANG)
    result = await _call(server.url, timeout=Timeout(attempt=5, total=0.3))
    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)
    assert result.error.deadline == "total"
    assert result.error.attempts == 1
    assert len(server.seen) == 1


async def test_total_deadline_bounds_the_retries(serve: Serve) -> None:
    server = await serve(Reply(503), Reply(503), HANG)
    result = await _call(server.url, timeout=Timeout(attempt=5, total=0.5))
    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)
    assert result.error.deadline == "total"
    assert result.error.attempts == 3


# --- idempotency -------------------------------------------------------------------------------

IDEMPOTENCY_TABLE: list[tuple[str, Operation[NewThing, Thing], dict[str, Any], str, int]] = [
    ("POST is not retried", CREATE_THING, {}, "plain", 1),
    ("POST with an idempotency key is", CREATE_THING, {"idempotency_key": "key-1"}, "plain", 3),
    ("POST declared retry-safe is", CREATE_THING_SAFE, {}, "plain", 3),
    ("retry-safe by the request: no", CREATE_THING_SAFE_IF_NAMED, {}, "plain", 1),
    ("retry-safe by the request: yes", CREATE_THING_SAFE_IF_NAMED, {}, "idem-1", 3),
]


@pytest.mark.parametrize(
    ("case", "op", "options", "name", "attempts"), IDEMPOTENCY_TABLE, ids=[c[0] for c in IDEMPOTENCY_TABLE]
)
async def test_non_idempotent_requests_are_retried_only_when_safe(
    serve: Serve, case: str, op: Operation[NewThing, Thing], options: dict[str, Any], name: str, attempts: int
) -> None:
    server = await serve(Reply(503), Reply(503), Reply(201))
    result = await _call(server.url, op, NewThing(name=name), **options)
    assert len(server.seen) == attempts
    assert all(s.method == "POST" for s in server.seen)
    if attempts == 1:
        assert isinstance(result, Err)
        assert isinstance(result.error, InternalServerError)
        assert result.error.status == 503
        assert result.error.attempts == 1
    else:
        assert isinstance(result, Ok), result
        assert result.meta is not None
        assert result.meta.attempts == 3
    key = options.get("idempotency_key")
    assert [s.headers.get("Idempotency-Key") for s in server.seen] == [key] * attempts


# --- connection errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retries", "attempts"),
    [(FAST, 3), (attrs.evolve(FAST, retry_connection_errors=False), 1)],
    ids=["retried", "retry_connection_errors off"],
)
async def test_connection_refused(retries: RetryConfig, attempts: int) -> None:
    result = await _call(f"http://127.0.0.1:{_closed_port()}", retries=retries)
    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionError)
    assert result.error.attempts == attempts
    assert result.error.cause is not None


# Each attempt is exactly one connection: the core turns off aiohttp's own silent resend of
# idempotent requests on a dropped connection (ClientSession._retry_connection).
@pytest.mark.parametrize(
    ("op", "attempts"),
    [(GET_THING, 3), (CREATE_THING_SAFE, 3), (CREATE_THING, 1)],
    ids=["GET", "retry-safe POST", "plain POST"],
)
async def test_dropped_connections(op: Operation[Any, Thing], attempts: int) -> None:
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        if connections >= 3:
            body = b'{"id": "t1"}'
            head = b"HTTP/1.1 %d OK\r\nContent-Type: application/json\r\nConnection: close\r\n" % op.success[0]
            writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
        writer.close()  # the first two connections close without a response
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        result = await _call(f"http://127.0.0.1:{port}", op, {"name": "x"} if op.request else None)
    finally:
        server.close()
        await server.wait_closed()
    assert connections == attempts
    if attempts == 1:
        assert isinstance(result, Err)
        assert isinstance(result.error, ConnectionError)
        assert result.error.attempts == 1
    else:
        assert isinstance(result, Ok), result
        assert result.meta is not None
        assert result.meta.attempts == 3


# --- cancellation ------------------------------------------------------------------------------


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def _acquired(core: BaseCore) -> int:
    return len(core.client_session().connector._acquired)  # type: ignore[union-attr]


class BlockingClock(FakeClock):
    """A clock whose sleeps never end, and which says when someone is sleeping on it."""

    waiting = False

    async def sleep(self, seconds: float) -> None:
        self.waiting = True
        await asyncio.Event().wait()


def _pooled(core: BaseCore) -> int:
    return sum(len(c) for c in core.client_session().connector._conns.values())  # type: ignore[union-attr]


def _new_tasks(before: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t not in before and t is not asyncio.current_task() and not t.done()}


async def test_cancelling_while_waiting_between_attempts(serve: Serve) -> None:
    server = await serve(Reply(503))
    before = asyncio.all_tasks()
    clock = BlockingClock()
    core = BaseCore(
        server_url=server.url,
        retries=attrs.evolve(FAST, initial_wait=10, max_wait=10, jitter=False, max_retries=3),
        clock=clock,
    )
    try:
        task = asyncio.create_task(core.send(GET_THING))
        await _until(lambda: len(server.seen) == 1 and _acquired(core) == 0, "the first 503 to be read")
        await _until(lambda: clock.waiting, "the call to sleep in its 10 s backoff")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(server.seen) == 1
        assert _acquired(core) == 0  # nothing in flight; at most one idle keep-alive connection
        assert _pooled(core) <= 1
    finally:
        await core.aclose()
    await _until(lambda: server.open_connections == 0, "the server to see the connection close")
    await _until(lambda: not _new_tasks(before), "tasks to finish")


async def test_cancelling_during_an_attempt_closes_its_connection(serve: Serve) -> None:
    server = await serve(HANG)
    before = asyncio.all_tasks()
    async with BaseCore(server_url=server.url, retries=FAST) as core:
        task = asyncio.create_task(core.send(GET_THING))
        await _until(lambda: len(server.seen) == 1, "the request to arrive")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert _acquired(core) == 0
        assert _pooled(core) == 0  # a half-read connection is closed, never pooled
        await _until(lambda: server.open_connections == 0, "the server to see the connection close")
    await _until(lambda: not _new_tasks(before), "tasks to finish")
