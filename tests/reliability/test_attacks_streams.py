"""Issue 17's attacks on Mix's event stream (`sessions_stream`), each against a hostile loopback server.

Every network wait is guarded (`GUARD`) so a regression fails instead of hanging; no assertion reads
the wall clock. Reconnect backoffs run on a `FakeClock`.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import pytest

from sessionkit import Err, Ok, RequestOptions, ResponseValidationError, RetryConfig, SessionkitError, Timeout
from sessionkit.mix import MixCore, StreamEvent, UnknownEvent, sessions_stream
from sessionkit.result import Result
from sessionkit.testing import FakeClock

from .fault_server import Conn, FaultServer, Recorded, head, respond
from .hostile import MiB, bomb, event_stream, eventually, rss_peak, stream_body, traced_peak

GUARD = 60.0  # seconds: only so that a regression fails instead of stalling the suite
Events = AsyncGenerator[Result[StreamEvent, SessionkitError], None]


async def collect(events: Events) -> list[Result[StreamEvent, SessionkitError]]:
    async def run() -> list[Result[StreamEvent, SessionkitError]]:
        return [item async for item in events]

    return await asyncio.wait_for(run(), GUARD)


def tick(n: int, name: str = "tick") -> str:
    return f"event: {name}\ndata: {json.dumps({'n': n})}\n\n"


def ns(items: list[Result[StreamEvent, SessionkitError]]) -> list[Any]:
    values = [item.value for item in items if isinstance(item, Ok) and isinstance(item.value, UnknownEvent)]
    return [v.data["n"] for v in values if isinstance(v.data, dict)]


# --- item 1 ------------------------------------------------------------------------------------------

TICK = b'event: tick\ndata: {"n":1}\n\n'
BLOCK = TICK * (4 * MiB // len(TICK))  # 4 MiB of tiny events; 256 copies inflate to ~1 GiB
GZIP_STREAM = 256


async def test_a_gzip_bomb_event_stream_is_read_in_bounded_steps_and_leaves_the_loop_free() -> None:
    """issue 17, item 1: ~1 GiB of tiny events in 2.6 MB of gzip. The first events arrive before the
    server has even sent the rest of the body; the resident set grows far less than the inflated size
    (measured: VmHWM over VmRSS, both client and server, as `tracemalloc` would slow the loop tenfold);
    the caller's own `wait_for` fires while the stream is still being read."""
    body = bomb(BLOCK, GZIP_STREAM)
    first_part = 8 * 1024  # inflates to ~3 MiB
    go_on = asyncio.Event()

    async def behave(req: Recorded, conn: Conn) -> None:
        hdrs = [("Content-Type", "text/event-stream"), ("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))]
        await conn.send(head(200, hdrs) + body[:first_part])
        await go_on.wait()
        for i in range(first_part, len(body), 1 << 16):
            await conn.send(body[i : i + (1 << 16)])

    seen = 0

    async def consume(events: Events) -> None:
        nonlocal seen
        async for item in events:
            assert isinstance(item, Ok), item
            seen += 1

    with rss_peak() as peak:
        srv = FaultServer(default=behave)
        bounded = Timeout(total=GUARD)  # a caller's deadline that does not fire ends the stream, not the suite
        async with (
            srv,
            MixCore(srv.url, retries=0, timeout=bounded) as core,
            aclosing(sessions_stream(core, {"id": "s-1"})) as events,
        ):
            first = await asyncio.wait_for(anext(events), GUARD)  # the server has sent 8 KiB of it
            assert isinstance(first, Ok), first
            assert isinstance(first.value, UnknownEvent)
            assert (first.value.event, first.value.data) == ("tick", {"n": 1})
            go_on.set()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(consume(events), 0.5)  # the caller's own deadline fires
    assert seen > 0  # events kept coming while the caller waited
    assert peak.bytes < 64 * MiB, f"peak {peak.bytes / MiB:.0f} MiB while reading a gzip event stream"


async def test_a_stream_that_keeps_sending_outlives_its_per_attempt_timeout() -> None:
    """issue 17, item 1 (the deadline rule; it broke on Python 3.10): `Timeout.attempt` bounds each
    silence of a streamed body, not its whole length. Events every 0.1 s for 1.5 s against
    `attempt=0.5` all arrive and the stream ends cleanly (on 3.10 aiohttp's `total` timer, armed for
    the attempt, cut the body at 0.5 s: "no data for 0.5s")."""
    pieces = [tick(n).encode() for n in range(15)]

    async def behave(req: Recorded, conn: Conn) -> None:
        await conn.send(head(200, [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]))
        for piece in pieces:
            await conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await asyncio.sleep(0.1)
        await conn.send(b"0\r\n\r\n")

    srv = FaultServer(default=behave)
    async with srv, MixCore(srv.url, retries=0, timeout=Timeout(attempt=0.5)) as core:
        items = await collect(sessions_stream(core, {"id": "s-1"}))
    assert all(isinstance(item, Ok) for item in items), items
    assert ns(items) == list(range(15))


# --- item 3 ------------------------------------------------------------------------------------------


async def test_a_retry_field_of_5000_digits_is_ignored_and_the_events_around_it_arrive() -> None:
    """issue 17, item 3: `retry: <5,000 digits>` (past Python's int digit limit) in the middle of a chunk."""
    text = tick(1) + "retry: " + "9" * 5000 + "\n\n" + tick(2) + "retry: 1500\n" + tick(3)
    async with FaultServer(default=event_stream(text)) as srv, MixCore(srv.url, retries=0) as core:
        items = await collect(sessions_stream(core, {"id": "s-1"}))
    assert ns(items) == [1, 2, 3], items
    retries = [item.value.retry for item in items if isinstance(item, Ok)]
    assert retries == [None, None, 1500]  # the over-long one set nothing


# --- item 8 ------------------------------------------------------------------------------------------

LONG_LINE = 16 * MiB
CHUNK = 1 << 16


def long_line_stream() -> list[bytes]:
    """An event whose one data line is 16 MiB (sent in 64 KiB chunks, no newline in any), then two more."""
    text = 'data: "' + "x" * (LONG_LINE - 2) + '"\n\n'
    raw = (tick(1) + text + tick(2) + tick(3)).encode()
    return [raw[i : i + (1 << 16)] for i in range(0, len(raw), 1 << 16)]


async def test_a_16_mib_line_is_buffered_and_the_events_after_it_arrive() -> None:
    """issue 17, item 8: one event-stream line of 16 MiB without a newline until its end."""
    async with FaultServer(default=stream_body(long_line_stream())) as srv, MixCore(srv.url, retries=0) as core:
        items = await collect(sessions_stream(core, {"id": "s-1"}))
    assert all(isinstance(item, Ok) for item in items), [i for i in items if isinstance(i, Err)]
    big = [item.value for item in items if isinstance(item, Ok) and item.value.event == "message"]
    assert len(big) == 1
    assert isinstance(big[0], UnknownEvent)
    assert len(big[0].data) == LONG_LINE - 2
    assert ns(items) == [1, 2, 3]


async def test_a_line_longer_than_max_response_bytes_ends_the_stream_with_an_error() -> None:
    """issue 17, item 8: the same line against a 1 MiB `max_response_bytes` is refused, not buffered."""
    srv = FaultServer(default=stream_body(long_line_stream()))
    async with srv, MixCore(srv.url, retries=0, max_response_bytes=MiB) as core:
        items = await collect(sessions_stream(core, {"id": "s-1"}))
    assert ns(items[:-1]) == [1]
    last = items[-1]
    assert isinstance(last, Err), items
    assert isinstance(last.error, ResponseValidationError)


async def test_a_partial_line_is_buffered_without_copying_it_at_every_chunk() -> None:
    """issue 17, item 8, the structural check (no timing): while a 16 MiB line is still open (the
    server holds its end back), the parser holds one copy of it. Appending each chunk to one growing
    string (the old parser) copies the whole line per chunk: 16 MiB in 64 KiB chunks is 2 GiB of
    copying, quadratic in the line, and shows as a `tracemalloc` peak of twice the line (the old
    copy and the new one alive together)."""
    pieces = long_line_stream()
    cut = len(tick(1)) + len('data: "') + LONG_LINE - 2  # everything but the line's end and what follows
    raw = b"".join(pieces)
    head_part = [raw[i : min(i + (1 << 16), cut)] for i in range(0, cut, 1 << 16)]
    go_on = asyncio.Event()

    async def behave(req: Recorded, conn: Conn) -> None:
        await conn.send(head(200, [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]))
        for piece in [*head_part, None, raw[cut:]]:
            if piece is None:
                await go_on.wait()
                continue
            await conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        await conn.send(b"0\r\n\r\n")

    srv = FaultServer(default=behave)
    async with srv, MixCore(srv.url, retries=0) as core, aclosing(sessions_stream(core, {"id": "s-1"})) as events:
        first = await asyncio.wait_for(anext(events), GUARD)
        assert ns([first]) == [1]
        with traced_peak():
            rest = asyncio.ensure_future(collect(events))
            # The open line has reached the parser (but its first chunk, read before tracing began).
            await eventually(lambda: tracemalloc.get_traced_memory()[0] >= LONG_LINE - 4 * CHUNK)
            peak = tracemalloc.get_traced_memory()[1]
        go_on.set()
        items = await rest
    assert ns(items) == [2, 3]
    assert peak < 1.5 * LONG_LINE, f"peak {peak / MiB:.1f} MiB while a {LONG_LINE // MiB} MiB line was open"


# --- item 9 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/html; charset=utf-8", b"<html><body>Sign in</body></html>"), ("application/json", b'{"ok": true}')],
)
async def test_a_success_that_is_not_an_event_stream_is_an_error_naming_its_type(
    content_type: str, body: bytes
) -> None:
    """issue 17, item 9: a 200 answer with an HTML page or a JSON body is not an empty stream."""
    srv = FaultServer(default=respond(200, body, content_type=content_type))
    async with srv, MixCore(srv.url, retries=0) as core:
        items = await collect(sessions_stream(core, {"id": "s-1"}))
    [only] = items
    assert isinstance(only, Err), items
    assert isinstance(only.error, ResponseValidationError)
    assert content_type.split(";")[0] in only.error.message


# --- item 10 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("control", ["\x1b", "\x7f"], ids=["ESC", "DEL"])
async def test_an_event_id_with_a_control_character_is_ignored_and_the_stream_reconnects(control: str) -> None:
    """issue 17, item 10: an `id:` holding ESC or DEL, then a drop: the reconnect sends the last valid id."""
    first = f"id: good-1\n{tick(1)}id: bad{control}id\n{tick(2)}"
    srv = FaultServer().then(event_stream(first, end="reset"), event_stream(f"id: good-3\n{tick(3)}"))
    retries = RetryConfig(max_retries=2, initial_wait=0.5, jitter=False)
    async with srv, MixCore(srv.url, retries=retries, clock=FakeClock()) as core:
        items = await collect(sessions_stream(core, {"id": "s-1"}))
    assert all(isinstance(item, Ok) for item in items), items
    assert ns(items) == [1, 2, 3]
    assert [r.header("Last-Event-ID") for r in srv.requests] == [None, "good-1"]


async def test_a_stream_whose_only_id_is_bad_reconnects_without_one() -> None:
    """issue 17, item 10: with no valid id seen, the reconnect sends no `Last-Event-ID` at all."""
    srv = FaultServer().then(event_stream(f"id: x\x1by\n{tick(1)}{tick(2)}", end="reset"), event_stream(tick(3)))
    retries = RetryConfig(max_retries=2, initial_wait=0.5, jitter=False)
    async with srv, MixCore(srv.url, retries=retries, clock=FakeClock()) as core:
        items = await collect(sessions_stream(core, {"id": "s-1"}, options=RequestOptions(timeout=Timeout(attempt=30))))
    assert ns(items) == [1, 2, 3], items
    assert [r.header("Last-Event-ID") for r in srv.requests] == [None, None]
