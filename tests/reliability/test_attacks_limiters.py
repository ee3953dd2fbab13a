"""Issue 17's attacks on the rate limiters: URLs and numbers a constructor must refuse, a queue or a
silent Redis that must not outlast the call's total deadline, and exact shared rates in a real
`redis-server` (started here on a free port, as tests/reliability/test_redis_limiter.py does).

Waits run on a `FakeClock` (its wall time is what Redis computes with); the one real-time test
uses a short deadline and tells the outcomes apart by error type and deadline, never by duration.
"""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from sessionkit import Err, Ok, RequestOptions, RequestTimeoutError, Timeout
from sessionkit.orq import OrqCore, sessions_get
from sessionkit.ratelimit import LocalRateLimiter, RedisRateLimiter, Refusal
from sessionkit.testing import FakeClock, FakeOrq
from sessionkit.testing.redis import RedisServer

KEY = "fake-orq-key"
PASSWORD = "s3cret-Redis-PW"
GUARD = 60.0  # seconds: only so that a regression fails instead of stalling the suite


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    try:
        server = RedisServer().start()
    except FileNotFoundError as exc:  # not a skip: scripts/test.sh installs it
        pytest.fail(str(exc), pytrace=False)
    with server:
        yield server.url


@pytest.fixture
async def limiters() -> AsyncIterator[list[RedisRateLimiter]]:
    made: list[RedisRateLimiter] = []
    yield made
    for limiter in made:
        await limiter.aclose()


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"


# --- item 4 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"http://user:{PASSWORD}@localhost:6379/0",
        f"redis://:{PASSWORD}@localhost:99999/0",
        f"redis://:{PASSWORD}@localhost:port/0",
        "not a url at all",
        f"redis://:{PASSWORD}@[::1/0",
        f"redis://:{PASSWORD}@[not-an-ip]:6379/0",
        f"redis://:{PASSWORD}@localhost:6379/0?foo=bar",
        f"redis://:{PASSWORD}@localhost:6379/abc",  # redis-py would quietly use database 0
    ],
    ids=[
        "http",
        "port-too-big",
        "port-not-a-number",
        "garbage",
        "ipv6-unclosed",
        "ipv6-bad-host",
        "unknown-option",
        "database-not-a-number",
    ],
)
def test_a_bad_redis_url_is_a_value_error_when_the_limiter_is_made(url: str) -> None:
    """issue 17, item 4: refused by the constructor (not by the first call), its password not shown.
    An option redis-py does not know (`?foo=bar`) made the first call raise `TypeError`."""
    with pytest.raises(ValueError) as refused:
        RedisRateLimiter(url, 5)
    assert PASSWORD not in str(refused.value)
    assert PASSWORD not in repr(refused.value)


# --- minor: numbers a local limiter cannot hold ------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "burst"), [(1e-320, 1), (1.0, 10**400), (5e-324, 1)], ids=["rate-1e-320", "burst-10**400", "rate-min"]
)
def test_a_rate_or_burst_a_local_limiter_cannot_hold_is_a_value_error(rate: float, burst: int) -> None:
    """issue 17, minor: `LocalRateLimiter(1e-320)` (1/rate overflows) and `burst=10**400` (no float)."""
    with pytest.raises(ValueError):
        LocalRateLimiter(rate, burst=burst)


# --- item 5 ------------------------------------------------------------------------------------------


async def test_a_call_whose_turn_in_the_queue_is_past_its_deadline_is_refused_at_once() -> None:
    """issue 17, item 5: `LocalRateLimiter(2)` with 8 callers queued; a call with `Timeout(total=0.5)`
    ends at once in `RequestTimeoutError("total")`, before the queue ahead of it has drained
    (on the fake clock: no time passed for it, and fewer than the 7 waits ahead were slept)."""
    clock = FakeClock()
    limiter = LocalRateLimiter(2)
    async with FakeOrq(api_key=KEY) as fake:
        [session] = fake.seed_sessions(1)
        request = {"session_id": session["_id"]}
        async with OrqCore(KEY, server_url=fake.url, clock=clock, rate_limiter=limiter) as core:
            queued = [asyncio.ensure_future(sessions_get(core, request)) for _ in range(8)]
            await asyncio.sleep(0)  # the eight are in the limiter: one through, one sleeping, six queued
            bounded = RequestOptions(timeout=Timeout(total=0.5))
            result = await asyncio.wait_for(sessions_get(core, request, options=bounded), GUARD)
            slept_before_it_ended = len(clock.sleeps)
            others = await asyncio.wait_for(asyncio.gather(*queued), GUARD)
    assert isinstance(result, Err), result
    assert isinstance(result.error, RequestTimeoutError)
    assert result.error.deadline == "total"
    assert result.error.elapsed < 0.5  # refused at once, not when its deadline had passed in the queue
    assert slept_before_it_ended < 7
    assert all(isinstance(r, Ok) for r in others)  # the queue ahead went on undisturbed


