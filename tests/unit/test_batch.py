"""`sessionkit.batch`: order, bounded and lazy concurrency, rate limit, progress, cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from sessionkit.batch import BatchProgress, batch, batch_iter
from sessionkit.result import Err, Ok, Result
from sessionkit.testing import FakeClock


class Tracker:
    """A fake operation that counts calls in flight and remembers the peak."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.in_flight = 0
        self.peak = 0
        self.calls = 0
        self.completed = 0

    async def __call__(self, item: int) -> Result[int, str]:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        self.completed += 1
        return Ok(item * 10) if item % 3 else Err(f"bad {item}")


def _expected(n: int) -> list[Result[int, Any]]:
    return [Ok(i * 10) if i % 3 else Err(f"bad {i}") for i in range(n)]


async def test_results_come_back_in_input_order_one_per_input() -> None:
    async def reversed_delays(item: int) -> Result[int, str]:
        await asyncio.sleep((40 - item) * 0.0005)  # later inputs finish first
        return Ok(item * 10) if item % 3 else Err(f"bad {item}")

    assert await batch(reversed_delays, range(40), concurrency=40) == _expected(40)
    assert await batch(reversed_delays, [], concurrency=4) == []


async def test_in_flight_never_exceeds_concurrency_and_reaches_it() -> None:
    fake = Tracker(delay=0.002)
    results = await batch(fake, range(200), concurrency=7)
    assert results == _expected(200)
    assert fake.peak == 7
    assert fake.calls == 200


async def test_inputs_are_consumed_lazily() -> None:
    """100,000 inputs: never more than `concurrency` taken ahead of completion, nor tasks alive."""
    concurrency = 16
    produced = 0
    fake = Tracker()
    worst_ahead = 0
    worst_tasks = 0
    baseline = len(asyncio.all_tasks())

    def inputs() -> Iterator[int]:
        nonlocal produced, worst_ahead, worst_tasks
        for i in range(100_000):
            worst_ahead = max(worst_ahead, produced - fake.completed)
            if i % 5_000 == 0:
                worst_tasks = max(worst_tasks, len(asyncio.all_tasks()) - baseline)
            produced += 1
            yield i

    results = await batch(fake, inputs(), concurrency=concurrency)
    assert results == _expected(100_000)
    assert worst_ahead <= concurrency
    assert worst_tasks <= concurrency
    assert fake.peak <= concurrency


async def test_an_early_stop_takes_only_what_it_needs_from_an_infinite_input() -> None:
    produced = 0

    def inputs() -> Iterator[int]:
        nonlocal produced
        for i in itertools.count(1):
            produced += 1
            yield i

    before = asyncio.all_tasks()
    fake = Tracker(delay=0.001)
    seen: list[int] = []
    async with contextlib.aclosing(batch_iter(fake, inputs(), concurrency=5)) as stream:
        async for index, _ in stream:
            seen.append(index)
            if len(seen) == 50:
                break
    assert produced <= 50 + 5
    assert asyncio.all_tasks() == before
    assert fake.in_flight == 0


async def test_async_iterable_inputs_and_call_kwargs() -> None:
    async def inputs() -> AsyncIterator[int]:
        for i in range(30):
            await asyncio.sleep(0)
            yield i

    async def scaled(item: int, *, factor: int) -> Ok[int]:
        return Ok(item * factor)

    assert await batch(scaled, inputs(), concurrency=4, factor=3) == [Ok(i * 3) for i in range(30)]


async def test_rate_limit_spaces_call_starts() -> None:
    clock = FakeClock()
    starts: list[float] = []

    async def stamp(item: int) -> Ok[int]:
        starts.append(clock.monotonic())
        return Ok(item)

    rate, n = 50.0, 60
    results = await batch(stamp, range(n), concurrency=n, rate_limit=rate, clock=clock)
    assert results == [Ok(i) for i in range(n)]
    assert starts == pytest.approx([starts[0] + i / rate for i in range(n)]), "one start every 1 / rate s"
    # Never a burst either: any half-second window holds at most rate / 2 + 1 starts.
    window = 0.5
    busiest = max(sum(1 for t in starts if s <= t < s + window) for s in starts)
    assert busiest <= rate * window + 1, busiest


