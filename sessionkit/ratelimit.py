"""Rate limiters a core awaits before every attempt it sends, so a limit holds for every call.

    limiter = LocalRateLimiter(50)                          # this process: 50 attempts a second
    async with OrqCore(api_key, rate_limiter=limiter) as core:
        await batch(partial(sessions_create, core), requests, concurrency=64)

`RedisRateLimiter` (`pip install 'sessionkit[redis]'`) shares one limit between every process that
names the same Redis key. Both pace starts with GCRA (a token bucket kept as one timestamp): with
`burst=1` attempts start exactly `1 / rate` seconds apart, so a server that allows `rate` requests a
second never sees more. A limiter never raises and never waits past the call's total deadline: it
lets the attempt start, or returns a `Refusal` that the call ends with.
"""

from __future__ import annotations

import asyncio
import importlib
import math
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from ._clock import Clock
from ._closing import AsyncClosing
from ._logging import logger
from ._loop import runs_here
from ._secrets import Secrets, redact_url
from .errors import ConnectionError, RequestTimeoutError, SessionkitError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["LocalRateLimiter", "RateLimiter", "RedisRateLimiter", "Refusal"]


@attrs.frozen
class Refusal:
    """Why a limiter did not let an attempt start: the call's deadline would pass first
    (`reason="deadline"`), or a shared limiter's store cannot be reached (`reason="unavailable"`)."""

    reason: Literal["deadline", "unavailable"]
    message: str
    cause: BaseException | None = None

    def error(self, timeout: float | None, **common: Any) -> SessionkitError:
        """The error the call ends with: `RequestTimeoutError("total")` or `ConnectionError`."""
        if self.reason == "deadline":
            return RequestTimeoutError(self.message, deadline="total", timeout=timeout, **common)
        return ConnectionError(self.message, cause=self.cause, **common)


_LATE = Refusal("deadline", "the rate limiter would start this attempt after the call's total deadline")


class RateLimiter(Protocol):
    """What a core's `rate_limiter=` takes."""

    async def acquire(self, clock: Clock, deadline: float | None) -> Refusal | None:
        """Wait (on `clock`) until an attempt may start and return None, or return why it may not.

        `deadline` is the call's total deadline on `clock.monotonic()`'s time line, if it has one.
        """
        ...


def _check_rate(rate: float, burst: int) -> None:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (math.isfinite(rate) and rate > 0):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"rate must be a finite number of requests per second > 0, got {rate!r}")
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"burst must be an int >= 1, got {burst!r}")


class Gcra:
    """The Generic Cell Rate Algorithm on one time line: `rate` a second, `burst` at once.

    `tat` (theoretical arrival time) is when the bucket would be empty again. `reserve` books the
    next start (a waiting client); `take` admits now or says how long until it could (a server).
    After an idle spell the schedule restarts from now: it never catches up on unused time.
    """

    __slots__ = ("interval", "tat", "tolerance")

    def __init__(self, rate: float, burst: int = 1) -> None:
        _check_rate(rate, burst)
        self.interval = 1.0 / rate
        self.tolerance = (burst - 1) * self.interval
        self.tat = -math.inf

    def earliest(self, now: float) -> float:
        """The first time at or after `now` that one more start conforms."""
        return max(now, self.tat - self.tolerance)

    def reserve(self, now: float) -> float:
        """Book the next conforming start and return it (at or after `now`)."""
        start = self.earliest(now)
        self.tat = max(self.tat, start) + self.interval
        return start

    def take(self, now: float) -> float:
        """0.0 and a start booked when one conforms now; else the seconds until one would (nothing booked)."""
        start = self.earliest(now)
        if start > now:
            return start - now
        self.tat = max(self.tat, now) + self.interval
        return 0.0


class _LoopLock:
    """A FIFO lock for the running event loop: a core may be used again from a new loop."""

    __slots__ = ("_lock", "_loop")

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> asyncio.Lock:
        if self._loop is None or not runs_here(self._loop):
            self._lock, self._loop = asyncio.Lock(), asyncio.get_running_loop()
        return self._lock


class LocalRateLimiter:
    """At most `rate` attempt starts a second in this process (`burst` of them at once after an idle spell).

    Waiters start in the order they asked. One limiter may serve several cores (one API key used
    through several clients); it reads and sleeps on the clock of the core that calls it.
    """

    def __init__(self, rate: float, *, burst: int = 1) -> None:
        self.rate = rate
        self.burst = burst
        self._gcra = Gcra(rate, burst)
        self._lock = _LoopLock()  # FIFO; and one sleeper at a time, so a FakeClock moves exactly

    async def acquire(self, clock: Clock, deadline: float | None) -> Refusal | None:
        async with self._lock.get():
            now = clock.monotonic()
            if deadline is not None and self._gcra.earliest(now) >= deadline:
                return _LATE
            before = self._gcra.tat
            start = self._gcra.reserve(now)
            if start > now:
                try:
                    await clock.sleep(start - now)
                except BaseException:  # cancelled: give the slot back (we hold the lock, it was the last)
                    self._gcra.tat = before
                    raise
        return None

    def __repr__(self) -> str:
        return f"LocalRateLimiter(rate={self.rate!r}, burst={self.burst!r})"


_SHARED_SLACK = 0.02  # seconds of the rate a shared limiter's default burst holds
_OTHER_LOOP = Refusal(
    "unavailable", "this RedisRateLimiter's connections belong to another event loop: aclose() it there first"
)


