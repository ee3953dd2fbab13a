"""`sessions_stream` against FakeMix: typed events, reconnects after a drop (with `Last-Event-ID`),
unknown event types, closing on leave and on cancel, and the limits of reconnecting.

Every wait on the network is guarded with `asyncio.wait_for`; the backoff between reconnects runs on
a `FakeClock`, so no test sleeps through it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import pytest

from sessionkit import (
    ConnectionError,
    Err,
    Ok,
    RequestOptions,
    RequestTimeoutError,
    ResponseValidationError,
    RetryConfig,
    SessionkitError,
    Timeout,
)
from sessionkit.mix import (
    CompleteEvent,
    ConnectedEvent,
    ContentEvent,
    ErrorEvent,
    HeartbeatEvent,
    MixCore,
    MixDefaultBadRequestError,
    SessionCreatedEvent,
    SessionDeletedEvent,
    StreamEvent,
    ToolExecutionCompleteEvent,
    UnknownEvent,
    UserMessageCreatedEvent,
    sessions_create,
    sessions_delete,
    sessions_messages_send,
    sessions_stream,
)
from sessionkit.result import Result
from sessionkit.testing import FakeClock, FakeMix

GUARD = 20.0  # seconds: a hang fails the test instead of stalling the suite
Events = AsyncGenerator[Result[StreamEvent, SessionkitError], None]


@asynccontextmanager
async def mix(**fake_options: Any) -> AsyncIterator[tuple[FakeMix, MixCore, FakeClock, str]]:
    """A 0.11.4 fake, a core on a fake clock, and one session."""
    clock = FakeClock()
    async with FakeMix(version="0.11.4", **fake_options) as fake, MixCore(fake.url, clock=clock) as core:
        [session] = fake.seed_sessions(1)
        yield fake, core, clock, session["id"]


async def next_ok(events: Events) -> StreamEvent:
    item = await asyncio.wait_for(anext(events), GUARD)
    assert isinstance(item, Ok), item
    return item.value


async def until(events: Events, kind: type[StreamEvent]) -> list[StreamEvent]:
    """Every event up to and including the first of `kind`."""
    seen: list[StreamEvent] = []
    while not seen or not isinstance(seen[-1], kind):
        seen.append(await next_ok(events))
    return seen


async def test_a_turn_arrives_as_typed_events() -> None:
    async with mix() as (_, core, _, sid), aclosing(sessions_stream(core, {"id": sid})) as events:
        connected = await next_ok(events)
        assert isinstance(connected, ConnectedEvent)
        assert (connected.session_id, connected.event_id, connected.retry) == (sid, "1", 30000)
        assert (await sessions_messages_send(core, {"id": sid, "text": "hi there"})).is_ok()
        turn = await until(events, CompleteEvent)
    kinds = [type(e) for e in turn]
    assert kinds[0] is UserMessageCreatedEvent
    assert ToolExecutionCompleteEvent in kinds
    assert "".join(e.content for e in turn if isinstance(e, ContentEvent)) == "You said: hi there"
    complete = turn[-1]
    assert isinstance(complete, CompleteEvent)
    assert complete.done
    assert complete.content == "You said: hi there"
    assert [e.event_id for e in turn] == [str(n) for n in range(2, 2 + len(turn))]


async def test_a_dropped_connection_is_reconnected_with_last_event_id_and_goes_on() -> None:
    async with mix() as (fake, core, clock, sid), aclosing(sessions_stream(core, {"id": sid})) as events:
        assert isinstance(await next_ok(events), ConnectedEvent)
        fake.emit(sid, "content", {"type": "content", "content": "before"})
        before = await next_ok(events)
        assert isinstance(before, ContentEvent)
        assert before.event_id == "2"
        fake.drop_streams(sid)
        again = await next_ok(events)  # the iterator reconnected by itself
        assert isinstance(again, ConnectedEvent)
        assert again.event_id == "1"  # today's server numbers each connection from 1
        fake.emit(sid, "content", {"type": "content", "content": "after"})
        after = await next_ok(events)
    assert isinstance(after, ContentEvent)
    assert after.content == "after"
    streams = [r for r in fake.requests if r.path == "/stream"]
    assert [r.headers.get("Last-Event-ID") for r in streams] == [None, "2"]
    assert [r.query["sessionId"] for r in streams] == [sid, sid]
    assert len(clock.sleeps) == 1  # one backoff wait, from the core's retry policy
    assert 0 <= clock.sleeps[0] <= RetryConfig().initial_wait


async def test_what_is_emitted_while_disconnected_is_lost() -> None:
    # The contract: no replay buffer, Last-Event-ID ignored. The client cannot do better; it says so.
    async with mix() as (fake, core, _, sid), aclosing(sessions_stream(core, {"id": sid})) as events:
        await next_ok(events)
        fake.drop_streams(sid)
        await asyncio.wait_for(fake.wait_for_streams(sid, 0), GUARD)
        assert fake.emit(sid, "content", {"type": "content", "content": "lost"}) == 0
        assert isinstance(await next_ok(events), ConnectedEvent)
        fake.emit(sid, "content", {"type": "content", "content": "kept"})
        kept = await next_ok(events)
    assert isinstance(kept, ContentEvent)
    assert kept.content == "kept"


async def test_an_unknown_event_type_arrives_as_a_generic_event() -> None:
    async with mix() as (fake, core, _, sid), aclosing(sessions_stream(core, {"id": sid})) as events:
        await next_ok(events)
        fake.emit(sid, "rate_limit_error", {"type": "rate_limit_error", "error": "slow down", "retryAfter": 60})
        unknown = await next_ok(events)
        fake.emit(sid, "complete", {"type": "complete", "done": True})
        after = await next_ok(events)
    assert isinstance(unknown, UnknownEvent)
    assert unknown.event == "rate_limit_error"
    assert unknown.data == {"type": "rate_limit_error", "error": "slow down", "retryAfter": 60}
    assert unknown.retry == 30000
    assert isinstance(after, CompleteEvent)  # the stream goes on


async def test_a_known_event_with_bad_data_is_an_error_value_and_the_stream_goes_on() -> None:
    async with mix() as (fake, core, _, sid), aclosing(sessions_stream(core, {"id": sid})) as events:
        await next_ok(events)
        fake.emit(sid, "content", {"type": "content"})  # no content
        bad = await asyncio.wait_for(anext(events), GUARD)
        fake.emit(sid, "heartbeat", {"type": "ping"})
        good = await next_ok(events)
    assert isinstance(bad, Err)
    assert isinstance(bad.error, ResponseValidationError)
    assert bad.error.operation_id == "mix.sessions.stream"
    assert isinstance(good, HeartbeatEvent)


async def test_heartbeats_and_events_of_every_session() -> None:
    async with mix(heartbeat=0.05) as (_, core, _, sid), aclosing(sessions_stream(core, {"id": sid})) as events:
        await next_ok(events)
        assert isinstance(await next_ok(events), HeartbeatEvent)
        created = await sessions_create(core, {"title": "other", "browser_mode": "local-browser-service"})
        assert isinstance(created, Ok)
        assert (await sessions_delete(core, {"id": created.value.id})).is_ok()
        seen = [e for e in await until(events, SessionDeletedEvent) if not isinstance(e, HeartbeatEvent)]
    assert isinstance(seen[0], SessionCreatedEvent)
    assert (seen[0].session_id, seen[0].title) == (created.value.id, "other")


async def test_leaving_the_iteration_closes_the_connection() -> None:
    async with mix() as (fake, core, _, sid):
        async with aclosing(sessions_stream(core, {"id": sid})) as events:
            await next_ok(events)
            assert fake.open_streams(sid) == 1
        await asyncio.wait_for(fake.wait_for_streams(sid, 0), GUARD)


async def test_cancelling_the_reader_closes_the_connection() -> None:
    async with mix() as (fake, core, _, sid):
        first = asyncio.Event()

        async def read() -> None:
            async with aclosing(sessions_stream(core, {"id": sid})) as events:
                async for _ in events:
                    first.set()

        task = asyncio.create_task(read())
        await asyncio.wait_for(first.wait(), GUARD)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(fake.wait_for_streams(sid, 0), GUARD)


async def test_an_unknown_session_gets_one_error_event_and_the_end() -> None:
    async with mix() as (_, core, _, _):
        items = [item async for item in sessions_stream(core, {"id": "nope"})]
    [only] = items
    assert isinstance(only, Ok)
    assert isinstance(only.value, ErrorEvent)
    assert only.value.error == "Invalid session ID: nope"


async def test_an_empty_session_id_is_the_servers_400() -> None:
    async with mix() as (_, core, _, _):
        items = [item async for item in sessions_stream(core, {"id": ""}, options=RequestOptions(retries=0))]
    [only] = items
    assert isinstance(only, Err)
    assert isinstance(only.error, MixDefaultBadRequestError)


async def test_drops_in_a_row_past_max_retries_end_with_the_error() -> None:
    # Each connection brings only its greeting before it is cut: no progress, so the count grows.
    async with mix() as (fake, core, clock, sid):
        options = RequestOptions(retries=RetryConfig(max_retries=2, initial_wait=0.01))
        items: list[Any] = []
        async with aclosing(sessions_stream(core, {"id": sid}, options=options)) as events:
            async for item in events:
                items.append(item)
                if isinstance(item, Ok):
                    fake.drop_streams(sid)
    assert [type(i.value) for i in items[:-1]] == [ConnectedEvent] * 3
    assert isinstance(items[-1], Err)
    assert isinstance(items[-1].error, ConnectionError)
    assert len(clock.sleeps) == 2


async def test_a_silent_connection_is_a_drop_after_the_attempt_timeout() -> None:
    async with mix() as (_, core, clock, sid):
        options = RequestOptions(retries=RetryConfig(max_retries=1, initial_wait=0.01), timeout=Timeout(attempt=0.2))
        items = [item async for item in sessions_stream(core, {"id": sid}, options=options)]
    assert [type(i.value) for i in items[:-1]] == [ConnectedEvent, ConnectedEvent]
    assert isinstance(items[-1], Err)
    assert isinstance(items[-1].error, RequestTimeoutError)
    assert items[-1].error.deadline == "attempt"
    assert len(clock.sleeps) == 1


async def test_a_server_gone_for_good_ends_the_stream_with_a_connection_error() -> None:
    async with mix() as (fake, core, _, sid):
        options = RequestOptions(retries=RetryConfig(max_retries=1, initial_wait=0.01))
        async with aclosing(sessions_stream(core, {"id": sid}, options=options)) as events:
            await next_ok(events)
            await fake.stop()
            last = await asyncio.wait_for(anext(events), GUARD)
    assert isinstance(last, Err)
    assert isinstance(last.error, ConnectionError)
