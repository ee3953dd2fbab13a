"""Every fake's rate limit: a token bucket that answers 429 with Retry-After and counts what it did.

The buckets refill on a `FakeClock`, so what is served and refused never depends on wall time.
"""

from __future__ import annotations

import aiohttp
import pytest

from sessionkit.orq import OrqCore, sessions_get
from sessionkit.result import Err
from sessionkit.testing import (
    FakeClock,
    FakeDevin,
    FakeDevinV3,
    FakeJupyter,
    FakeLog10,
    FakeMix,
    FakeOrq,
    FakeServer,
    Fault,
)

FAKES: list[type[FakeServer]] = [FakeJupyter, FakeOrq, FakeMix, FakeDevin, FakeDevinV3, FakeLog10]


@pytest.mark.parametrize("cls", FAKES, ids=[c.__name__ for c in FAKES])
async def test_every_fake_refuses_beyond_its_bucket_with_429_and_retry_after(cls: type[FakeServer]) -> None:
    clock = FakeClock()
    fake = cls()
    fake.set_rate_limit(2.0, clock=clock)  # a bucket of 2 tokens, refilled at 2 a second
    async with fake, aiohttp.ClientSession() as http:
        statuses: list[int] = []
        for _ in range(3):
            async with http.get(fake.url + "/anything") as response:
                statuses.append(response.status)
                headers = response.headers
                body = await response.read()
        assert 429 not in statuses[:2]
        assert statuses[2] == 429
        assert headers["Retry-After"] == "1"  # 0.5 s rounded up to whole seconds
        assert headers["retry-after-ms"] == "500"
        assert body  # the service's own error shape
        assert (fake.served, fake.refused) == (2, 1)
        last = fake.requests[-1]
        assert last.fault is not None
        assert last.fault.code == 429

        clock.advance(0.5)  # one token back
        async with http.get(fake.url + "/anything") as response:
            assert response.status != 429
        assert (fake.served, fake.refused) == (3, 1)


@pytest.mark.parametrize("cls", FAKES, ids=[c.__name__ for c in FAKES])
async def test_exact_wait_false_answers_as_most_gateways_do_whole_seconds_only(cls: type[FakeServer]) -> None:
    clock = FakeClock()
    fake = cls()
    fake.set_rate_limit(200.0, burst=1, clock=clock, exact_wait=False)  # the next token 5 ms away
    async with fake, aiohttp.ClientSession() as http:
        for _ in range(2):
            async with http.get(fake.url + "/anything") as response:
                await response.read()
        assert response.status == 429
        assert response.headers["Retry-After"] == "1"  # 5 ms, rounded up to whole seconds
        assert "retry-after-ms" not in response.headers
        assert (fake.served, fake.refused) == (1, 1)

        fake.set_rate_limit(200.0, burst=1, clock=clock)  # the default again: the exact wait as well
        for _ in range(2):
            async with http.get(fake.url + "/anything") as response:
                await response.read()
        assert response.headers["Retry-After"] == "1"
        assert response.headers["retry-after-ms"] == "5"


async def test_a_core_reads_a_whole_second_retry_after_when_no_exact_wait_is_sent() -> None:
    clock = FakeClock()
    async with FakeOrq(api_key="k") as fake:
        fake.set_rate_limit(200.0, burst=1, clock=clock, exact_wait=False)
        async with OrqCore("k", server_url=fake.url, clock=clock) as core:
            await sessions_get(core, {"session_id": "a"})
            refused = await sessions_get(core, {"session_id": "b"})  # 429, Retry-After: 1, then sent again
    assert isinstance(refused, Err)
    assert refused.error.attempts == 2  # the retry got through: a 404 for the unknown id
    [slept] = clock.sleeps
    assert 1.0 <= slept <= 1.2  # a whole second for a 5 ms wait, plus up to a fifth of jitter
    assert (fake.served, fake.refused) == (2, 1)


@pytest.mark.parametrize("cls", [FakeOrq, FakeLog10])
async def test_rate_limit_as_a_constructor_option(cls: type[FakeOrq] | type[FakeLog10]) -> None:
    async with cls(rate_limit=1.0) as fake, aiohttp.ClientSession() as http:
        for _ in range(2):
            async with http.get(fake.url + "/x") as response:
                await response.read()
        assert (fake.served, fake.refused) == (1, 1)


async def test_the_limit_comes_before_scripted_faults_and_they_stay_queued() -> None:
    clock = FakeClock()
    async with FakeOrq() as fake, aiohttp.ClientSession() as http:
        fake.set_rate_limit(1.0, clock=clock)
        fake.faults.push(Fault.status(503))
        for _ in range(2):
            async with http.get(fake.url + "/x") as response:
                await response.read()
        assert [r.fault.code if r.fault else None for r in fake.requests] == [503, 429]
        fake.faults.push(Fault.status(500))
        clock.advance(1.0)
        async with http.get(fake.url + "/x") as response:
            assert response.status == 500


async def test_burst_reset_and_switching_the_limit_off() -> None:
    clock = FakeClock()
    async with FakeMix() as fake, aiohttp.ClientSession() as http:
        fake.set_rate_limit(100.0, burst=1, clock=clock)

        async def hit() -> int:
            async with http.get(fake.url + "/x") as response:
                return response.status

        assert [await hit() == 429 for _ in range(2)] == [False, True]
        fake.reset()
        assert (fake.served, fake.refused) == (0, 0)
        fake.set_rate_limit(None)
        assert [await hit() == 429 for _ in range(5)] == [False] * 5
        assert (fake.served, fake.refused) == (5, 0)


async def test_a_core_waits_out_the_fakes_retry_after_and_then_succeeds_past_the_limit() -> None:
    clock = FakeClock()
    async with FakeOrq(api_key="k") as fake:
        fake.set_rate_limit(0.5, burst=1, clock=clock)  # one request every 2 s
        async with OrqCore("k", server_url=fake.url, clock=clock) as core:
            first = await sessions_get(core, {"session_id": "a"})
            second = await sessions_get(core, {"session_id": "b"})
    assert isinstance(first, Err)
    assert first.error.attempts == 1
    assert isinstance(second, Err)
    assert second.error.attempts == 2
    [slept] = clock.sleeps
    assert 2.0 <= slept <= 2.4  # the Retry-After asked, plus up to a fifth of jitter
    assert (fake.served, fake.refused) == (2, 1)