async def test_a_redis_that_never_answers_ends_the_call_at_its_total_deadline() -> None:
    """issue 17, item 5: a Redis that accepts and never answers, the limiter's own `timeout=30`, and a
    call with `Timeout(total=0.3)`: the call ends in `RequestTimeoutError("total")`, not in the
    limiter's `ConnectionError` after its own 30 s."""
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept, read nothing, answer nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0", 5, key=_key(), timeout=30)
    try:
        async with FakeOrq(api_key=KEY) as fake, OrqCore(KEY, server_url=fake.url, rate_limiter=limiter) as core:
            options = RequestOptions(timeout=Timeout(total=0.3))
            result = await asyncio.wait_for(sessions_get(core, {"session_id": "s-1"}, options=options), GUARD)
            assert fake.requests == []  # nothing went to the API
    finally:
        await limiter.aclose()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert isinstance(result, Err), result
    assert isinstance(result.error, RequestTimeoutError), result.error
    assert result.error.deadline == "total"


# --- item 15 -----------------------------------------------------------------------------------------


async def test_six_an_hour_in_redis_admits_starts_exactly_600_s_apart(
    redis_url: str, limiters: list[RedisRateLimiter]
) -> None:
    """issue 17, item 15: the shared rate is held as given (the old one rounded to whole units per
    1,000 s: 6 an hour admitted 7.2)."""
    clock = FakeClock(wall_start=time.time())
    limiter = RedisRateLimiter(redis_url, 6 / 3600, key=_key())
    limiters.append(limiter)
    for _ in range(4):
        assert await limiter.acquire(clock, None) is None
    assert clock.sleeps == pytest.approx([600.0, 600.0, 600.0], abs=0.002)


async def test_one_start_in_a_billion_seconds_admits_one_and_refuses_the_next_before_a_far_deadline(
    redis_url: str, limiters: list[RedisRateLimiter]
) -> None:
    """issue 17, item 15: `rate=1e-9` (the old limiter admitted 100 starts where 1 was allowed)."""
    clock = FakeClock(wall_start=time.time())
    limiter = RedisRateLimiter(redis_url, 1e-9, key=_key())
    limiters.append(limiter)
    assert await limiter.acquire(clock, None) is None
    year = 365 * 24 * 3600.0
    refusal = await limiter.acquire(clock, clock.monotonic() + year)  # the next slot is 31 years away
    assert isinstance(refusal, Refusal), refusal
    assert refusal.reason == "deadline"
    assert clock.sleeps == []  # refused without sleeping towards it


def test_a_limiter_whose_first_loop_ended_works_from_the_next_and_closes_there(redis_url: str) -> None:
    """issue 17, item 15: `asyncio.run` twice: the second loop's calls are admitted (the old limiter
    told them to call `aclose()`), `aclose()` from that loop does not raise, and nothing of the
    connections of the loops that ended is left open (the suite turns ResourceWarnings into errors)."""
    limiter = RedisRateLimiter(redis_url, 1000.0, key=_key())
    clock = FakeClock(wall_start=time.time())

    async def use() -> Refusal | None:
        return await limiter.acquire(clock, None)

    assert asyncio.run(use()) is None  # its connections now belong to a loop that ends here
    assert asyncio.run(use()) is None  # a new loop: it connects again

    async def close_twice() -> None:
        await limiter.aclose()
        await limiter.aclose()

    asyncio.run(use())
    asyncio.run(close_twice())  # from yet another loop than the one its connections belong to
    gc.collect()  # what it dropped with each dead loop warns now, in this test, if it was left open
