"""`sessions_wait_ready` on `FakeJupyter` and `FakeClock`: virtual time only, no wall-time bounds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sessionkit import Err, InvalidRequestError, NotFoundError, Ok
from sessionkit.jupyter import (
    GetSessionRequest,
    JupyterCore,
    Session,
    sessions_create,
    sessions_delete,
    sessions_wait_ready,
)
from sessionkit.testing import FakeClock, FakeJupyter
from sessionkit.wait import WaitTimeoutError

TOKEN = "t"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeJupyter]:
    async with FakeJupyter(token=TOKEN, clock=clock) as server:
        yield server


@pytest.fixture
async def core(fake: FakeJupyter, clock: FakeClock) -> AsyncIterator[JupyterCore]:
    async with JupyterCore(server_url=fake.url, token=TOKEN, clock=clock) as c:
        yield c


async def new_session(core: JupyterCore) -> Session:
    return (await sessions_create(core, {"path": "a.ipynb"})).unwrap()


def session_gets(fake: FakeJupyter) -> int:
    return sum(r.method == "GET" and r.path.startswith("/api/sessions/") for r in fake.requests)


async def test_ready_after_polls(fake: FakeJupyter, core: JupyterCore, clock: FakeClock) -> None:
    fake.kernel_ready_after_polls = 2
    session = await new_session(core)
    result = await sessions_wait_ready(core, {"session": session.id})
    assert isinstance(result, Ok), result
    assert result.value.kernel is not None
    assert result.value.kernel.execution_state == "idle"
    assert session_gets(fake) == 3
    assert len(clock.sleeps) == 2  # one pause between polls, none after the last


async def test_ready_after_a_delay_on_the_clock(fake: FakeJupyter, core: JupyterCore, clock: FakeClock) -> None:
    fake.kernel_ready_after = 4.0
    session = await new_session(core)
    started = clock.now
    result = await sessions_wait_ready(core, GetSessionRequest(session=session.id), interval=1.0)
    assert isinstance(result, Ok), result
    assert result.value.kernel is not None
    assert result.value.kernel.execution_state == "idle"
    assert clock.now - started >= 4.0
    assert sum(clock.sleeps) == pytest.approx(clock.now - started)


async def test_a_kernel_nobody_attaches_to_times_out_with_the_last_session(
    fake: FakeJupyter, core: JupyterCore, clock: FakeClock
) -> None:
    session = await new_session(core)  # the fake, like the real server, keeps it "starting"
    started = clock.now
    result = await sessions_wait_ready(core, {"session": session.id}, timeout=20, interval=1)
    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, WaitTimeoutError)
    assert error.operation_id == "jupyter.sessions.get"
    assert "execution_state=starting" in error.message
    assert isinstance(error.last, Session)
    assert error.last.id == session.id
    assert error.polls == session_gets(fake) > 2
    assert clock.now - started == pytest.approx(20)  # never sleeps past the deadline
    assert max(clock.sleeps) <= 5.0  # the pauses grow to 5 s at most


@pytest.mark.parametrize("state", ["idle", "busy", "dead"])
async def test_a_started_kernel_ends_the_wait_at_the_first_poll(
    fake: FakeJupyter, core: JupyterCore, clock: FakeClock, state: str
) -> None:
    session = await new_session(core)
    assert session.kernel is not None
    fake.set_execution_state(session.kernel.id, state)
    result = await sessions_wait_ready(core, {"session": session.id})
    assert isinstance(result, Ok), result
    assert result.value.kernel is not None
    assert result.value.kernel.execution_state == state  # "dead" ends it too: check it
    assert clock.sleeps == []


async def test_a_session_that_is_gone_ends_the_wait_with_the_polls_error(core: JupyterCore, clock: FakeClock) -> None:
    session = await new_session(core)
    (await sessions_delete(core, {"session": session.id})).unwrap()
    result = await sessions_wait_ready(core, {"session": session.id})
    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("timeout", "interval", "field"),
    [(0.0, 0.5, "timeout"), (60.0, -1.0, "interval"), (float("nan"), 0.5, "timeout")],
)
async def test_bad_timings_are_invalid_requests_and_nothing_is_sent(
    fake: FakeJupyter, core: JupyterCore, timeout: float, interval: float, field: str
) -> None:
    request = GetSessionRequest(session="00000000-0000-0000-0000-000000000000")
    result = await sessions_wait_ready(core, request, timeout=timeout, interval=interval)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == field
    assert fake.requests == []


async def test_a_misspelled_request_key_is_an_invalid_request(fake: FakeJupyter, core: JupyterCore) -> None:
    result = await sessions_wait_ready(core, {"sesion": "x"})  # pyright: ignore[reportArgumentType]
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert fake.requests == []