async def test_rate_limit_restarts_from_now_after_a_stall() -> None:
    clock = FakeClock()
    starts: list[float] = []

    async def stamp(item: int) -> Ok[int]:
        starts.append(clock.monotonic())
        if item == 4:
            clock.advance(10.0)  # a slow call: the schedule must not catch up with a burst
        return Ok(item)

    await batch(stamp, range(8), concurrency=1, rate_limit=10.0, clock=clock)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps[4] == pytest.approx(10.0)
    assert gaps[5:] == pytest.approx([0.1, 0.1])


async def test_progress_reports_every_completion() -> None:
    reports: list[BatchProgress] = []
    fake = Tracker(delay=0.001)
    await batch(fake, range(30), concurrency=4, progress=reports.append)
    assert [p.done for p in reports] == list(range(1, 31))
    assert all(p.total == 30 and 0 <= p.in_flight <= 4 and p.ok + p.err == p.done for p in reports)
    assert (reports[-1].ok, reports[-1].err, reports[-1].in_flight) == (20, 10, 0)


async def test_progress_total_is_unknown_until_a_generator_is_exhausted() -> None:
    reports: list[BatchProgress] = []
    await batch(Tracker(delay=0.001), iter(range(10)), concurrency=3, progress=reports.append)
    assert reports[0].total is None
    assert reports[-1].total == 10
    assert reports[-1].done == 10


async def test_batch_iter_yields_every_index_once_in_completion_order() -> None:
    async def reversed_delays(item: int) -> Ok[int]:
        await asyncio.sleep((20 - item) * 0.001)
        return Ok(item)

    pairs = [pair async for pair in batch_iter(reversed_delays, range(20), concurrency=20)]
    indices = [index for index, _ in pairs]
    assert sorted(indices) == list(range(20))
    assert indices != list(range(20))  # completion order, not input order
    assert all(result == Ok(index) for index, result in pairs)


async def test_a_raising_fn_fails_only_its_own_input() -> None:
    boom = ValueError("boom")

    async def flaky(item: int) -> Ok[int]:
        if item % 2:
            raise boom
        return Ok(item)

    results = await batch(flaky, range(6), concurrency=2)
    assert results == [Ok(0), Err(boom), Ok(2), Err(boom), Ok(4), Err(boom)]


async def test_a_plain_return_value_is_wrapped_in_ok() -> None:
    async def plain(item: int) -> Any:
        return item + 1

    assert await batch(plain, range(3)) == [Ok(1), Ok(2), Ok(3)]


async def test_cancelling_the_batch_cancels_calls_in_flight_and_leaves_no_task() -> None:
    before = asyncio.all_tasks()
    started = asyncio.Event()
    cancelled = 0
    fake_in_flight = 0

    async def slow(item: int) -> Ok[int]:
        nonlocal cancelled, fake_in_flight
        fake_in_flight += 1
        if fake_in_flight == 4:
            started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        finally:
            fake_in_flight -= 1
        return Ok(item)

    task = asyncio.create_task(batch(slow, range(1000), concurrency=4))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled == 4
    assert fake_in_flight == 0
    assert asyncio.all_tasks() == before


async def test_an_error_from_the_inputs_stops_the_batch_and_cancels_calls() -> None:
    before = asyncio.all_tasks()
    fake = Tracker(delay=10)

    def inputs() -> Iterator[int]:
        yield from range(3)
        raise RuntimeError("input source broke")

    with pytest.raises(RuntimeError, match="input source broke"):
        await asyncio.wait_for(batch(fake, inputs(), concurrency=8), 5)
    assert fake.in_flight == 0
    assert asyncio.all_tasks() == before


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"concurrency": 0}, "concurrency"), ({"rate_limit": 0}, "rate_limit")]
)
async def test_bad_settings_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await batch(Tracker(), range(3), **kwargs)
