"""The per-attempt deadline watchdog (Python 3.11+): few loop timers, and cancellation unchanged.

The pipeline's own timeout tests (test_faults.py, test_limits.py) check what a deadline does to a
call; these check the watchdog itself: that thousands of attempts share a handful of loop timers,
that a deadline is told apart from a caller's cancellation, and that a caller's cancellation that
meets the deadline in the same loop turn still cancels.
"""

from __future__ import annotations

import asyncio
import collections
import sys
import threading
from typing import Any

import pytest

from sessionkit import Err, Ok, RequestTimeoutError, Timeout
from sessionkit._loop import LoopRef, runs_here
from sessionkit._watchdog import WATCHDOG, Watchdog, watchdog_here
from sessionkit.jupyter import JupyterCore, sessions_get
from sessionkit.ratelimit import LocalRateLimiter
from tests.reliability.fault_server import Conn, FaultServer, Recorded, json_body

from .test_faults import SESSION_JSON

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="the watchdog needs Task.uncancel (3.11+)")


async def hang(req: Recorded, conn: Conn) -> None:
    await asyncio.Event().wait()  # never answers, and arms no timer of its own


def _scheduled(loop: asyncio.AbstractEventLoop) -> list[asyncio.TimerHandle]:
    handles: list[asyncio.TimerHandle] = loop._scheduled  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownVariableType]
    return [h for h in handles if not h.cancelled()]


def live_timers(loop: asyncio.AbstractEventLoop) -> int:
    return len(_scheduled(loop))


def timer_owners(loop: asyncio.AbstractEventLoop) -> list[tuple[str, int]]:
    """What the live timers call, most common first: says who armed them when there are too many."""
    return collections.Counter(repr(h._callback)[:100] for h in _scheduled(loop)).most_common(5)  # pyright: ignore[reportPrivateUsage, reportUnknownMemberType, reportUnknownArgumentType]


def test_the_pipeline_uses_the_watchdog_here() -> None:
    assert WATCHDOG


async def test_many_attempts_in_flight_share_a_few_loop_timers() -> None:
    loop = asyncio.get_running_loop()
    armed_before = live_timers(loop)  # the loop may be shared with tests that ran before
    async with (
        FaultServer(default=hang) as srv,
        JupyterCore(server_url=srv.url, token="t", timeout=Timeout(attempt=30.0), retries=0) as core,
    ):
        # 100: the pool's default connection limit, so every call is on the wire at once.
        calls = [asyncio.create_task(sessions_get(core, {"session": f"s-{i}"})) for i in range(100)]
        await srv.wait_until(lambda s: len(s.requests) == 100)
        # aiohttp's own `total` timeout would hold a timer per request (100 here).
        assert live_timers(loop) - armed_before <= 10, timer_owners(loop)
        for call in calls:
            call.cancel()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)  # the caller's cancel passes through
        dog = watchdog_here()
        assert not any(dog._slots.values())  # pyright: ignore[reportPrivateUsage]  # every attempt stopped watching


async def test_a_deadline_ends_every_attempt_it_holds_and_the_core_goes_on() -> None:
    async with (
        FaultServer(default=hang) as srv,
        JupyterCore(server_url=srv.url, token="t", timeout=Timeout(attempt=0.1), retries=0) as core,
    ):
        results = await asyncio.gather(*(sessions_get(core, {"session": f"s-{i}"}) for i in range(50)))
        assert all(isinstance(r, Err) and isinstance(r.error, RequestTimeoutError) for r in results)
        assert {r.error.deadline for r in results if isinstance(r, Err)} == {"attempt"}  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
        srv.default = json_body(SESSION_JSON)
        assert isinstance(await sessions_get(core, {"session": "s-ok"}), Ok)


async def _watched(dog: Watchdog, seconds: float) -> str:
    """What the pipeline does around one attempt: watch, await, tell a deadline from a cancel."""
    watch = dog.watch(seconds)
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        if watch.fired():
            return "deadline"
        raise
    finally:
        watch.done()
    return "answered"


async def test_an_expired_watch_is_a_deadline() -> None:
    dog = Watchdog(LoopRef.current())
    assert await _watched(dog, 0.01) == "deadline"
    assert not any(dog._slots.values())  # pyright: ignore[reportPrivateUsage]


