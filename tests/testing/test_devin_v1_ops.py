"""Devin v1 `sessions_send_message`, `sessions_update_tags`, `sessions_terminate` and `sessions_wait`,
against `FakeDevin` (the wait on a `FakeClock`: no test waits for real time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sessionkit import Err, HookContext, Hooks, InvalidRequestError, Ok, ResponseMeta, RetryConfig
from sessionkit.devin import (
    DetailResponse,
    DevinCore,
    DevinInternalServerError,
    DevinNotFoundError,
    DevinUnprocessableEntityError,
    MessageSent,
    SessionStatus,
    sessions_create,
    sessions_get,
    sessions_send_message,
    sessions_terminate,
    sessions_update_tags,
    sessions_wait,
)
from sessionkit.testing import FakeClock, FakeDevin, Fault
from sessionkit.wait import WaitTimeoutError

KEY = "apk_test"
FAST = RetryConfig(max_retries=2, initial_wait=0.001, max_wait=0.001, jitter=False)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDevin]:
    async with FakeDevin(api_key=KEY) as server:
        yield server


async def new_session(core: DevinCore, prompt: str = "fix the build") -> str:
    return (await sessions_create(core, {"prompt": prompt})).unwrap().session_id


async def test_send_message_is_added_and_a_null_body_is_a_plain_sent(fake: FakeDevin) -> None:
    async with DevinCore(KEY, server_url=fake.url) as core:
        sid = await new_session(core)
        fake.set_status(sid, "blocked")
        sent = await sessions_send_message(core, {"session_id": sid, "message": "use pnpm"})
        session = (await sessions_get(core, {"session_id": sid})).unwrap()
    assert sent == Ok(MessageSent(detail=None))
    assert fake.requests[-2].json() == {"message": "use pnpm"}
    assert [m.type for m in session.messages] == ["initial_user_message", "user_message"]
    assert session.messages[-1].message == "use pnpm"
    assert session.status_enum is SessionStatus.WORKING, "a message wakes a blocked session"


async def test_send_message_to_a_finished_session_answers_a_detail(fake: FakeDevin) -> None:
    async with DevinCore(KEY, server_url=fake.url) as core:
        sid = await new_session(core)
        fake.set_status(sid, "finished")
        sent = (await sessions_send_message(core, {"session_id": sid, "message": "again?"})).unwrap()
    assert sent.detail is not None
    assert "finished" in sent.detail


async def test_send_message_is_not_retried(fake: FakeDevin) -> None:
    async with DevinCore(KEY, server_url=fake.url, retries=FAST) as core:
        sid = await new_session(core)
        fake.faults.push(Fault.status(503))
        result = await sessions_send_message(core, {"session_id": sid, "message": "once"})
    assert isinstance(result, Err)
    assert isinstance(result.error, DevinInternalServerError)
    assert result.error.attempts == 1
    assert [r.method for r in fake.requests].count("POST") == 2  # the create, and one message


async def test_update_tags_replaces_the_set_and_is_retried(fake: FakeDevin) -> None:
    async with DevinCore(KEY, server_url=fake.url, retries=FAST) as core:
        created = (await sessions_create(core, {"prompt": "p", "tags": ["old", "keep"]})).unwrap()
        fake.faults.push(Fault.status(503), method="PUT")
        updated = await sessions_update_tags(core, {"session_id": created.session_id, "tags": ["keep", "new"]})
        session = (await sessions_get(core, {"session_id": created.session_id})).unwrap()
    assert updated.unwrap() == DetailResponse(detail="Tags updated successfully")
    assert updated.meta is not None
    assert updated.meta.attempts == 2, "PUT is idempotent: retried"
    assert session.tags == ["keep", "new"]
    assert fake.requests[-2].json() == {"tags": ["keep", "new"]}


async def test_terminate_ends_the_session(fake: FakeDevin) -> None:
    async with DevinCore(KEY, server_url=fake.url) as core:
        sid = await new_session(core)
        ended = (await sessions_terminate(core, {"session_id": sid})).unwrap()
        session = (await sessions_get(core, {"session_id": sid})).unwrap()
    assert ended.detail == "Session terminated successfully"
    assert session.is_terminal
    assert fake.requests[-2].method == "DELETE"
    assert fake.requests[-2].body == b""


@pytest.mark.parametrize(
    "call",
    [
        lambda c: sessions_send_message(c, {"session_id": "devin-nope", "message": "hi"}),
        lambda c: sessions_update_tags(c, {"session_id": "devin-nope", "tags": []}),
        lambda c: sessions_terminate(c, {"session_id": "devin-nope"}),
    ],
    ids=["send_message", "update_tags", "terminate"],
)
async def test_an_unknown_session_is_a_typed_404(fake: FakeDevin, call: Any) -> None:
    async with DevinCore(KEY, server_url=fake.url) as core:
        result = await call(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, DevinNotFoundError)
    assert result.error.detail == "Session not found"


async def test_a_bad_body_is_refused_before_sending_and_a_422_is_typed(fake: FakeDevin) -> None:
    async with DevinCore(KEY, server_url=fake.url) as core:
        sid = await new_session(core)
        local = await sessions_update_tags(core, {"session_id": sid, "tags": "x"})  # type: ignore[typeddict-item]
        sent_before = len(fake.requests)
        fake.faults.push(Fault.status(422, body={"detail": [{"loc": ["body", "message"], "msg": "Field required"}]}))
        refused = await sessions_send_message(core, {"session_id": sid, "message": "x"})
    assert isinstance(local, Err)
    assert isinstance(local.error, InvalidRequestError)
    assert local.error.field_path == "$.tags"
    assert sent_before == 1, "nothing sent for the bad request"
    assert isinstance(refused, Err)
    assert isinstance(refused.error, DevinUnprocessableEntityError)
    assert refused.error.server_message == "body.message: Field required"


# -- sessions_wait -----------------------------------------------------------------------------------


def flip_after(fake: FakeDevin, sid: str, gets: int, status_enum: str) -> Hooks:
    """Hooks that move the session to `status_enum` once the core has read it `gets` times."""
    seen: list[int] = []

    def after(ctx: HookContext, meta: ResponseMeta, value: object) -> None:
        if ctx.operation_id == "devin.sessions.get":
            seen.append(1)
            if len(seen) == gets:
                fake.set_status(sid, status_enum)

    return Hooks(after_success=[after])


@pytest.mark.parametrize("state", ["blocked", "finished", "expired"])
async def test_wait_ends_on_each_needs_input_or_terminal_state(fake: FakeDevin, state: str) -> None:
    clock = FakeClock()
    [doc] = fake.seed_sessions(1)
    sid = doc["session_id"]
    async with DevinCore(KEY, server_url=fake.url, clock=clock, hooks=flip_after(fake, sid, 3, state)) as core:
        result = await sessions_wait(core, {"session_id": sid}, timeout=600)
    session = result.unwrap()
    assert session.status_enum == state
    assert [r.method for r in fake.requests] == ["GET"] * 4  # three times working, then the state
    assert len(clock.sleeps) == 3
    assert sum(clock.sleeps) < 600


async def test_wait_until_only_finished_polls_past_blocked(fake: FakeDevin) -> None:
    clock = FakeClock()
    [doc] = fake.seed_sessions(1, status_enum="blocked", status="blocked")
    sid = doc["session_id"]
    async with DevinCore(KEY, server_url=fake.url, clock=clock, hooks=flip_after(fake, sid, 2, "finished")) as core:
        result = await sessions_wait(core, {"session_id": sid}, until={SessionStatus.FINISHED}, timeout=600)
    assert result.unwrap().status_enum is SessionStatus.FINISHED
    assert len(fake.requests) == 3


async def test_wait_times_out_naming_the_last_status_enum(fake: FakeDevin) -> None:
    clock = FakeClock()
    [doc] = fake.seed_sessions(1)
    async with DevinCore(KEY, server_url=fake.url, clock=clock) as core:
        result = await sessions_wait(core, {"session_id": doc["session_id"]}, timeout=60, interval=5)
    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, WaitTimeoutError)
    assert "status_enum=working" in error.message
    assert error.last is not None
    assert error.last.status_enum is SessionStatus.WORKING
    assert sum(clock.sleeps) == pytest.approx(60), "never sleeps past the deadline"
    assert error.operation_id == "devin.sessions.wait"


async def test_wait_returns_a_failed_poll_at_once(fake: FakeDevin) -> None:
    clock = FakeClock()
    async with DevinCore(KEY, server_url=fake.url, clock=clock) as core:
        result = await sessions_wait(core, {"session_id": "devin-gone"}, timeout=60)
    assert isinstance(result, Err)
    assert isinstance(result.error, DevinNotFoundError)
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [({"until": {"finish"}}, "until"), ({"until": set()}, "until"), ({"timeout": 0}, "timeout"),
     ({"interval": -1}, "interval")],
)  # fmt: skip
async def test_bad_wait_arguments_are_invalid_requests(fake: FakeDevin, kwargs: dict[str, Any], path: str) -> None:
    async with DevinCore(KEY, server_url=fake.url) as core:
        result = await sessions_wait(core, {"session_id": "devin-x"}, **kwargs)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == path
    assert fake.requests == []


async def test_wait_takes_plain_strings_and_one_string(fake: FakeDevin) -> None:
    [doc] = fake.seed_sessions(1, status_enum="expired", status="expired")
    async with DevinCore(KEY, server_url=fake.url, clock=FakeClock()) as core:
        as_set = await sessions_wait(core, {"session_id": doc["session_id"]}, until=frozenset({"expired"}))
        as_one = await sessions_wait(core, {"session_id": doc["session_id"]}, until="expired")
    assert as_set.unwrap().status_enum is SessionStatus.EXPIRED
    assert as_one.unwrap().status_enum is SessionStatus.EXPIRED
