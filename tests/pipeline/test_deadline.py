"""`Deadline`: the one deadline of a call, and `within`, which bounds any await by it, on both paths
(the loop's watchdog on 3.11+, and the Python 3.10 path, forced here on any version)."""

from __future__ import annotations

import asyncio

import pytest

from sessionkit import Timeout, _deadline
from sessionkit._deadline import Deadline, DeadlinePassed
from sessionkit.testing import FakeClock


@pytest.fixture(params=["watchdog", "3.10"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "3.10":
        monkeypatch.setattr(_deadline, "WATCHDOG", False)
    elif not _deadline.WATCHDOG:
        pytest.skip("the watchdog needs Task.uncancel (Python 3.11+)")
    return str(request.param)


async def test_an_await_that_ends_in_time_gives_its_value(path: str) -> None:
    deadline = Deadline(Timeout(attempt=5.0, total=10.0), FakeClock())
    assert await deadline.within(asyncio.sleep(0, result="done"), 1.0) == "done"


@pytest.mark.parametrize(("silence", "which"), [(0.02, "attempt"), (None, "total")])
async def test_an_await_past_its_bound_raises_saying_whose(path: str, silence: float | None, which: str) -> None:
    clock = FakeClock()
    deadline = Deadline(Timeout(attempt=None, total=0.05 if silence is None else 60.0), clock)
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    with pytest.raises(DeadlinePassed) as caught:
        await deadline.within(never, silence)
    assert caught.value.which == which
    assert never.cancelled()  # the await it bounded is cancelled, not left behind


async def test_a_passed_deadline_refuses_at_once_and_awaits_nothing(path: str) -> None:
    clock = FakeClock()
    deadline = Deadline(Timeout(total=1.0), clock)
    clock.advance(2.0)
    ran: list[str] = []

    async def work() -> None:
        ran.append("ran")

    with pytest.raises(DeadlinePassed):
        await deadline.within(work())
    assert ran == []  # closed, never started ("never awaited" would be a warning, an error here)


async def test_a_lock_taken_as_the_time_runs_out_is_not_lost(path: str) -> None:
    """The 3.10 path must not drop a result that arrives with the timeout (asyncio.wait_for there
    can): whatever happens, the lock ends up released or handed to the caller, never leaked."""
    lock = asyncio.Lock()
    deadline = Deadline(Timeout(total=60.0), FakeClock())
    for _ in range(50):
        await lock.acquire()
        loop = asyncio.get_running_loop()
        loop.call_later(0.001, lock.release)  # released about when the bound below runs out
        try:
            await deadline.within(lock.acquire(), 0.001)
        except DeadlinePassed:
            pass
        else:
            lock.release()
        await asyncio.sleep(0.005)
        assert not lock.locked()


async def test_the_callers_cancellation_passes_through(path: str) -> None:
    deadline = Deadline(Timeout(total=60.0), FakeClock())
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiting = asyncio.ensure_future(deadline.within(never, 30.0))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert never.cancelled()