async def test_a_caller_cancel_is_not_a_deadline() -> None:
    dog = Watchdog(LoopRef.current())
    task = asyncio.create_task(_watched(dog, 30.0))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not any(dog._slots.values())  # pyright: ignore[reportPrivateUsage]


@pytest.mark.parametrize("order", ["deadline-first", "cancel-first"])
async def test_a_caller_cancel_in_the_same_turn_as_the_deadline_still_cancels(order: str) -> None:
    dog = Watchdog(LoopRef.current())
    task = asyncio.create_task(_watched(dog, 30.0))
    await asyncio.sleep(0)  # the attempt is watching, and waiting

    def expire_all() -> None:
        for key in list(dog._slots):  # pyright: ignore[reportPrivateUsage]
            dog._expire(key)  # pyright: ignore[reportPrivateUsage]

    steps: list[Any] = [expire_all, task.cancel] if order == "deadline-first" else [task.cancel, expire_all]
    for step in steps:
        step()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_cancel_for_the_deadline_after_the_attempt_ended_does_nothing() -> None:
    dog = Watchdog(LoopRef.current())
    watch = dog.watch(0.01)
    watch.done()
    await asyncio.sleep(0.05)  # the slot's timer fires with nobody left in it
    assert not watch.expired


async def test_a_deadline_never_fires_early() -> None:
    loop = asyncio.get_running_loop()
    dog = Watchdog(LoopRef(loop, threading.get_ident()))
    started = loop.time()
    assert await _watched(dog, 0.05) == "deadline"
    assert loop.time() - started >= 0.05


async def test_long_deadlines_share_one_timer_a_second() -> None:
    """Past 5 s a deadline is rounded up to a whole second, as aiohttp rounds its own: a minute of
    default 60 s attempts keeps about 60 timers armed, not one per request."""
    loop = asyncio.get_running_loop()
    dog = Watchdog(LoopRef(loop, threading.get_ident()))
    armed_before = live_timers(loop)
    watches = [dog.watch(30.0 + i / 1000) for i in range(500)]  # deadlines spread over half a second
    assert live_timers(loop) - armed_before <= 2
    for watch in watches:
        watch.done()


async def fifty_gets_asking_for_the_loop(limited: bool, monkeypatch: pytest.MonkeyPatch) -> int:
    """How often 50 gets through a warm core ask asyncio for the running loop (also used on uvloop)."""
    asked = 0
    real = asyncio.get_running_loop

    def counting() -> asyncio.AbstractEventLoop:
        nonlocal asked
        asked += 1
        return real()

    limiter = LocalRateLimiter(1e6, burst=100) if limited else None
    async with (
        FaultServer(default=json_body(SESSION_JSON)) as srv,
        JupyterCore(server_url=srv.url, token="t", rate_limiter=limiter) as core,
    ):
        assert isinstance(await sessions_get(core, {"session": "warm-up"}), Ok)
        monkeypatch.setattr(asyncio, "get_running_loop", counting)
        try:
            for i in range(50):
                assert isinstance(await sessions_get(core, {"session": f"s-{i}"}), Ok)
        finally:
            monkeypatch.setattr(asyncio, "get_running_loop", real)
    return asked


@pytest.mark.parametrize("limited", [False, True], ids=["plain", "rate-limited"])
async def test_a_call_does_not_ask_asyncio_for_the_running_loop(limited: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """On 3.11 `asyncio.get_running_loop()` costs a getpid system call each time; a call through a
    warm core makes none, nor does its rate limiter (a `LoopRef` answers whether the pool, the
    watchdog and the limiter's lock belong here)."""
    assert await fifty_gets_asking_for_the_loop(limited, monkeypatch) == 0


async def _current_ref() -> LoopRef:
    return LoopRef.current()


async def test_runs_here_tells_the_running_loop_from_others() -> None:
    assert runs_here(LoopRef.current())
    idle = asyncio.new_event_loop()
    try:
        assert not runs_here(LoopRef(idle, threading.get_ident()))  # not running at all
    finally:
        idle.close()
    other = asyncio.new_event_loop()
    started = threading.Event()

    def run_other() -> None:
        other.call_soon(started.set)
        other.run_forever()

    thread = threading.Thread(target=run_other)
    thread.start()
    try:
        assert started.wait(10)
        taken_there = asyncio.run_coroutine_threadsafe(_current_ref(), other).result(10)
        assert taken_there.here() is False  # running, but in another thread
        assert not runs_here(taken_there)
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(10)
        other.close()
