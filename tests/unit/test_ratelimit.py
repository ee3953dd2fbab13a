"""`sessionkit.ratelimit`: GCRA, the in-process limiter, and the core's `rate_limiter=` hook.

Time is a `FakeClock` throughout: every wait is read from `clock.sleeps`, never from the wall.
"""

from __future__ import annotations

import asyncio
import math

import pytest

from sessionkit import RequestTimeoutError, RetryConfig, Timeout
from sessionkit.orq import OrqCore, sessions_get
from sessionkit.ratelimit import Gcra, LocalRateLimiter, RateLimiter, Refusal
from sessionkit.result import Err, Ok
from sessionkit.testing import FakeClock, FakeOrq, Fault

KEY = "fake-orq-key"


def test_gcra_reserve_spaces_starts_and_restarts_from_now_after_idle() -> None:
    gcra = Gcra(10.0)
    assert [gcra.reserve(0.0) for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])
    assert gcra.reserve(5.0) == 5.0  # idle time is not banked
    assert gcra.reserve(5.0) == pytest.approx(5.1)


def test_gcra_burst_admits_that_many_at_once_then_the_rate() -> None:
    gcra = Gcra(10.0, burst=3)
    assert [gcra.reserve(0.0) for _ in range(5)] == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2])


def test_gcra_take_admits_or_tells_the_wait_without_booking() -> None:
    gcra = Gcra(4.0, burst=2)
    assert gcra.take(0.0) == 0.0
    assert gcra.take(0.0) == 0.0
    assert gcra.take(0.0) == pytest.approx(0.25)
    assert gcra.take(0.1) == pytest.approx(0.15)  # a refusal books nothing
    assert gcra.take(0.25) == 0.0


@pytest.mark.parametrize(
    ("rate", "burst"), [(0, 1), (-1, 1), (math.inf, 1), (math.nan, 1), (True, 1), (1, 0), (1, 1.5), (1, True)]
)
def test_bad_rates_and_bursts_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match=r"rate|burst"):
        LocalRateLimiter(rate, burst=burst)


async def test_local_limiter_paces_waiters_in_order_on_the_clock() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(20.0)
    starts: list[tuple[int, float]] = []

    async def one(i: int) -> None:
        assert await limiter.acquire(clock, None) is None
        starts.append((i, clock.now - 1000.0))

    await asyncio.gather(*(one(i) for i in range(5)))
    assert [i for i, _ in starts] == [0, 1, 2, 3, 4]
    assert [t for _, t in starts] == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2])
    assert clock.sleeps == pytest.approx([0.05] * 4)


async def test_local_limiter_refuses_at_once_when_the_slot_is_past_the_deadline() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(1.0)
    assert await limiter.acquire(clock, None) is None
    refusal = await limiter.acquire(clock, clock.now + 0.5)
    assert isinstance(refusal, Refusal)
    assert refusal.reason == "deadline"
    assert clock.sleeps == []  # it did not wait for a slot it could not use
    assert await limiter.acquire(clock, clock.now + 2.0) is None  # the refused call booked nothing
    assert clock.sleeps == [1.0]


async def test_a_cancelled_waiter_gives_its_slot_back() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(1.0)
    await limiter.acquire(clock, None)
    gate = asyncio.Event()

    async def blocking_sleep(seconds: float) -> None:
        await gate.wait()

    clock.sleep = blocking_sleep  # type: ignore[method-assign]
    waiter = asyncio.create_task(limiter.acquire(clock, None))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    del clock.sleep
    clock.advance(1.0)
    assert await limiter.acquire(clock, None) is None
    assert clock.sleeps == []  # the slot at +1 s was free again


def test_the_local_limiter_is_a_rate_limiter() -> None:
    limiter: RateLimiter = LocalRateLimiter(5.0)
    assert repr(limiter) == "LocalRateLimiter(rate=5.0, burst=1)"


async def test_a_core_waits_on_its_limiter_before_every_attempt_retries_included() -> None:
    clock = FakeClock()
    async with FakeOrq(api_key=KEY) as fake:
        fake.faults.push(Fault.status(503))
        retries = RetryConfig(max_retries=2, initial_wait=0.0, jitter=False)
        limiter = LocalRateLimiter(2.0)
        async with OrqCore(KEY, server_url=fake.url, clock=clock, retries=retries, rate_limiter=limiter) as core:
            first = await sessions_get(core, {"session_id": "nope"})
            second = await sessions_get(core, {"session_id": "nope"})
        assert core.config.limiter is limiter
    assert isinstance(first, Err)
    assert first.error.attempts == 2
    assert isinstance(second, Err)
    assert second.error.attempts == 1
    assert len(fake.requests) == 3
    # Three attempts at 2 a second: the second and third each waited half a second for a slot.
    assert [s for s in clock.sleeps if s > 0] == pytest.approx([0.5, 0.5])


async def test_a_call_whose_slot_is_after_its_total_deadline_ends_in_a_total_timeout() -> None:
    clock = FakeClock()
    async with FakeOrq(api_key=KEY) as fake:
        limiter = LocalRateLimiter(0.1)  # one start every 10 s
        timeout = Timeout(total=5.0)
        async with OrqCore(KEY, server_url=fake.url, clock=clock, rate_limiter=limiter, timeout=timeout) as core:
            first = await sessions_get(core, {"session_id": "nope"})
            late = await sessions_get(core, {"session_id": "nope"})
    assert isinstance(first, Err)
    assert first.error.attempts == 1
    assert isinstance(late, Err)
    assert isinstance(late.error, RequestTimeoutError)
    assert late.error.deadline == "total"
    assert late.error.timeout == 5.0
    assert late.error.operation_id == "orq.sessions.get"
    assert len(fake.requests) == 1


async def test_without_a_limiter_nothing_waits() -> None:
    clock = FakeClock()
    async with FakeOrq(api_key=KEY) as fake:
        async with OrqCore(KEY, server_url=fake.url, clock=clock) as core:
            results = [await sessions_get(core, {"session_id": "nope"}) for _ in range(3)]
        assert core.config.limiter is None
    assert all(isinstance(r, Err) and r.error.attempts == 1 for r in results)
    assert clock.sleeps == []
    assert not any(isinstance(r, Ok) for r in results)


def test_a_limiter_serves_a_core_again_from_a_new_event_loop() -> None:
    limiter = LocalRateLimiter(1000.0)

    async def contended() -> None:
        clock = FakeClock()
        assert await asyncio.gather(*(limiter.acquire(clock, None) for _ in range(3))) == [None] * 3

    asyncio.run(contended())
    asyncio.run(contended())  # a lock bound to the first loop would raise here
