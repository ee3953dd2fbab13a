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

Against a rate-limited server, `concurrency=Adaptive(1, 256)` finds the concurrency it tolerates
(AIMD on 503s and timeouts) and, from its first 429, paces every attempt at a rate it measures
between 429s (see `sessionkit._adaptive`); a core's `rate_limiter=` (`sessionkit.ratelimit`)
holds a known rate for every attempt, shared or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sized
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import attrs

from ._adaptive import Adaptive, AdaptiveController, CallTicket
from ._batchcall import BATCH_CALL
from ._clock import SYSTEM_CLOCK, Clock
from .ratelimit import LocalRateLimiter
from .result import Err, Ok, Result

__all__ = ["Adaptive", "BatchProgress", "batch", "batch_iter"]

X = TypeVar("X")
T = TypeVar("T")
E = TypeVar("E")

if TYPE_CHECKING:
    from typing import Concatenate, TypeAlias

    # Only for the checker: Python 3.10 cannot build `Concatenate[X, ...]` at run time.
    BatchFn: TypeAlias = Callable[Concatenate[X, ...], Awaitable[Result[T, E]]]


@attrs.frozen
class BatchProgress:
    """Counts after a call completes. `total` is None until the number of inputs is known;
    `concurrency` is the batch's limit on calls in flight (an adaptive batch's current one);
    `rate` is the starts a second an adaptive batch paces at (None while it does not pace)."""

    done: int
    ok: int
    err: int
    in_flight: int
    total: int | None
    concurrency: int = 0
    rate: float | None = None


async def _call(
    fn: BatchFn[X, T, E],
    item: X,
    kwargs: dict[str, Any],
    gates: tuple[Callable[[], Awaitable[object]], ...],
    ticket: CallTicket | None = None,
) -> Result[T, E | Exception]:
    if ticket is not None:  # an adaptive batch: its pause and pace, and it hears of every attempt
        await ticket.controller.gate(ticket)
        BATCH_CALL.set(ticket)  # this task's own context: the pipeline reports to this call's ticket
    for gate in gates:  # the start rate
        await gate()
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


def _limits(
    concurrency: int | Adaptive, rate_limit: float | None, clock: Clock
) -> tuple[AdaptiveController | None, tuple[Callable[[], Awaitable[object]], ...]]:
    """The adaptive controller (if any) and the gates each call passes before it starts."""
    if not isinstance(concurrency, Adaptive) and (isinstance(concurrency, bool) or concurrency < 1):
        raise ValueError(f"concurrency must be an int >= 1 or an Adaptive, got {concurrency!r}")
    if rate_limit is not None and not rate_limit > 0:
        raise ValueError(f"rate_limit must be > 0 requests per second, got {rate_limit!r}")
    gates: list[Callable[[], Awaitable[object]]] = []
    controller = AdaptiveController(concurrency, clock) if isinstance(concurrency, Adaptive) else None
    if rate_limit is not None:
        limiter = LocalRateLimiter(rate_limit)
        gates.append(functools.partial(limiter.acquire, clock, None))
    return controller, tuple(gates)


async def batch_iter(
    fn: BatchFn[X, T, E],
    inputs: Iterable[X] | AsyncIterable[X],
    *,
    concurrency: int | Adaptive = 16,
    rate_limit: float | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    clock: Clock | None = None,
    **call_kwargs: Any,
) -> AsyncGenerator[tuple[int, Result[T, E | Exception]], None]:
    """Yield `(index, result)` for every input, in completion order, each index exactly once.

    `fn(item, **call_kwargs)` is called for each input with at most `concurrency` calls in flight
    and, with `rate_limit`, at most that many call starts per second. `concurrency=Adaptive(min, max)`
    finds what the server tolerates instead (see `Adaptive`): it backs off on 503s and timeouts,
    paces every attempt from the first 429 at a rate measured between 429s, and pauses every new
    start for a 503's `Retry-After` (a 429's when the server refuses everything). Closing the iterator early
    (`break` inside `contextlib.aclosing(...)`) or cancelling its consumer cancels the calls in flight.
    `clock` (for tests: `sessionkit.testing.FakeClock`) is what the rate limit and pauses read and sleep on.
    """
    controller, gates = _limits(concurrency, rate_limit, clock or SYSTEM_CLOCK)
    source: Iterator[X] | AsyncIterator[X] = aiter(inputs) if isinstance(inputs, AsyncIterable) else iter(inputs)
    total = len(inputs) if isinstance(inputs, Sized) else None
    running: dict[asyncio.Task[Result[T, E | Exception]], tuple[int, CallTicket | None]] = {}
    finished: deque[asyncio.Task[Result[T, E | Exception]]] = deque()
    wake = asyncio.Event()

    def on_done(task: asyncio.Task[Result[T, E | Exception]]) -> None:
        finished.append(task)
        wake.set()

    started = done = ok = 0
    exhausted = False
    try:
        while True:
            limit = controller.concurrency if controller is not None else cast("int", concurrency)
            while not exhausted and len(running) < limit:
                item = await _next_input(source)
                if item is _End.END:
                    exhausted, total = True, started
                    break
                ticket = controller.ticket() if controller is not None else None
                task = asyncio.create_task(_call(fn, item, call_kwargs, gates, ticket))
                running[task] = (started, ticket)
                task.add_done_callback(on_done)
                started += 1
            if not running:
                return
            while not finished:
                wake.clear()
                await wake.wait()
            task = finished.popleft()
            saturated = len(running) >= limit
            index, ticket = running.pop(task)
            result = task.result()  # a cancelled call re-raises CancelledError here, ending the batch
            if controller is not None and ticket is not None:
                controller.finished(ticket, result, saturated)
            done += 1
            ok += isinstance(result, Ok)
            if progress is not None:
                in_use = controller.concurrency if controller is not None else limit
                rate = controller.rate if controller is not None else None
                progress(BatchProgress(done, ok, done - ok, len(running), total, in_use, rate))
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
    concurrency: int | Adaptive = 16,
    rate_limit: float | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    clock: Clock | None = None,
    **call_kwargs: Any,
) -> list[Result[T, E | Exception]]:
    """Call `fn(item, **call_kwargs)` for every input; the results come back in input order.

    See `batch_iter` for the concurrency (fixed or `Adaptive`), rate-limit and progress options.
    """
    results: dict[int, Result[T, E | Exception]] = {}
    stream = batch_iter(
        fn, inputs, concurrency=concurrency, rate_limit=rate_limit, progress=progress, clock=clock, **call_kwargs
    )
    async with contextlib.aclosing(stream):
        async for index, result in stream:
            results[index] = result
    return [results[i] for i in range(len(results))]
