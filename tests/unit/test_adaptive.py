"""`batch(..., concurrency=Adaptive(...))`: AIMD on push-back, one shared pause, bounds, guarantees.

Every test runs on a `FakeClock` with a scripted operation (no HTTP): the assertions read what the
batch did (its concurrency after each result, when calls started, what it slept), never wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from sessionkit import InternalServerError, NotFoundError, RateLimitError, RequestTimeoutError
from sessionkit.batch import Adaptive, BatchProgress, batch, batch_iter
from sessionkit.result import Err, Ok, ResponseMeta, Result
from sessionkit.testing import FakeClock

Answer = Callable[[int], Result[int, Exception]]


def ok(i: int) -> Result[int, Exception]:
    return Ok(i)


def rate_limited(retry_after: float | None = None) -> Result[int, Exception]:
    return Err(RateLimitError("429 Too Many Requests", status=429, retry_after=retry_after))


class Server:
    """A scripted operation: `answer(i)` decides each result; records in-flight peaks and start times."""

    def __init__(self, clock: FakeClock, answer: Answer = ok, turns: int = 3) -> None:
        self.clock, self.answer, self.turns = clock, answer, turns
        self.in_flight = self.peak = 0
        self.starts: dict[int, float] = {}

    async def __call__(self, i: int) -> Result[int, Exception]:
        self.starts[i] = self.clock.now
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            for _ in range(self.turns):  # a call spans a few loop turns, so several overlap
                await asyncio.sleep(0)
        finally:
            self.in_flight -= 1
        return self.answer(i)


async def run(server: Server, n: int, options: Adaptive) -> tuple[list[Result[int, Exception]], list[int]]:
    seen: list[int] = []

    def progress(p: BatchProgress) -> None:
        seen.append(p.concurrency)

    results = await batch(server, range(n), concurrency=options, clock=server.clock, progress=progress)
    return results, seen


async def test_one_result_per_input_in_input_order() -> None:
    server = Server(FakeClock(), lambda i: Ok(i) if i % 4 else rate_limited())
    results, _ = await run(server, 50, Adaptive(2, 8))
    assert [r.value if isinstance(r, Ok) else "429" for r in results] == [i if i % 4 else "429" for i in range(50)]


async def test_concurrency_doubles_each_round_until_the_first_push_back_when_pacing() -> None:
    server = Server(FakeClock(), lambda i: rate_limited() if i == 40 else Ok(i))
    _, seen = await run(server, 80, Adaptive(1, 64))
    # Slow start: one more per success (doubling each round) while nothing pushed back ...
    assert seen[:8] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert seen[39] > seen[0] + 30
    # ... then the additive increase: about one more per round.
    assert seen[79] - seen[41] <= 2


async def test_without_pacing_concurrency_grows_by_increase_per_round_of_successes_up_to_the_maximum() -> None:
    server = Server(FakeClock())
    _, seen = await run(server, 200, Adaptive(1, 6, pace=False))
    assert seen[0] == 2  # 1 + 1/1 after the first success
    assert seen == sorted(seen)  # only successes: it never shrinks
    assert max(seen) == 6
    assert server.peak == 6
    # Additive: `increase / concurrency` per success, so about one more per round (1, 2, 2.5, 2.9, 3.2...).
    assert seen[:6] == [2, 2, 2, 3, 3, 3]


async def test_without_pacing_a_429_cuts_the_concurrency_by_decrease() -> None:
    server = Server(FakeClock(), lambda i: rate_limited() if i == 120 else Ok(i))
    _, seen = await run(server, 121, Adaptive(1, 8, decrease=0.5, pace=False))
    assert seen[-2] == 8
    assert seen[-1] == 4


async def test_with_pacing_a_429_paces_the_starts_and_leaves_the_concurrency() -> None:
    clock = FakeClock()
    server = Server(clock, lambda i: rate_limited(retry_after=1.0) if i == 60 else Ok(i))
    rates: list[float | None] = []

    async def timed(i: int) -> Result[int, Exception]:
        clock.advance(0.01)  # the batch sends a call every 10 ms of (fake) time
        return await server(i)

    def progress(p: BatchProgress) -> None:
        rates.append(p.rate)

    results = await batch(timed, range(100), concurrency=Adaptive(1, 1), clock=clock, progress=progress)
    assert sum(isinstance(r, Ok) for r in results) == 99
    assert rates[59] is None  # unpaced until the 429
    assert rates[60] == pytest.approx(100.0, rel=0.05)  # then paced at what it was sending
    assert 1.0 not in clock.sleeps  # a lone 429's whole-second Retry-After did not pause the batch


@pytest.mark.parametrize(
    "push_back",
    [
        Err(InternalServerError("503 Service Unavailable", status=503)),
        Err(RequestTimeoutError("no answer", deadline="attempt")),
        Ok(0, meta=ResponseMeta("op", 200, {}, attempts=2)),  # it took the pipeline a retry
    ],
    ids=["503", "timeout", "retried-success"],
)
async def test_503s_timeouts_and_retried_successes_also_cut(push_back: Result[int, Exception]) -> None:
    server = Server(FakeClock(), lambda i: push_back if i == 120 else Ok(i))
    _, seen = await run(server, 121, Adaptive(1, 8, decrease=0.25))
    assert (seen[-2], seen[-1]) == (8, 2)


async def test_other_failures_are_not_push_back() -> None:
    not_found = Err(NotFoundError("404", status=404))
    server = Server(FakeClock(), lambda i: not_found if i >= 100 else Ok(i))
    _, seen = await run(server, 130, Adaptive(1, 8))
    assert seen[99:] == [8] * 31


async def test_a_burst_of_429s_from_calls_in_flight_together_cuts_once() -> None:
    server = Server(FakeClock(), lambda i: rate_limited() if 120 <= i < 128 else Ok(i))
    _, seen = await run(server, 128, Adaptive(1, 8, pace=False))
    # Calls 120..127 were in flight together: the first 429 halves 8 to 4, the other seven are
    # the same congestion and do not cut again.
    assert seen[-8:] == [4] * 8


async def test_never_below_min_nor_above_max() -> None:
    server = Server(FakeClock(), lambda i: rate_limited() if i % 2 else Ok(i), turns=1)
    _, seen = await run(server, 300, Adaptive(3, 5))
    assert min(seen) >= 3
    assert max(seen) <= 5
    assert server.peak <= 5


async def test_without_pacing_a_retry_after_pauses_every_new_start_of_the_batch_once() -> None:
    clock = FakeClock()
    server = Server(clock, lambda i: rate_limited(retry_after=30.0) if i == 40 else Ok(i))
    results, _ = await run(server, 80, Adaptive(4, 4, pace=False))
    assert all(isinstance(r, Ok) for i, r in enumerate(results) if i != 40)
    paused_at = server.starts[40]
    later = [t for i, t in server.starts.items() if i > 40 + 4]  # started after the 429 came back
    assert later
    assert min(later) >= paused_at + 30.0
    # One shared pause: one sleeper waited it out, the other calls queued behind it.
    assert clock.sleeps.count(30.0) == 1
    assert sum(clock.sleeps) == pytest.approx(30.0)


async def test_a_503_retry_after_pauses_too_and_max_pause_caps_any_pause() -> None:
    clock = FakeClock()
    unavailable = Err(InternalServerError("503", status=503, headers={"Retry-After": "3600"}))
    server = Server(clock, lambda i: unavailable if i == 10 else Ok(i))
    await run(server, 30, Adaptive(2, 2, max_pause=5.0))
    assert clock.sleeps == [5.0]


async def test_cancelling_a_paused_adaptive_batch_leaves_no_task() -> None:
    clock = FakeClock()
    hold = asyncio.Event()

    async def sleep_forever(seconds: float) -> None:
        await hold.wait()

    clock.sleep = sleep_forever  # type: ignore[method-assign]  # the pause never ends by itself
    unavailable = Err(InternalServerError("503", status=503, headers={"Retry-After": "60"}))
    server = Server(clock, lambda i: unavailable if i == 0 else Ok(i))
    before = asyncio.all_tasks()
    stream = batch_iter(server, range(10), concurrency=Adaptive(1, 4), clock=clock)
    first: list[tuple[int, Any]] = []

    async def consume() -> None:
        async with contextlib.aclosing(stream):
            async for item in stream:
                first.append(item)

    task = asyncio.create_task(consume())
    for _ in range(20):
        await asyncio.sleep(0)
    assert [i for i, _ in first] == [0]  # the 503 came back; the next call waits on the pause
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.all_tasks() - before == set()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_concurrency": 0}, "min_concurrency"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"min_concurrency": 5, "max_concurrency": 4}, "below"),
        ({"increase": 0}, "increase"),
        ({"decrease": 1.0}, "decrease"),
        ({"decrease": 0}, "decrease"),
        ({"max_pause": -1}, "max_pause"),
        ({"pace": 1}, "pace"),
        ({"headroom": 1.0}, "headroom"),
        ({"headroom": -0.1}, "headroom"),
        ({"probe": 0}, "probe"),
        ({"probe": float("inf")}, "probe"),
    ],
)
def test_bad_adaptive_options_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Adaptive(**kwargs)
