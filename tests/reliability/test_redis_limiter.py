"""`RedisRateLimiter` against a real `redis-server` (Debian's package), started here on a free port.

A missing `redis-server` fails this group loudly: `scripts/test.sh` installs it where it can.
Waits run on a `FakeClock` (its wall time is what Redis computes with), so no assertion reads
the wall clock; only the two-process test runs in real time, and it asserts counts, not times.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sessionkit import ConnectionError, RequestTimeoutError, Timeout
from sessionkit.orq import OrqCore, sessions_get
from sessionkit.ratelimit import LocalRateLimiter, RedisRateLimiter
from sessionkit.result import Err
from sessionkit.testing import FakeClock, FakeOrq
from sessionkit.testing.redis import RedisServer, free_port
from tests._support.extras import require

require("pyrate_limiter", "redis")
require("redis.asyncio", "redis")

KEY = "fake-orq-key"
ROOT = Path(__file__).resolve().parents[2]


def _started(server: RedisServer) -> RedisServer:
    try:
        return server.start()
    except FileNotFoundError as exc:  # not a skip: this group must run wherever the suite runs
        pytest.fail(f"{exc}: scripts/test.sh installs it; the shared rate limiter is tested against it", pytrace=False)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with _started(RedisServer()) as server:
        yield server.url


@pytest.fixture
async def limiters(redis_url: str) -> AsyncIterator[list[RedisRateLimiter]]:
    """Where each test puts the limiters it makes, so every one is closed."""
    made: list[RedisRateLimiter] = []
    yield made
    for limiter in made:
        await limiter.aclose()


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"


async def test_two_limiters_on_one_key_share_one_rate(redis_url: str, limiters: list[RedisRateLimiter]) -> None:
    clock = FakeClock(wall_start=time.time())
    key = _key()
    a = RedisRateLimiter(redis_url, 0.1, key=key)  # one start every 10 s, shared
    b = RedisRateLimiter(redis_url, 0.1, key=key)  # a second connection, as another process has
    limiters += [a, b]
    assert await a.acquire(clock, None) is None
    assert clock.sleeps == []
    assert await b.acquire(clock, None) is None  # b waited for a's next slot, told by Redis
    assert await a.acquire(clock, None) is None
    assert clock.sleeps == pytest.approx([10.0, 10.0], abs=0.002)


async def test_different_keys_do_not_share(redis_url: str, limiters: list[RedisRateLimiter]) -> None:
    clock = FakeClock(wall_start=time.time())
    a = RedisRateLimiter(redis_url, 0.1, key=_key())
    b = RedisRateLimiter(redis_url, 0.1, key=_key())
    limiters += [a, b]
    assert await a.acquire(clock, None) is None
    assert await b.acquire(clock, None) is None
    assert clock.sleeps == []


async def test_a_burst_is_admitted_at_once(redis_url: str, limiters: list[RedisRateLimiter]) -> None:
    clock = FakeClock(wall_start=time.time())
    limiter = RedisRateLimiter(redis_url, 0.1, burst=3, key=_key())
    limiters.append(limiter)
    for _ in range(4):
        assert await limiter.acquire(clock, None) is None
    assert clock.sleeps == pytest.approx([10.0], abs=0.002)


async def test_a_core_paces_every_call_and_refuses_one_past_its_deadline(
    redis_url: str, limiters: list[RedisRateLimiter]
) -> None:
    clock = FakeClock(wall_start=time.time())
    limiter = RedisRateLimiter(redis_url, 0.1, key=_key())
    limiters.append(limiter)
    bounded = Timeout(total=5.0)
    async with FakeOrq(api_key=KEY) as fake:
        async with OrqCore(KEY, server_url=fake.url, clock=clock, rate_limiter=limiter) as core:
            paced = [await sessions_get(core, {"session_id": "x"}) for _ in range(3)]
        async with OrqCore(KEY, server_url=fake.url, clock=clock, rate_limiter=limiter, timeout=bounded) as core:
            refused = await sessions_get(core, {"session_id": "x"})
    assert all(isinstance(r, Err) and r.error.attempts == 1 for r in paced)  # 404s: all sent
    assert clock.sleeps == pytest.approx([10.0, 10.0], abs=0.002)
    assert isinstance(refused, Err)
    assert isinstance(refused.error, RequestTimeoutError)
    assert refused.error.deadline == "total"
    assert len(fake.requests) == 3


async def test_unreachable_redis_fails_the_call_with_a_connection_error_that_hides_the_password(
    limiters: list[RedisRateLimiter],
) -> None:
    url = f"redis://:s3cret-redis-pass@127.0.0.1:{free_port()}/0"  # nothing listens there
    limiter = RedisRateLimiter(url, 10.0, key=_key(), timeout=0.5)
    limiters.append(limiter)
    assert "s3cret" not in repr(limiter)
    async with FakeOrq(api_key=KEY) as fake, OrqCore(KEY, server_url=fake.url, rate_limiter=limiter) as core:
        result = await sessions_get(core, {"session_id": "x"})
        again = await sessions_get(core, {"session_id": "x"})  # fails fast: Redis failed just now
    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionError)
    assert "shared rate limiter" in result.error.message
    for shown in (result.error.message, repr(result.error), str(result.error.cause), repr(result.error.cause)):
        assert "s3cret" not in shown
    assert isinstance(again, Err)
    assert isinstance(again.error, ConnectionError)
    assert "recently failed" in again.error.message
    assert fake.requests == []  # nothing went to the API


async def test_a_redis_that_never_answers_ends_the_call_at_its_timeout(limiters: list[RedisRateLimiter]) -> None:
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept, read nothing, answer nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0", 10.0, key=_key(), timeout=0.2)
    limiters.append(limiter)
    try:
        refusal = await limiter.acquire(FakeClock(), None)
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert refusal is not None
    assert refusal.reason == "unavailable"


async def test_fallback_to_a_local_limiter_warns_once_per_outage_and_retries_redis_later(
    limiters: list[RedisRateLimiter], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sessionkit")
    clock = FakeClock()
    url = f"redis://127.0.0.1:{free_port()}/0"
    limiter = RedisRateLimiter(url, 10.0, key=_key(), timeout=0.5, fallback=LocalRateLimiter(0.5), retry_interval=30.0)
    limiters.append(limiter)
    assert await limiter.acquire(clock, None) is None  # Redis down: the local limiter let it start
    assert await limiter.acquire(clock, None) is None  # still down: paced locally, no new attempt
    assert clock.sleeps == [2.0]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "local fallback" in warnings[0]
    clock.advance(30.0)  # past retry_interval: Redis is tried again (and fails again)
    assert await limiter.acquire(clock, None) is None
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


async def test_a_restarted_redis_is_used_again(limiters: list[RedisRateLimiter]) -> None:
    server = _started(RedisServer())
    clock = FakeClock(wall_start=time.time())
    limiter = RedisRateLimiter(server.url, 0.1, key=_key(), timeout=0.5, retry_interval=1.0)
    limiters.append(limiter)
    try:
        assert await limiter.acquire(clock, None) is None
        server.stop()
        down = await limiter.acquire(clock, None)
        assert down is not None
        assert down.reason == "unavailable"
        server.start()  # the same port; a fresh Redis has no state, so the next start is free
        clock.advance(1.0)
        assert await limiter.acquire(clock, None) is None
        assert await limiter.acquire(clock, None) is None  # and the shared state works again
        assert clock.sleeps == pytest.approx([10.0], abs=0.002)
    finally:
        server.stop()


_WORKER = """
import asyncio, sys
from sessionkit.orq import OrqCore, sessions_get
from sessionkit.ratelimit import RedisRateLimiter

