"""Run one operation over many inputs with bounded concurrency.

    results = await batch(functools.partial(sessions_create, core), requests, concurrency=8)

`batch` returns exactly one `Ok`/`Err` per input, in input order; `batch_iter` yields
`(index, result)` as calls complete. Inputs are pulled lazily: an input is taken only when a call
slot is free, so a generator of 100,000 inputs never has more than `concurrency` calls (or tasks)
alive at once. Cancelling the caller cancels every call in flight and waits for them to finish.

An exception raised by `fn` (a bug, or a function that raises instead of returning a `Result`)
becomes `Err(exception)` for that input and the batch goes on; a plain return value that is not
a `Result` is wrapped in `Ok`. `asyncio.CancelledError`, and any exception raised by the inputs
iterable or by the `progress` callback, propagates and stops the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sized
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import attrs

from ._clock import SYSTEM_CLOCK, Clock
from .result import Err, Ok, Result

__all__ = ["BatchProgress", "batch", "batch_iter"]

X = TypeVar("X")
T = TypeVar("T")
E = TypeVar("E")

if TYPE_CHECKING:
    from typing import Concatenate, TypeAlias

    # Only for the checker: Python 3.10 cannot build `Concatenate[X, ...]` at run time.
    BatchFn: TypeAlias = Callable[Concatenate[X, ...], Awaitable[Result[T, E]]]


@attrs.frozen
class BatchProgress:
    """Counts after a call completes. `total` is None until the number of inputs is known."""

    done: int
    ok: int
    err: int
    in_flight: int
    total: int | None


class _Spacer:
    """Spaces call starts `1 / rate` seconds apart on a schedule (GCRA with no burst allowance).

    The next slot is reserved only when the previous caller starts, as `max(now, previous slot +
    interval)`: the average rate stays exact under scheduling jitter, and after a stall the schedule
    restarts from now instead of catching up, so any window of W seconds holds at most `rate * W + 1`
    starts.
    """

    def __init__(self, rate: float, clock: Clock) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0
        self._clock = clock
        self._lock = asyncio.Lock()  # FIFO: callers start in the order they asked

    async def wait(self) -> None:
        async with self._lock:
            now = self._clock.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
            if slot > now:
                await self._clock.sleep(slot - now)


async def _call(
    fn: BatchFn[X, T, E], item: X, kwargs: dict[str, Any], spacer: _Spacer | None
) -> Result[T, E | Exception]:
    if spacer is not None:
        await spacer.wait()
    try:
        result: Any = await fn(item, **kwargs)
    except Exception as exc:  # a raising fn fails its own input, never the whole batch
        return Err(exc)
    if isinstance(result, (Ok, Err)):
        return cast("Result[T, E | Exception]", result)
    return Ok(result)


class _End(enum.Enum):
    END = 0


async def _next_input(source: Iterator[X] | AsyncIterator[X]) -> X | Literal[_End.END]:
    if isinstance(source, AsyncIterator):
        try:
            return await anext(source)
        except StopAsyncIteration:
            return _End.END
    return next(source, _End.END)


def _check(concurrency: int, rate_limit: float | None) -> None:
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency!r}")
    if rate_limit is not None and not rate_limit > 0:
        raise ValueError(f"rate_limit must be > 0 requests per second, got {rate_limit!r}")


async def batch_iter(
    fn: BatchFn[X, T, E],
    inputs: Iterable[X] | AsyncIterable[X],
    *,
    concurrency: int = 16,
    rate_limit: float | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    clock: Clock | None = None,
    **call_kwargs: Any,
) -> AsyncGenerator[tuple[int, Result[T, E | Exception]], None]:
    """Yield `(index, result)` for every input, in completion order, each index exactly once.

    `fn(item, **call_kwargs)` is called for each input with at most `concurrency` calls in flight
    and, with `rate_limit`, at most that many call starts per second. Closing the iterator early
    (`break` inside `contextlib.aclosing(...)`) or cancelling its consumer cancels the calls in flight.
    `clock` (for tests: `sessionkit.testing.FakeClock`) is what the rate limit reads and sleeps on.
    """
    _check(concurrency, rate_limit)
    spacer = _Spacer(rate_limit, clock or SYSTEM_CLOCK) if rate_limit is not None else None
    source: Iterator[X] | AsyncIterator[X] = aiter(inputs) if isinstance(inputs, AsyncIterable) else iter(inputs)
    total = len(inputs) if isinstance(inputs, Sized) else None
    running: dict[asyncio.Task[Result[T, E | Exception]], int] = {}
    finished: deque[asyncio.Task[Result[T, E | Exception]]] = deque()
    wake = asyncio.Event()

    def on_done(task: asyncio.Task[Result[T, E | Exception]]) -> None:
        finished.append(task)
        wake.set()

    started = done = ok = 0
    exhausted = False
    try:
        while True:
            while not exhausted and len(running) < concurrency:
                item = await _next_input(source)
                if item is _End.END:
                    exhausted, total = True, started
                    break
                task = asyncio.create_task(_call(fn, item, call_kwargs, spacer))
                running[task] = started
                task.add_done_callback(on_done)
                started += 1
            if not running:
                return
            while not finished:
                wake.clear()
                await wake.wait()
            task = finished.popleft()
            index = running.pop(task)
            result = task.result()  # a cancelled call re-raises CancelledError here, ending the batch
            done += 1
            ok += isinstance(result, Ok)
            if progress is not None:
                progress(BatchProgress(done, ok, done - ok, len(running), total))
            yield index, result
    finally:
        for task in running:
            task.cancel()
        if running:
            # Wait even if we are being cancelled ourselves, so no call outlives the batch.
            await asyncio.wait(list(running))


async def batch(
    fn: BatchFn[X, T, E],
    inputs: Iterable[X] | AsyncIterable[X],
    *,
    concurrency: int = 16,
    rate_limit: float | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    clock: Clock | None = None,
    **call_kwargs: Any,
) -> list[Result[T, E | Exception]]:
    """Call `fn(item, **call_kwargs)` for every input; the results come back in input order.

    See `batch_iter` for the concurrency, rate-limit and progress options.
    """
    results: dict[int, Result[T, E | Exception]] = {}
    stream = batch_iter(
        fn, inputs, concurrency=concurrency, rate_limit=rate_limit, progress=progress, clock=clock, **call_kwargs
    )
    async with contextlib.aclosing(stream):
        async for index, result in stream:
            results[index] = result
    return [results[i] for i in range(len(results))]
