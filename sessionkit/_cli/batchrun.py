"""`--batch`: NDJSON requests on stdin, one NDJSON result per input line on stdout.

Results are written in input order, each as soon as every line before it is known. On SIGINT or
SIGTERM no new call starts, the calls in flight get `--grace` seconds, every finished result is
written (the ones still held back for an unfinished line too: each carries its `index`), stderr
says which input lines were not done, and the exit code is 130 or 143. `--resume FILE` skips the
lines a previous run's output FILE holds a result for.

Of the lines not done, `in_doubt` names those whose call had started and was cancelled without
being idempotent (`Line.idempotent`): the server may have acted on them (an Orq, Mix or Log10
create may exist), and a resume sends them again.

`--adaptive` lets the calls in flight adapt between 1 and `--concurrency` (`sessionkit.batch.Adaptive`);
`--rate` limits every request of the run, retries included, and `--redis-url` shares that limit
with every other process given the same URL and `--rate-key` (`sessionkit.ratelimit`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from ..errors import SessionkitError
from ..result import Err, Result
from .ndjson import Line, finished_indexes, parse_lines
from .output import EXIT_API, EXIT_OK, UsageError, batch_line, dumps
from .progress import progress
from .stop import Abandoned, Stop
from .table import Op

if TYPE_CHECKING:
    from ..ratelimit import RateLimiter

__all__ = ["DEFAULT_GRACE", "rate_limiter", "run_batch"]

DEFAULT_GRACE = 5.0  # seconds the calls in flight may take to finish once the batch is told to stop


class _Writer:
    """Writes results in input order, holding back the ones that finish before an earlier line."""

    def __init__(self, order: list[int]) -> None:
        self._order = order
        self._next = 0
        self._held: dict[int, Result[Any, Exception]] = {}
        self.done: set[int] = set()
        self.failed = 0

    def add(self, index: int, result: Result[Any, Exception]) -> None:
        self._held[index] = result
        while self._next < len(self._order) and self._order[self._next] in self._held:
            self._write(self._order[self._next])
            self._next += 1
        sys.stdout.flush()

    def flush_held(self) -> None:
        """Write every result still held back: stopping, the lines before them will not come."""
        for index in sorted(self._held):
            self._write(index)
        sys.stdout.flush()

    def _write(self, index: int) -> None:
        result = self._held.pop(index)
        self.done.add(index)
        self.failed += isinstance(result, Err)
        sys.stdout.write(batch_line(index, result) + "\n")


def rate_limiter(ns: argparse.Namespace, service: str) -> RateLimiter | None:
    """The core's limiter from `--rate` (shared through `--redis-url` when given), or None."""
    rate: float | None = getattr(ns, "rate", None)
    if rate is None:
        return None
    from ..ratelimit import LocalRateLimiter, RedisRateLimiter

    if ns.redis_url is None:
        return LocalRateLimiter(rate)
    try:
        return RedisRateLimiter(ns.redis_url, rate, key=ns.rate_key or f"sessionkit:{service}")
    except ImportError as exc:
        raise UsageError(str(exc)) from None


async def run_batch(fn: Callable[..., Any], core: Any, op: Op, ns: argparse.Namespace) -> int:
    """Run `fn` once per NDJSON input line; the exit code (0 all ok, 1 some failed, 130/143 stopped)."""
    try:
        return await _run_batch(fn, core, op, ns)
    finally:
        close = getattr(core.config.limiter, "aclose", None)  # a shared limiter's connections
        if close is not None:
            await close()


async def _run_batch(fn: Callable[..., Any], core: Any, op: Op, ns: argparse.Namespace) -> int:
    from ..batch import Adaptive, batch_iter  # only batch mode needs it

    skip = finished_indexes(ns.resume) if ns.resume is not None else set[int]()
    lines = parse_lines(op, sys.stdin.buffer.read(), skip)
    writer = _Writer([line.index for line in lines])
    stop = Stop(DEFAULT_GRACE if ns.grace is None else ns.grace)

    def pending() -> Iterator[Line]:
        # Pulled by the batch only when a call slot is free, so a stop is seen before each new call.
        for line in lines:
            if stop.stopping:
                return
            yield line

    async def call(line: Line) -> Result[Any, SessionkitError | Abandoned]:
        if line.error is not None:
            return Err(line.error)
        return await stop.run(lambda: fn(core, line.request, options=line.options))

    abandoned: set[int] = set()  # lines whose call started and was cancelled: no result
    with stop.installed(), progress(op.name, len(lines), enabled=sys.stderr.isatty()) as bar:
        concurrency = Adaptive(1, ns.concurrency) if ns.adaptive else ns.concurrency
        stream = batch_iter(call, pending(), concurrency=concurrency)
        async with aclosing(stream):
            async for position, result in stream:
                bar.advance()
                if isinstance(result, Err) and isinstance(result.error, Abandoned):
                    abandoned.add(lines[position].index)
                else:
                    writer.add(lines[position].index, result)
    if not stop.stopping:
        return EXIT_OK if writer.failed == 0 else EXIT_API
    writer.flush_held()
    not_done = [line for line in lines if line.index not in writer.done]
    in_doubt = [line for line in not_done if line.index in abandoned and not line.idempotent]
    report = {
        "interrupted": True,
        "signal": stop.signal_name,
        "not_done": [line.index + 1 for line in not_done],
        "in_doubt": [line.index + 1 for line in in_doubt],
    }
    print(dumps(report), file=sys.stderr)
    return stop.exit_code