async def main(url, redis_url, key, n):
    async with RedisRateLimiter(redis_url, 20.0, key=key) as limiter:
        async with OrqCore("k", server_url=url, rate_limiter=limiter) as core:
            sys.stdin.readline()  # start together
            results = await asyncio.gather(*(sessions_get(core, {"session_id": "x"}) for _ in range(n)))
    print(sum(r.error.status == 404 for r in results if r.is_err()))

asyncio.run(main(*sys.argv[1:4], int(sys.argv[4])))
"""


async def test_two_processes_share_one_limit_against_one_server(redis_url: str) -> None:
    key = _key()
    async with FakeOrq(api_key="k") as fake:
        fake.set_rate_limit(20.0, burst=4)  # the limiter's rate; the burst absorbs network jitter
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                _WORKER,
                fake.url,
                redis_url,
                key,
                "15",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
            for _ in range(2)
        ]
        outputs: list[bytes] = []
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        for proc in procs:
            out, _ = await proc.communicate()
            assert proc.returncode == 0
            outputs.append(out)
    assert [int(o) for o in outputs] == [15, 15]  # every call reached the server and got its 404
    assert fake.refused == 0  # 30 calls at a combined 20 a second: never beyond the server's limit
    assert fake.served == 30


def test_a_limiter_used_from_another_loop_refuses_until_closed_then_reconnects(redis_url: str) -> None:
    limiter = RedisRateLimiter(redis_url, 1000.0, key=_key())

    async def use() -> str | None:
        refusal = await limiter.acquire(FakeClock(wall_start=time.time()), None)
        return None if refusal is None else refusal.message

    async def first_loop() -> str | None:
        assert await use() is None  # its connections now belong to this loop
        try:
            return await asyncio.to_thread(asyncio.run, use())  # another loop, while this one runs
        finally:
            await limiter.aclose()

    async def later_loop() -> str | None:
        try:
            return await use()
        finally:
            await limiter.aclose()

    message = asyncio.run(first_loop())
    assert message is not None
    assert "another event loop" in message
    assert asyncio.run(later_loop()) is None  # closed: it reconnects in the loop that uses it
