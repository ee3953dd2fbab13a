"""`sessions_run` against FakeMix's agent: a turn whose questions are answered by callbacks, the
default policy, a callback that raises, a drop mid-turn, the deadline, and 100 turns at once.

Every wait is guarded with `asyncio.wait_for(GUARD)` so a hang fails the test; the backoff between
reconnects runs on a `FakeClock` where a test does not need real time to pass.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

import sessionkit
from sessionkit import Err, InvalidRequestError, Ok, RequestOptions, RequestTimeoutError, Timeout
from sessionkit.mix import (
    MixCore,
    NotificationEvent,
    PermissionEvent,
    RunTurnRequest,
    Turn,
    TurnMessage,
    sessions_run,
)
from sessionkit.testing import (
    AskNotification,
    AskPermission,
    AwaitReconnect,
    DropStream,
    FakeClock,
    FakeMix,
    Pause,
    RunTool,
    Say,
)

GUARD = 30.0


@asynccontextmanager
async def mix(**core_options: Any) -> AsyncIterator[tuple[FakeMix, MixCore, str]]:
    """A 0.11.4 fake with one session, and a core on a fake clock (reconnect waits take no time)."""
    core_options.setdefault("clock", FakeClock())
    async with FakeMix(version="0.11.4") as fake, MixCore(fake.url, **core_options) as core:
        [session] = fake.seed_sessions(1)
        yield fake, core, session["id"]


def answers_per_question(fake: FakeMix) -> Counter[str]:
    """How many answers (requests, accepted or not) each question got."""
    paths = [r.path for r in fake.requests if r.path.startswith(("/api/permissions/", "/api/notifications/"))]
    return Counter(path.split("/")[3] for path in paths)


def turn_of(result: Any) -> Turn:
    assert isinstance(result, Ok), result
    turn = result.value
    assert isinstance(turn, Turn)
    return turn


async def test_two_permissions_and_a_notification_are_answered_by_the_callbacks() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(
            sid,
            AskPermission("Bash", description="List the files"),
            AskPermission("Write", action="write", path="/etc/hosts"),
            AskNotification(title="Which branch?", response_type="choice", choices=("main", "dev")),
            Say("All done."),
        )
        asked: list[Any] = []

        async def on_permission(event: PermissionEvent) -> bool:
            asked.append(event)
            return event.tool_name == "Bash"  # run the listing, refuse the write

        async def on_notification(event: NotificationEvent) -> str:
            asked.append(event)
            return "dev"

        request = {"id": sid, "message": {"text": "tidy up", "max_steps": 5}}
        turn = turn_of(
            await asyncio.wait_for(
                sessions_run(core, request, on_permission=on_permission, on_notification=on_notification), GUARD
            )
        )
    assert turn.ended == "complete"
    assert turn.text == "(You answered: dev) All done."
    assert [(q.kind, q.answer, q.value, q.by, q.delivered) for q in turn.questions] == [
        ("permission", "grant", None, "callback", True),
        ("permission", "deny", None, "callback", True),
        ("notification", "choice", "dev", "callback", True),
    ]
    assert [q.event for q in turn.questions] == asked
    assert [(a["kind"], a["answer"], a.get("value")) for a in fake.answers] == [
        ("permission", "grant", None),
        ("permission", "deny", None),
        ("notification", "choice", "dev"),
    ]
    assert [(t.name, t.success, t.is_error) for t in turn.tool_uses] == [("Bash", True, False), ("Write", False, True)]
    assert not turn.defaulted
    assert [m.role.value for m in turn.messages] == ["assistant"]
    assert turn.messages[0].assistant_response == turn.text
    assert turn.user_message_id == fake.messages(sid)[0]["id"]
    assert (turn.reconnects, turn.problems, turn.cancelled_on_server) == (0, [], False)
    assert fake.requests[0].path == "/stream"  # the stream first, then the message
    assert fake.requests[1].json() == {"text": "tidy up", "max_steps": 5}
    assert max(answers_per_question(fake).values()) == 1


async def test_without_callbacks_permissions_are_denied_and_notifications_acknowledged() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(sid, AskPermission(), AskNotification(response_type="text"), Say("Stopped."))
        turn = turn_of(
            await asyncio.wait_for(sessions_run(core, RunTurnRequest(id=sid, message=TurnMessage(text="go"))), GUARD)
        )
    assert turn.ended == "complete"
    assert turn.defaulted
    assert [(q.answer, q.by, q.delivered) for q in turn.questions] == [
        ("deny", "default", True),
        ("acknowledge", "default", True),
    ]
    assert [(a["kind"], a["answer"]) for a in fake.answers] == [("permission", "deny"), ("notification", "acknowledge")]


async def test_a_callback_that_raises_denies_and_ends_the_turn_in_err() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(sid, AskPermission(), AskPermission("Write"), Say("never said"))
        boom = ValueError("the reviewer is away")

        async def on_permission(event: PermissionEvent) -> bool:
            raise boom

        result = await asyncio.wait_for(
            sessions_run(core, {"id": sid, "message": {"text": "go"}}, on_permission=on_permission), GUARD
        )
        assert isinstance(result, Err), result
        error = result.error
        assert isinstance(error, InvalidRequestError)
        assert (error.field_path, error.cause, error.operation_id) == ("on_permission", boom, "mix.sessions.run")
        assert "ValueError: the reviewer is away" in error.message
        assert [(a["kind"], a["answer"]) for a in fake.answers] == [("permission", "deny")]
        assert fake.requests[-1].path == f"/api/sessions/{sid}/cancel"  # the turn was stopped on the server
        await asyncio.wait_for(fake.wait_for_streams(sid, 0), GUARD)  # and its stream closed
        assert fake.pending_questions() == []  # the second permission was never asked: nothing hangs
        last = fake.messages(sid)[-1]
        assert last["role"] == "assistant"


async def test_a_notification_callback_that_answers_nonsense_acknowledges_and_ends_in_err() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(sid, AskNotification(response_type="choice", choices=("a", "b")))

        async def on_notification(event: NotificationEvent) -> str:
            return "c"  # not one of the choices

        result = await asyncio.wait_for(
            sessions_run(core, {"id": sid, "message": {"text": "go"}}, on_notification=on_notification), GUARD
        )
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "on_notification"
    assert "not one of the choices" in result.error.message
    assert [(a["kind"], a["answer"]) for a in fake.answers] == [("notification", "acknowledge")]


@pytest.mark.parametrize("verdict", ["yes", 1, None])
async def test_a_permission_callback_must_answer_a_bool(verdict: Any) -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(sid, AskPermission())

        async def on_permission(event: PermissionEvent) -> Any:
            return verdict

        result = await asyncio.wait_for(
            sessions_run(core, {"id": sid, "message": {"text": "go"}}, on_permission=on_permission), GUARD
        )
    assert isinstance(result, Err), result
    assert result.error.field_path == "on_permission"
    assert [a["answer"] for a in fake.answers] == ["deny"]


async def test_a_drop_mid_turn_misses_nothing_and_answers_nothing_twice() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(
            sid,
            AskPermission("Bash"),
            DropStream(),  # what follows, until the client is back, is lost to its stream
            Say("Said while nobody listened."),
            RunTool("Grep", result="3 matches"),
            AwaitReconnect(),
            AskPermission("Write"),
            AskNotification(response_type="text"),
            Say("Back again."),
        )
        seen: Counter[str] = Counter()

        async def on_permission(event: PermissionEvent) -> bool:
            seen[event.id] += 1
            return True

        async def on_notification(event: NotificationEvent) -> str:
            seen[event.id] += 1
            return "fine"

        turn = turn_of(
            await asyncio.wait_for(
                sessions_run(
                    core,
                    {"id": sid, "message": {"text": "go"}},
                    on_permission=on_permission,
                    on_notification=on_notification,
                ),
                GUARD,
            )
        )
    assert turn.ended == "complete"
    assert turn.reconnects == 1
    grep = next(t for t in turn.tool_uses if t.name == "Grep")  # it ran while the stream was down
    assert (grep.success, grep.result) == (True, "3 matches")
    assert [t.name for t in turn.tool_uses] == ["Bash", "Grep", "Write"]
    assert "Said while nobody listened." in turn.messages[-1].assistant_response  # type: ignore[operator]
    assert "Said while nobody listened." in turn.text
    assert set(seen.values()) == {1}
    assert len(seen) == 3
    assert set(answers_per_question(fake).values()) == {1}
    assert len(fake.answers) == 3


async def test_a_turn_that_ends_while_the_stream_is_down_is_found_through_the_session() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(sid, AskPermission(), DropStream(), RunTool("Read"), Say("Finished in the dark."))

        async def on_permission(event: PermissionEvent) -> bool:
            return True

        turn = turn_of(
            await asyncio.wait_for(
                sessions_run(core, {"id": sid, "message": {"text": "go"}}, on_permission=on_permission), GUARD
            )
        )
    assert turn.ended == "complete"  # its `complete` was lost; the export's finishReason says it ended
    assert turn.text == "Finished in the dark."
    assert turn.reconnects == 1
    assert [t.name for t in turn.tool_uses] == ["Bash", "Read"]
    assert not turn.cancelled_on_server


async def test_a_permission_asked_again_is_answered_once() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(sid, AskPermission(), Say("Done."))
        calls = 0

        async def on_permission(event: PermissionEvent) -> bool:
            nonlocal calls
            calls += 1
            fake.emit(sid, "permission", {"type": "permission", **_wire(event)})  # a server that repeats itself
            return True

        turn = turn_of(
            await asyncio.wait_for(
                sessions_run(core, {"id": sid, "message": {"text": "go"}}, on_permission=on_permission), GUARD
            )
        )
    assert turn.ended == "complete"
    assert calls == 1
    assert len(turn.questions) == 1
    assert set(answers_per_question(fake).values()) == {1}


def _wire(event: PermissionEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "sessionId": event.session_id,
        "toolName": event.tool_name,
        "description": event.description,
        "action": event.action,
    }


async def test_a_stream_the_server_ends_cleanly_is_opened_again() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(sid, AskPermission(), Pause(0.05), Say("Still here."))

        async def on_permission(event: PermissionEvent) -> bool:
            fake.end_streams(sid)  # the server closes the response after this event
            return True

        turn = turn_of(
            await asyncio.wait_for(
                sessions_run(core, {"id": sid, "message": {"text": "go"}}, on_permission=on_permission), GUARD
            )
        )
    assert turn.ended == "complete"
    assert turn.reconnects == 1
    assert turn.text == "Still here."


async def test_the_deadline_cancels_the_turn_on_the_server() -> None:
    # A real clock and a short real deadline: the agent works for a minute.
    async with FakeMix(version="0.11.4") as fake, MixCore(fake.url) as core:
        [session] = fake.seed_sessions(1)
        sid = session["id"]
        fake.script_turn(sid, Say("Starting."), Pause(60))
        options = RequestOptions(timeout=Timeout(total=1.0))
        turn = turn_of(
            await asyncio.wait_for(sessions_run(core, {"id": sid, "message": {"text": "go"}}, options=options), GUARD)
        )
        assert turn.ended == "deadline"
        assert turn.cancelled_on_server
        assert turn.cancel_error is None
        cancel, listed = fake.requests[-2:]  # the cancel, then what the turn did (within the reserve)
        assert (cancel.method, cancel.path) == ("POST", f"/api/sessions/{sid}/cancel")
        assert (listed.method, listed.path) == ("GET", f"/api/sessions/{sid}/messages")
        assert [m.assistant_response for m in turn.messages] == ["Starting."]
        # The fake's turn was stopped: the session takes a new message at once.
        again = turn_of(await asyncio.wait_for(sessions_run(core, {"id": sid, "message": {"text": "again"}}), GUARD))
        assert again.ended == "complete"


async def test_the_deadline_while_a_callback_thinks_sends_no_answer() -> None:
    async with FakeMix(version="0.11.4") as fake, MixCore(fake.url) as core:
        [session] = fake.seed_sessions(1)
        sid = session["id"]
        fake.script_turn(sid, AskPermission())

        async def on_permission(event: PermissionEvent) -> bool:
            await asyncio.sleep(60)
            return True

        options = RequestOptions(timeout=Timeout(total=1.0))
        turn = turn_of(
            await asyncio.wait_for(
                sessions_run(
                    core, {"id": sid, "message": {"text": "go"}}, on_permission=on_permission, options=options
                ),
                GUARD,
            )
        )
        assert turn.ended == "deadline"
        assert [(q.answer, q.by, q.delivered) for q in turn.questions] == [(None, "deadline", False)]
        assert fake.answers == []
        assert turn.cancelled_on_server
        assert fake.pending_questions() == []  # the cancelled turn took its question with it


async def test_a_hundred_turns_at_once_on_a_hundred_sessions() -> None:
    # The default pool (100 connections): each turn holds one for its stream, so at most 50 run at once.
    async with FakeMix(version="0.11.4") as fake, MixCore(fake.url, clock=FakeClock()) as core:
        sessions = fake.seed_sessions(100)
        for session in sessions:
            fake.script_turn(session["id"], AskPermission(), AskNotification(response_type="text"), Say("ok"))

        async def on_permission(event: PermissionEvent) -> bool:
            return True

        async def on_notification(event: NotificationEvent) -> str:
            return event.session_id

        turns = await asyncio.wait_for(
            asyncio.gather(
                *(
                    sessions_run(
                        core,
                        {"id": s["id"], "message": {"text": f"job {i}"}},
                        on_permission=on_permission,
                        on_notification=on_notification,
                    )
                    for i, s in enumerate(sessions)
                )
            ),
            GUARD * 4,
        )
    done = [turn_of(t) for t in turns]
    assert {t.ended for t in done} == {"complete"}
    assert [t.session_id for t in done] == [s["id"] for s in sessions]
    assert all(t.text == f"(You answered: {t.session_id}) ok" for t in done)
    assert len(fake.answers) == 200
    assert set(answers_per_question(fake).values()) == {1}
    assert {a["session_id"] for a in fake.answers} == {s["id"] for s in sessions}


async def test_cancelling_the_call_closes_the_stream_and_leaves_no_task() -> None:
    async with mix() as (fake, core, sid):
        fake.script_turn(sid, AskPermission())
        entered = asyncio.Event()

        async def on_permission(event: PermissionEvent) -> bool:
            entered.set()
            await asyncio.sleep(60)
            return True

        before = asyncio.all_tasks()
        task = asyncio.ensure_future(
            sessions_run(core, {"id": sid, "message": {"text": "go"}}, on_permission=on_permission)
        )
        await asyncio.wait_for(entered.wait(), GUARD)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(fake.wait_for_streams(sid, 0), GUARD)
        leftover = [t for t in asyncio.all_tasks() - before - {task} if _client_side(t)]
        assert leftover == []
        assert fake.answers == []


PACKAGE = Path(sessionkit.__file__).parent


def _client_side(task: asyncio.Task[Any]) -> bool:
    """Whether a task runs sessionkit's own code (not the fake's, nor aiohttp's server)."""
    code = getattr(task.get_coro(), "cr_code", None)
    path = Path(code.co_filename) if code is not None else Path()
    return path.is_relative_to(PACKAGE) and not path.is_relative_to(PACKAGE / "testing")


