"""Adaptive concurrency for `batch`: AIMD on what the server answers, and one shared pause.

The batch starts at `min_concurrency`, adds `increase` per round of successes (a round is
`concurrency` successes, about one round trip) and multiplies by `decrease` on push-back, never
leaving `[min_concurrency, max_concurrency]`. There is no slow start: a token bucket's burst hides
the limit until it is spent, and doubling until then would put hundreds of calls in flight into
the first 429s. A caller who knows a safe floor starts there with `min_concurrency`.
Push-back is a 429, a 503, a timeout, or a success that the pipeline had to retry. Only the first
push-back from calls started before the last cut counts, so one burst of 429s cuts once.
A `Retry-After` (429 or 503) pauses every new start of the batch until it has passed.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import attrs

from ._clock import Clock
from ._retry import parse_retry_after
from .errors import APIError, RateLimitError, RequestTimeoutError
from .result import Ok, Result

__all__ = ["Adaptive", "AdaptiveController"]


def _positive_int(name: str) -> Any:
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")

    return check


@attrs.frozen
class Adaptive:
    """`batch(..., concurrency=Adaptive(1, 256))`: find the concurrency the server tolerates.

    `increase` is added to the concurrency per round of successes, `decrease` (0 < d < 1) multiplies
    it on push-back. A shared pause lasts what `Retry-After` asked, up to `max_pause` seconds.
    """

    min_concurrency: int = attrs.field(default=1, validator=_positive_int("min_concurrency"))
    max_concurrency: int = attrs.field(default=64, validator=_positive_int("max_concurrency"))
    increase: float = 1.0
    decrease: float = 0.5
    max_pause: float = 60.0

    def __attrs_post_init__(self) -> None:
        if self.max_concurrency < self.min_concurrency:
            raise ValueError(f"max_concurrency {self.max_concurrency} is below min_concurrency {self.min_concurrency}")
        if not (math.isfinite(self.increase) and self.increase > 0):
            raise ValueError(f"increase must be a finite number > 0, got {self.increase!r}")
        if not 0 < self.decrease < 1:
            raise ValueError(f"decrease must be between 0 and 1 (exclusive), got {self.decrease!r}")
        if not (math.isfinite(self.max_pause) and self.max_pause >= 0):
            raise ValueError(f"max_pause must be a finite number of seconds >= 0, got {self.max_pause!r}")


def push_back(result: Result[Any, Any], now_wall: float) -> tuple[bool, float | None]:
    """Whether `result` says the server is overloaded, and the pause it asked for (seconds), if any."""
    if isinstance(result, Ok):
        meta = result.meta
        return meta is not None and meta.attempts > 1, None
    error = result.error
    if isinstance(error, RateLimitError):
        return True, error.retry_after
    if isinstance(error, RequestTimeoutError):
        return True, None
    if isinstance(error, APIError) and error.status == 503:
        return True, parse_retry_after({k.lower(): v for k, v in error.headers.items()}, now_wall)
    return False, None


class AdaptiveController:
    """The state of one adaptive batch: its concurrency limit and its shared pause."""

    def __init__(self, options: Adaptive, clock: Clock) -> None:
        self.options = options
        self.clock = clock
        self.limit = float(options.min_concurrency)
        self.cuts = 0
        self.paused = 0.0  # seconds of shared pause asked for, in total
        self._last_cut = -1  # calls started before this index share the congestion already cut for
        self._started = 0
        self._paused_until = -math.inf
        self._lock = asyncio.Lock()

    @property
    def concurrency(self) -> int:
        """The number of calls the batch may have in flight now."""
        return int(self.limit)

    def started(self, count: int) -> None:
        """The batch has started `count` calls so far."""
        self._started = count

    async def gate(self) -> None:
        """Wait out the shared pause (one waiter sleeps at a time; the pause may grow meanwhile)."""
        if self.clock.monotonic() >= self._paused_until:
            return
        async with self._lock:
            while (wait := self._paused_until - self.clock.monotonic()) > 0:
                await self.clock.sleep(wait)

    def observe(self, index: int, result: Result[Any, Any], saturated: bool) -> None:
        """Adjust to the result of the call started `index`-th; `saturated`: the batch was using its limit."""
        pushed, pause = push_back(result, self.clock.wall())
        opts = self.options
        if pushed:
            if pause is not None and pause > 0:
                pause = min(pause, opts.max_pause)
                self.paused += pause
                self._paused_until = max(self._paused_until, self.clock.monotonic() + pause)
            if index > self._last_cut:
                self.limit = max(float(opts.min_concurrency), self.limit * opts.decrease)
                self._last_cut = self._started - 1
                self.cuts += 1
        elif isinstance(result, Ok) and saturated:
            self.limit = min(float(opts.max_concurrency), self.limit + opts.increase / self.limit)
