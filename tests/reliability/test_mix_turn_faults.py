"""`sessions_run` against a server that misbehaves: an endless turn, events that do not decode, a
question that cannot be answered, answers the server refuses, a stream that stalls or dies for
good, the agent's own errors, a deleted session, and secrets in what the server sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sessionkit import (
    ConnectionError,
    Err,
    InternalServerError,
    Ok,
    RequestOptions,
    ResponseValidationError,
    RetryConfig,
    Timeout,
)
from sessionkit.mix import MixCore, PermissionEvent, Turn, permissions_grant, sessions_delete, sessions_run
from sessionkit.testing import AskPermission, FakeClock, FakeMix, Fault, Pause, Say

GUARD = 30.0
SECRET = "s3cr3t-mix-k3y-7f3a"
GO = {"message": {"text": "go"}}


@asynccontextmanager
async def mix(**core_options: Any) -> AsyncIterator[tuple[FakeMix, MixCore, str]]:
    core_options.setdefault("clock", FakeClock())
    async with FakeMix(version="0.11.4") as fake, MixCore(fake.url, **core_options) as core:
        [session] = fake.seed_sessions(1)
        yield fake, core, session["id"]


def turn_of(result: Any) -> Turn:
    assert isinstance(result, Ok), result
    assert isinstance(result.value, Turn)
    return result.value


def cancelled(fake: FakeMix, sid: str) -> bool:
    return any(r.method == "POST" and r.path == f"/api/sessions/{sid}/cancel" for r in fake.requests)


async def test_an_endless_turn_stops_at_the_cores_size_cap_and_is_cancelled() -> None:
    async with mix(max_response_bytes=20_000) as (fake, core, sid):
        fake.script_turn(sid, Say("word " * 5_000), Pause(60))  # ~300 KB of content events
        result = await asyncio.wait_for(sessions_run(core, {"id": sid, **GO}), GUARD)
    assert isinstance(result, Err), result
    assert isinstance(result.error, ResponseValidationError)
    assert "max_response_bytes (20000 bytes)" in result.error.message
    assert cancelled(fake, sid)


async def test_events_that_do_not_decode_are_problems_and_the_turn_goes_on() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(sid, AskPermission(), Say("done"))

        async def on_permission(event: PermissionEvent) -> bool:
            fake.emit(sid, "permission", {"type": "permission", "toolName": "Bash"})  # no id, no description
            fake.emit(sid, "tool_use_start", "not an object")
            return True

        turn = turn_of(
            await asyncio.wait_for(sessions_run(core, {"id": sid, **GO}, on_permission=on_permission), GUARD)
        )
    assert turn.ended == "complete"
    assert len(turn.problems) == 2
    assert "permission event" in turn.problems[0]
    assert len(turn.questions) == 1


async def test_a_question_whose_id_cannot_be_sent_ends_the_turn() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(sid, Pause(0.2), Say("never"))

        async def emit_soon() -> None:
            await fake.wait_for_streams(sid)
            await asyncio.sleep(0.05)
            fake.emit(sid, "permission", {"type": "permission", "id": "", "sessionId": sid, "toolName": "Bash",
                                          "description": "d", "action": "a"})  # fmt: skip

        emitter = asyncio.ensure_future(emit_soon())
        result = await asyncio.wait_for(sessions_run(core, {"id": sid, **GO}), GUARD)
        await emitter
    assert isinstance(result, Err), result
    assert isinstance(result.error, ResponseValidationError)
    assert "cannot be answered" in result.error.message
    assert cancelled(fake, sid)


async def test_an_answer_the_server_refuses_ends_the_turn_and_cancels_it() -> None:
    async with mix(retries=0) as (fake, core, sid):
        fake.script_turn(sid, AskPermission())
        fake.faults.push(Fault.status(500), times=None, path="/api/permissions/*")
        result = await asyncio.wait_for(sessions_run(core, {"id": sid, **GO}), GUARD)
    assert isinstance(result, Err), result
    assert isinstance(result.error, InternalServerError)
    assert cancelled(fake, sid)
    assert fake.pending_questions() == []


async def test_a_question_someone_else_answered_is_not_delivered_and_the_turn_goes_on() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(sid, AskPermission(), Say("done"))

        async def on_permission(event: PermissionEvent) -> bool:
            assert isinstance(await permissions_grant(core, {"id": event.id}), Ok)  # the desktop app was faster
            return False

        turn = turn_of(
            await asyncio.wait_for(sessions_run(core, {"id": sid, **GO}, on_permission=on_permission), GUARD)
        )
    assert turn.ended == "complete"
    assert [(q.answer, q.delivered) for q in turn.questions] == [("deny", False)]
    assert [a["answer"] for a in fake.answers] == ["grant"]


async def test_a_stream_that_dies_for_good_ends_the_turn_with_its_error() -> None:
    async with mix(retries=RetryConfig(max_retries=2)) as (fake, core, sid):
        fake.script_turn(sid, AskPermission(), Pause(0.5), Say("late"))

        async def on_permission(event: PermissionEvent) -> bool:
            fake.faults.push(Fault.reset(), times=None, path="/stream")  # every reconnection is refused
            fake.drop_streams(sid)
            return True

        result = await asyncio.wait_for(sessions_run(core, {"id": sid, **GO}, on_permission=on_permission), GUARD)
    assert isinstance(result, Err), result
    assert isinstance(result.error, ConnectionError)
    assert sum(r.path == "/stream" for r in fake.requests) == 1 + 3  # the first, then 3 refused attempts
    assert cancelled(fake, sid)


async def test_a_stall_mid_turn_reconnects_and_the_turn_goes_on() -> None:
    # One silence longer than the per-attempt timeout: the stream is opened again, the turn goes on.
    async with mix(timeout=Timeout(attempt=0.3), retries=RetryConfig(max_retries=5)) as (fake, core, sid):
        fake.script_turn(sid, Say("before"), Pause(0.45), Say("after"))
        turn = turn_of(await asyncio.wait_for(sessions_run(core, {"id": sid, **GO}), GUARD))
    assert turn.ended == "complete"
    assert turn.reconnects >= 1
    assert turn.text == "before after"


async def test_the_agents_retried_errors_go_on_and_its_last_one_ends_the_turn() -> None:
    async with mix() as (fake, _, sid):
        fake.script_turn(sid, Pause(60))

        async def agent() -> None:
            await fake.wait_for_streams(sid)
            await asyncio.sleep(0.05)
            fake.emit(sid, "error", {"error": "overloaded", "attempt": 1, "maxAttempts": 3, "retryAfter": 100})
            fake.emit(sid, "rate_limit_error", {"type": "rate_limit_error", "error": "slow down", "retryAfter": 60})
            fake.emit(sid, "error", {"type": "error", "error": f"gave up (key {SECRET})"})

        driver = asyncio.ensure_future(agent())
        secret_core = MixCore(fake.url, headers={"X-Api-Key": SECRET}, secret_headers=["X-Api-Key"], clock=FakeClock())
        async with secret_core:
            turn = turn_of(await asyncio.wait_for(sessions_run(secret_core, {"id": sid, **GO}), GUARD))
        await driver
    assert turn.ended == "error"
    assert turn.error is not None
    assert "gave up" in turn.error
    assert SECRET not in turn.error


async def test_a_callback_error_that_quotes_a_secret_is_scrubbed() -> None:
    async with mix(headers={"X-Api-Key": SECRET}, secret_headers=["X-Api-Key"]) as (fake, core, sid):
        fake.script_turn(sid, AskPermission())

        async def on_permission(event: PermissionEvent) -> bool:
            raise RuntimeError(f"could not reach the reviewer with {SECRET}")

        result = await asyncio.wait_for(sessions_run(core, {"id": sid, **GO}, on_permission=on_permission), GUARD)
    assert isinstance(result, Err), result
    assert SECRET not in result.error.message
    assert SECRET not in repr(result.error)
    assert SECRET not in str(getattr(result.error, "cause", ""))


async def test_a_session_deleted_mid_turn_ends_it_as_cancelled() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(sid, AskPermission(), Pause(60))

        async def on_permission(event: PermissionEvent) -> bool:
            assert isinstance(await sessions_delete(core, {"id": sid}), Ok)
            return True

        turn = turn_of(
            await asyncio.wait_for(sessions_run(core, {"id": sid, **GO}, on_permission=on_permission), GUARD)
        )
    assert turn.ended == "cancelled"
    assert turn.error == "the session was deleted during the turn"
    assert any("404" in p for p in turn.problems)  # its messages could not be read any more


async def test_a_deadline_shorter_than_the_cancel_reserve_still_holds() -> None:
    # A real clock: 0.5 s in all, of which a tenth is kept for the cancel.
    async with FakeMix(version="0.11.4") as fake, MixCore(fake.url) as core:
        [session] = fake.seed_sessions(1)
        fake.script_turn(session["id"], Pause(60))
        options = RequestOptions(timeout=Timeout(total=0.5))
        turn = turn_of(await asyncio.wait_for(sessions_run(core, {"id": session["id"], **GO}, options=options), GUARD))
    assert turn.ended == "deadline"
    assert turn.cancelled_on_server