async def test_a_session_the_stream_refuses_is_an_invalid_request_and_nothing_is_sent() -> None:
    async with mix() as (fake, core, _):
        result = await asyncio.wait_for(sessions_run(core, {"id": "nope", "message": {"text": "go"}}), GUARD)
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "$.id"
    assert "Invalid session ID: nope" in result.error.message
    assert [r.path for r in fake.requests] == ["/stream"]


@pytest.mark.parametrize(
    ("request_", "path"),
    [
        ({"id": "s", "mesage": {"text": "x"}}, "$"),
        ({"id": "s"}, "$.message"),
        ({"id": "s", "message": {"text": "x", "max_steps": 0}}, "$.message.max_steps"),
        ({"id": "", "message": {"text": "x"}}, "$.id"),
        ("s", "$"),
    ],
)
async def test_bad_input_sends_nothing(request_: Any, path: str) -> None:
    async with mix() as (fake, core, _):
        result = await sessions_run(core, request_)
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path.startswith(path)
    assert fake.requests == []


async def test_bad_callbacks_and_options_send_nothing() -> None:
    async with mix() as (fake, core, sid):
        request = {"id": sid, "message": {"text": "x"}}
        not_callable = await sessions_run(core, request, on_permission="yes")  # type: ignore[arg-type]
        bad_options = await sessions_run(core, request, options="fast")  # type: ignore[arg-type]
    assert isinstance(not_callable, Err)
    assert not_callable.error.field_path == "on_permission"
    assert isinstance(bad_options, Err)
    assert bad_options.error.field_path == "options"
    assert fake.requests == []


async def test_a_stalled_stream_before_the_message_is_a_timeout_and_nothing_is_sent() -> None:
    from sessionkit.testing import Fault

    async with FakeMix(version="0.11.4") as fake, MixCore(fake.url) as core:
        [session] = fake.seed_sessions(1)
        fake.faults.push(Fault.delay(30), times=None, path="/stream")  # the stream never answers
        options = RequestOptions(timeout=Timeout(attempt=0.2, total=1.0), retries=1)
        result = await asyncio.wait_for(
            sessions_run(core, {"id": session["id"], "message": {"text": "go"}}, options=options), GUARD
        )
    assert isinstance(result, Err), result
    assert isinstance(result.error, RequestTimeoutError)
    assert all(r.path == "/stream" for r in fake.requests)  # the message was never sent
