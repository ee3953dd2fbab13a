"""One deadline per call: the object every wait of a call asks.

A `Deadline` is made once per call from the caller's `Timeout` and the core's clock. Every wait of
that call goes through it: getting a connection and each attempt with its redirects
(`arm_attempt`), the rate limiter's queue and its Redis round trip, a wait helper's polls and every
read of a streamed body (`within`), and the sleeps between attempts or polls (`fits`, `sleep`).

Time is read on the call's clock; a wait for I/O (or a lock) is held by a loop timer of the
time left, because an injected clock (`FakeClock`) does not move while the network works. On
Python 3.11+ that timer is the loop's watchdog (one timer per 10 ms slot, however many awaits), and
aiohttp arms none of its own; on 3.10 aiohttp's `total` timer holds an attempt and
`asyncio.wait_for` any other await.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable
from typing import Literal, TypeVar

import aiohttp

from ._clock import Clock
from ._options import Timeout
from ._watchdog import WATCHDOG, Watch, Watchdog, watchdog_here

__all__ = ["Deadline", "DeadlinePassed", "Which", "client_timeout"]

T = TypeVar("T")
Which = Literal["attempt", "total"]


class DeadlinePassed(TimeoutError):
    """A bounded await ran out of time: `which` says whose (the call's total, or a per-attempt or
    per-read silence), `seconds` what that deadline was."""

    def __init__(self, which: Which, seconds: float | None) -> None:
        super().__init__(f"the {which} deadline passed")
        self.which: Which = which
        self.seconds = seconds


@functools.lru_cache(maxsize=64)
def client_timeout(total: float | None, connect: float | None) -> aiohttp.ClientTimeout:
    """aiohttp's timeout for an attempt: `total` (None when the watchdog holds it) and `connect`.

    It is frozen, so the usual ones are built once, not per call.
    """
    return aiohttp.ClientTimeout(total=total, connect=connect)


class _Watched(dict[float | None, aiohttp.ClientTimeout]):
    """aiohttp's timeout for an attempt the watchdog holds, by connect timeout (a dict lookup)."""

    def __missing__(self, connect: float | None) -> aiohttp.ClientTimeout:
        timeout = self[connect] = client_timeout(None, connect)
        return timeout


_WATCHED = _Watched()


class Deadline:
    """The time limits of one call, on `clock`: `at` is its total deadline (None: none)."""

    __slots__ = ("at", "attempt", "clock", "connect", "started", "total")

    def __init__(self, timeout: Timeout, clock: Clock, started: float | None = None) -> None:
        self.clock = clock
        self.started = clock.monotonic() if started is None else started
        self.total, self.attempt, self.connect = timeout.total, timeout.attempt, timeout.connect
        self.at = None if timeout.total is None else self.started + timeout.total

    @classmethod
    def until(cls, clock: Clock, at: float | None) -> Deadline:
        """A deadline at `at` on `clock.monotonic()`'s time line (None: none), with no other limit."""
        deadline = cls.__new__(cls)
        deadline.clock, deadline.started, deadline.at = clock, clock.monotonic(), at
        deadline.total = None if at is None else at - deadline.started
        deadline.attempt = deadline.connect = None
        return deadline

    def elapsed(self) -> float:
        return self.clock.monotonic() - self.started

    def remaining(self) -> float | None:
        """Seconds left of the total deadline (None: no total deadline; <= 0: passed)."""
        return None if self.at is None else self.at - self.clock.monotonic()

    def passed(self) -> bool:
        return self.at is not None and self.clock.monotonic() >= self.at

    def fits(self, wait: float) -> bool:
        """Whether a sleep of `wait` seconds ends before the total deadline."""
        return self.at is None or self.clock.monotonic() + wait < self.at

    async def sleep(self, wait: float) -> bool:
        """Sleep `wait` seconds on the clock if that ends before the deadline; False (no sleep) if not."""
        if not self.fits(wait):
            return False
        await self.clock.sleep(wait)
        return True

    def budget(self, silence: float | None) -> tuple[float | None, Which]:
        """How long the next await may take: the smaller of `silence` and the time left, and whose
        limit that is."""
        at = self.at
        if at is None:
            return silence, "attempt"
        left = at - self.clock.monotonic()
        if silence is None or left <= silence:
            return left, "total"
        return silence, "attempt"

    def arm_attempt(self, watchdog: Watchdog) -> tuple[aiohttp.ClientTimeout, Watch | None, float | None, Which]:
        """The timer of one attempt (redirects and a JSON body's read included): a watch on the
        loop's watchdog (3.11+) or aiohttp's own `total`. Returns aiohttp's timeout, the watch (or
        None), the attempt's budget in seconds and whose limit it is."""
        budget, which, at = self.attempt, "attempt", self.at
        if at is not None:  # `budget(self.attempt)`, inline: this runs for every attempt
            left = at - self.clock.monotonic()
            if left <= 0:
                raise DeadlinePassed("total", self.total)
            if budget is None or left <= budget:
                budget, which = left, "total"
        if budget is not None and WATCHDOG:
            return _WATCHED[self.connect], watchdog.watch(budget), budget, which
        return client_timeout(budget, self.connect), None, budget, which

    async def within(self, awaitable: Awaitable[T], silence: float | None = None) -> T:
        """`await awaitable`, for at most the smaller of `silence` and the time left.

        Raises `DeadlinePassed` (and cancels the await) when that passes first. The caller's own
        cancellation passes through unchanged.
        """
        budget, which = self.budget(silence)
        if budget is None:
            return await awaitable
        if budget <= 0:
            _discard(awaitable)
            raise DeadlinePassed(which, self.total if which == "total" else silence)
        seconds = self.total if which == "total" else silence
        if not WATCHDOG:
            return await _bounded(awaitable, budget, which, seconds)
        watch = watchdog_here().watch(budget)
        try:
            return await awaitable
        except asyncio.CancelledError:
            if watch.fired():
                raise DeadlinePassed(which, seconds) from None
            raise
        finally:
            watch.done()


async def _bounded(awaitable: Awaitable[T], budget: float, which: Which, seconds: float | None) -> T:
    """Python 3.10's bound: not `asyncio.wait_for`, which there can drop a result that arrives as
    the time runs out (a lock acquired then, and never released). A result that came is returned."""
    task = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait((task,), timeout=budget)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not task.done():
        task.cancel()
        try:
            return await task  # it may still finish with its result as it is cancelled
        except asyncio.CancelledError:
            raise DeadlinePassed(which, seconds) from None
    return task.result()


def _discard(awaitable: Awaitable[object]) -> None:
    """Close a coroutine that will not be awaited (no "never awaited" warning)."""
    close = getattr(awaitable, "close", None)
    if asyncio.iscoroutine(awaitable) and close is not None:
        close()