def _redis_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError, asyncio.TimeoutError, TimeoutError)


class RedisRateLimiter(AsyncClosing):
    """One limit shared through Redis by every process that uses the same `url` and `key`.

    Each attempt runs one atomic GCRA step in Redis (pyrate-limiter's script); when it does not
    conform, the limiter sleeps the exact wait Redis computed and asks again. Within a process one
    waiter at a time asks Redis (the others queue in order), so Redis sees at most one request per
    process per start. Times come from the caller's wall clock: hosts sharing a key need NTP.

    `burst` defaults to 20 ms of the rate (at least 1): a waiter wakes and reaches Redis a
    millisecond or two after its slot, and with no slack that time is lost at every start (at
    200/s, four processes reached 0.85 of the rate with `burst=1` and 0.96 with the default).

    If Redis cannot be reached (connect and command each bounded by `timeout` seconds, no client
    retries), the call does not hang: with `fallback` (say `LocalRateLimiter(rate / processes)`) the
    attempt waits on it instead and a warning is logged once per outage; without it the call ends in
    `Err(ConnectionError)`. Redis is tried again `retry_interval` seconds after a failure.
    Close it with `await limiter.aclose()` (or `async with`). Its connections belong to the event
    loop that first used it (a call from another loop ends in `Err(ConnectionError)`); after
    `aclose()` it reconnects in whichever loop uses it next.
    """

    def __init__(
        self,
        url: str,
        rate: float,
        *,
        burst: int | None = None,
        key: str = "sessionkit:ratelimit",
        timeout: float = 1.0,
        fallback: RateLimiter | None = None,
        retry_interval: float = 5.0,
    ) -> None:
        _check_rate(rate, 1)
        burst = max(1, math.ceil(rate * _SHARED_SLACK)) if burst is None else burst
        _check_rate(rate, burst)
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")
        try:
            import pyrate_limiter

            importlib.import_module("redis.asyncio")  # checked here, used when first connecting
        except ImportError as exc:
            raise ImportError("RedisRateLimiter needs the redis extra: pip install 'sessionkit[redis]'") from exc
        self.url, self.rate, self.burst, self.key = url, rate, burst, key
        self.timeout, self.fallback, self.retry_interval = float(timeout), fallback, retry_interval
        self._secrets = Secrets.of((), {}, url)
        # Rates are whole units per whole milliseconds: per 1,000 s keeps a fractional rate exact.
        self._rates = [pyrate_limiter.Rate(max(1, round(rate * 1_000)), 1_000_000, burst)]
        self._algorithm = pyrate_limiter.GCRA()
        self._client: Redis | None = None
        self._store: Any = None
        self._down_until = -math.inf
        self._lock = _LoopLock()
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop its connections belong to

    def _connect(self) -> Any:
        if self._store is None:
            self._loop = asyncio.get_running_loop()
            from pyrate_limiter import RedisStateStore
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            self._client = Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
                self.url,
                socket_connect_timeout=self.timeout,
                socket_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
            )
            self._store = RedisStateStore(self._client, self.key)
        return self._store

    async def _wait_for(self, clock: Clock) -> float:
        """One GCRA step in Redis: 0.0 when admitted, else the seconds to wait."""
        store = self._connect()
        now_ms = int(clock.wall() * 1000)
        decision = await asyncio.wait_for(store.check(self._algorithm, self._rates, now_ms, 1), 2 * self.timeout)
        return 0.0 if decision.allowed else max(decision.retry_after_ms or 0, 1) / 1000.0

    async def acquire(self, clock: Clock, deadline: float | None) -> Refusal | None:
        if self._store is not None and (self._loop is None or not runs_here(self._loop)):
            return _OTHER_LOOP
        async with self._lock.get():
            while True:
                now = clock.monotonic()
                if now < self._down_until:
                    return await self._unavailable(clock, deadline, None)
                try:
                    wait = await self._wait_for(clock)
                except _redis_errors() as exc:
                    self._down_until = clock.monotonic() + self.retry_interval
                    return await self._unavailable(clock, deadline, exc)
                if wait == 0.0:
                    return None
                if deadline is not None and clock.monotonic() + wait >= deadline:
                    return _LATE
                await clock.sleep(wait)

    async def _unavailable(self, clock: Clock, deadline: float | None, exc: BaseException | None) -> Refusal | None:
        where = redact_url(self.url)
        detail = self._secrets.scrub(f": {type(exc).__name__}: {exc}") if exc is not None else " (recently failed)"
        if self.fallback is None:
            cause = None if exc is None else self._secrets.scrub_exception(exc)
            return Refusal("unavailable", f"the shared rate limiter at {where} is unreachable{detail}", cause)
        if exc is not None:
            logger.warning("rate limiter: Redis at %s is unreachable%s; using the local fallback", where, detail)
        return await self.fallback.acquire(clock, deadline)

    async def aclose(self) -> None:
        """Close the Redis connections. Safe to call twice; a later call reconnects."""
        client, self._client, self._store = self._client, None, None
        if client is not None:
            await client.aclose()

    def __repr__(self) -> str:
        return f"RedisRateLimiter({redact_url(self.url)!r}, rate={self.rate!r}, burst={self.burst!r}, key={self.key!r})"
