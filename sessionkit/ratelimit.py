"""Rate limiters a core awaits before every attempt it sends, so a limit holds for every call.

    limiter = LocalRateLimiter(50)                          # this process: 50 attempts a second
    async with OrqCore(api_key, rate_limiter=limiter) as core:
        await batch(partial(sessions_create, core), requests, concurrency=64)

`RedisRateLimiter` (`pip install 'sessionkit[redis]'`) shares one limit between every process that
names the same Redis key. Both pace starts with GCRA (a token bucket kept as one timestamp): with
`burst=1` attempts start exactly `1 / rate` seconds apart, so a server that allows `rate` requests a
second never sees more. A limiter never raises and never waits past the call's total deadline: its
queue, its sleeps and its Redis round trips all end by it; it lets the attempt start, or returns
a `Refusal` that the call ends with. A bad rate, burst or Redis URL is a `ValueError` when the
limiter is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import ipaddress
import math
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit

import attrs

from ._clock import Clock
from ._closing import AsyncClosing
from ._deadline import Deadline, DeadlinePassed
from ._logging import logger
from ._loop import LoopRef
from ._secrets import Secrets, redact_url
from .errors import ConnectionError, RequestTimeoutError, SessionkitError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["LocalRateLimiter", "RateLimiter", "RedisRateLimiter", "Refusal"]

MAX_BURST = 1_000_000_000
MAX_REDIS_RATE = 1_000_000.0  # Redis keeps the schedule in whole microseconds


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

        `deadline` is the call's total deadline on `clock.monotonic()`'s time line, if it has one;
        no wait may go past it (`Deadline.until(clock, deadline)` bounds any await by it).
        """
        ...


def _check_rate(rate: float, burst: int) -> None:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (math.isfinite(rate) and rate > 0):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"rate must be a finite number of requests per second > 0, got {rate!r}")
    if not math.isfinite(1.0 / rate):
        raise ValueError(f"rate {rate!r} is too small: one request every {1.0 / rate} seconds")
    if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= MAX_BURST:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"burst must be an int from 1 to {MAX_BURST:,}, got {burst!r}")
    if not math.isfinite((burst - 1) / rate):
        raise ValueError(f"burst {burst} at rate {rate!r} spans more time than can be counted")


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

    def earliest(self, now: float, queued: int = 0) -> float:
        """The first time at or after `now` that one more start conforms, after `queued` others."""
        return max(now, self.tat + queued * self.interval - self.tolerance)

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


class _Queue:
    """A FIFO lock on the running event loop, and how many wait for it. A limiter may be used again
    from a new loop: there it gets a new lock (the old one's waiters are gone with their loop)."""

    __slots__ = ("_home", "lock", "waiting")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0
        self._home: LoopRef | None = None

    def here(self) -> _Queue:
        if self._home is None or not self._home.here():
            self.lock, self.waiting, self._home = asyncio.Lock(), 0, LoopRef.current()
        return self

    async def enter(self, bound: Deadline) -> bool:
        """Take the lock before `bound` passes (True), or give up when it passes first (False)."""
        self.waiting += 1
        try:
            await bound.within(self.lock.acquire())
        except DeadlinePassed:
            return False
        finally:
            self.waiting -= 1
        return True


class LocalRateLimiter:
    """At most `rate` attempt starts a second in this process (`burst` of them at once after an idle spell).

    Waiters start in the order they asked. One limiter may serve several cores (one API key used
    through several clients); it reads and sleeps on the clock of the core that calls it. A call
    whose turn, after every waiter ahead of it, would come at or after its total deadline is refused
    at once; so is one still waiting in the queue when its deadline passes.
    """

    def __init__(self, rate: float, *, burst: int = 1) -> None:
        self._gcra = Gcra(rate, burst)
        self.rate = rate
        self.burst = burst
        self._queue = _Queue()  # FIFO; and one sleeper at a time, so a FakeClock moves exactly

    async def acquire(self, clock: Clock, deadline: float | None) -> Refusal | None:
        queue, gcra = self._queue.here(), self._gcra
        if deadline is not None and gcra.earliest(clock.monotonic(), queue.waiting) >= deadline:
            return _LATE  # the waiters ahead already take every slot up to the deadline
        if not await queue.enter(Deadline.until(clock, deadline)):
            return _LATE
        try:
            now = clock.monotonic()
            if deadline is not None and gcra.earliest(now) >= deadline:
                return _LATE
            before = gcra.tat
            start = gcra.reserve(now)
            if start > now:
                try:
                    await clock.sleep(start - now)
                except BaseException:  # cancelled: give the slot back (we hold the lock, it was the last)
                    gcra.tat = before
                    raise
        finally:
            queue.lock.release()
        return None

    def __repr__(self) -> str:
        return f"LocalRateLimiter(rate={self.rate!r}, burst={self.burst!r})"


_SHARED_SLACK = 0.02  # seconds of the rate a shared limiter's default burst holds
_OTHER_LOOP = Refusal(
    "unavailable", "this RedisRateLimiter's connections belong to another event loop that is still running"
)


def _redis_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError, asyncio.TimeoutError, TimeoutError)


def _ipv6(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
    except ValueError:
        return False


def check_redis_url(url: object) -> str:
    """`url` if redis-py can connect with it (`redis://`, `rediss://` or `unix://`); `ValueError`
    naming what is wrong otherwise (the URL shown without its password)."""
    if not isinstance(url, str):
        raise ValueError(f"the Redis URL must be a string, got {type(url).__name__}")
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        reason = "a bad IPv6 host" if "IPv6" in str(exc) else "a port that is not a number from 0 to 65535"
        raise ValueError(f"the Redis URL {shown!r} has {reason}") from None
    if parts.netloc.rpartition("@")[2].startswith("[") and not _ipv6(parts.hostname or ""):
        raise ValueError(f"the Redis URL {shown!r} has a bad IPv6 host")  # Python 3.10's parser lets it through
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"the Redis URL {shown!r} must start with redis://, rediss:// or unix://")
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError(f"the Redis URL {shown!r} has no host")
    if parts.scheme == "unix" and not parts.path:
        raise ValueError(f"the Redis URL {shown!r} has no socket path")
    if port == 0:
        raise ValueError(f"the Redis URL {shown!r} has port 0")
    if parts.scheme != "unix" and parts.path.strip("/") and not parts.path.strip("/").isdigit():
        # redis-py would quietly use database 0 for `redis://host/abc`
        raise ValueError(f"the Redis URL {shown!r} names no database number (its path must be /N)")
    from redis.asyncio.connection import ConnectionPool

    try:
        # Build (never connect) one connection: a query parameter redis-py does not know
        # (`?foo=bar`) passes its URL parser and fails only here, as a TypeError.
        ConnectionPool.from_url(url).make_connection()  # pyright: ignore[reportUnknownMemberType]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"the Redis URL {shown!r} is refused by redis-py: {redact_url(str(exc))}") from None
    return url


class RedisRateLimiter(AsyncClosing):
    """One limit shared through Redis by every process that uses the same `url` and `key`.

    Each attempt runs one atomic GCRA step in Redis (pyrate-limiter's script); when it does not
    conform, the limiter sleeps the exact wait Redis computed and asks again. Within a process one
    waiter at a time asks Redis (the others queue in order), so Redis sees at most one request per
    process per start. Times come from the caller's wall clock: hosts sharing a key need NTP.
    Redis keeps the schedule in whole microseconds, rounded up: the rate is never exceeded, and any
    rate from one a century to a million a second is held as given.

    `burst` defaults to 20 ms of the rate (at least 1): a waiter wakes and reaches Redis a
    millisecond or two after its slot, and with no slack that time is lost at every start (at
    200/s, four processes reached 0.85 of the rate with `burst=1` and 0.96 with the default).

    If Redis cannot be reached (connect and command each bounded by `timeout` seconds, and both by
    the call's total deadline; no client retries), the call does not hang: with `fallback` (say
    `LocalRateLimiter(rate / processes)`) the attempt waits on it instead and a warning is logged
    once per outage; without it the call ends in `Err(ConnectionError)`. Redis is tried again
    `retry_interval` seconds after a failure. Close it with `await limiter.aclose()` (or
    `async with`). Its connections belong to the event loop that opened them and are closed when
    that loop ends (`asyncio.run` returning): a call from another loop that is still running ends in
    `Err(ConnectionError)`; once that loop has ended, the limiter connects again from the new one.
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
        try:
            import pyrate_limiter

            importlib.import_module("redis.asyncio")  # checked here, used when first connecting
        except ImportError as exc:
            raise ImportError("RedisRateLimiter needs the redis extra: pip install 'sessionkit[redis]'") from exc
        check_redis_url(url)
        _check_rate(rate, 1)
        if rate > MAX_REDIS_RATE:
            raise ValueError(f"rate must be at most {MAX_REDIS_RATE:,.0f} a second for Redis, got {rate!r}")
        burst = max(1, math.ceil(rate * _SHARED_SLACK)) if burst is None else burst
        _check_rate(rate, burst)
        for name, value in (("timeout", timeout), ("retry_interval", retry_interval)):
            number = not isinstance(value, bool) and isinstance(value, (int, float))  # pyright: ignore[reportUnnecessaryIsInstance]
            if not number or not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")
        if not isinstance(key, str) or not key:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"key must be a non-empty string, got {key!r}")
        self.url, self.rate, self.burst, self.key = url, rate, burst, key
        self.timeout, self.fallback, self.retry_interval = float(timeout), fallback, float(retry_interval)
        self._secrets = Secrets.of((), {}, url)
        # pyrate-limiter's GCRA spaces units `ceil(interval * 1000 / limit)` microseconds apart: with
        # a limit of 1,000 the interval (in ms) is that spacing in microseconds, rounded up.
        self._rates = [pyrate_limiter.Rate(1000, math.ceil(1_000_000 / rate), burst)]
        self._algorithm = pyrate_limiter.GCRA()
        self._client: Redis | None = None
        self._store: Any = None
        self._down_until = -math.inf
        self._queue = _Queue()
        self._home: LoopRef | None = None  # the loop its connections belong to
        self._keeper: AsyncGenerator[None, None] | None = None  # closes them when that loop ends

    async def _connect(self) -> Any:
        if self._store is None:
            self._home = LoopRef.current()
            from pyrate_limiter import RedisStateStore
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            client = Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
                self.url,
                socket_connect_timeout=self.timeout,
                socket_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
            )
            self._client, self._store = client, RedisStateStore(client, self.key)
            self._keeper = _closed_with_the_loop(self, client)
            await anext(self._keeper)
        return self._store

    def _belongs_elsewhere(self) -> bool:
        """Whether the connections belong to another loop that still runs (dropped if it has ended)."""
        home = self._home
        if self._store is None or home is None or home.here():
            return False
        if not home.loop.is_closed():
            return True
        self._drop()  # its loop is gone without closing them (it was not ended by asyncio.run)
        return False

    async def _wait_for(self, clock: Clock, bound: Deadline) -> float:
        """One GCRA step in Redis: 0.0 when admitted, else the seconds to wait."""
        store = await self._connect()
        now_ms = int(clock.wall() * 1000)
        decision = await bound.within(store.check(self._algorithm, self._rates, now_ms, 1), 2 * self.timeout)
        return 0.0 if decision.allowed else max(decision.retry_after_ms or 0, 1) / 1000.0

    async def acquire(self, clock: Clock, deadline: float | None) -> Refusal | None:
        if self._belongs_elsewhere():
            return _OTHER_LOOP
        bound = Deadline.until(clock, deadline)
        queue = self._queue.here()
        if not await queue.enter(bound):
            return _LATE
        try:
            while True:
                now = clock.monotonic()
                if now < self._down_until:
                    return await self._unavailable(clock, deadline, None)
                try:
                    wait = await self._wait_for(clock, bound)
                except DeadlinePassed as exc:
                    if exc.which == "total":
                        return _LATE
                    self._down_until = clock.monotonic() + self.retry_interval
                    return await self._unavailable(
                        clock, deadline, TimeoutError(f"no answer within {2 * self.timeout}s")
                    )
                except _redis_errors() as exc:
                    self._down_until = clock.monotonic() + self.retry_interval
                    return await self._unavailable(clock, deadline, exc)
                if wait == 0.0:
                    return None
                if not await bound.sleep(wait):
                    return _LATE
        finally:
            queue.lock.release()

    async def _unavailable(self, clock: Clock, deadline: float | None, exc: BaseException | None) -> Refusal | None:
        where = redact_url(self.url)
        detail = self._secrets.scrub(f": {type(exc).__name__}: {exc}") if exc is not None else " (recently failed)"
        if self.fallback is None:
            cause = None if exc is None else self._secrets.scrub_exception(exc)
            return Refusal("unavailable", f"the shared rate limiter at {where} is unreachable{detail}", cause)
        if exc is not None:
            logger.warning("rate limiter: Redis at %s is unreachable%s; using the local fallback", where, detail)
        return await self.fallback.acquire(clock, deadline)

    def _drop(self) -> Redis | None:
        client, self._client, self._store, self._home, self._keeper = self._client, None, None, None, None
        return client

    async def aclose(self) -> None:
        """Close the Redis connections. Safe to call twice, and from a later loop; a later call reconnects."""
        home, keeper = self._home, self._keeper
        client = self._drop()
        if client is None or (home is not None and not home.here()):
            return  # closed with its loop already, or that loop is gone: nothing can be awaited there
        if keeper is not None:
            await keeper.aclose()  # closes the client (see `_closed_with_the_loop`)
        else:
            await client.aclose()

    def __repr__(self) -> str:
        return f"RedisRateLimiter({redact_url(self.url)!r}, rate={self.rate!r}, burst={self.burst!r}, key={self.key!r})"


async def _closed_with_the_loop(limiter: RedisRateLimiter, client: Redis) -> AsyncGenerator[None, None]:
    """Closes `client` when its event loop ends: `asyncio.run` (and any loop's `shutdown_asyncgens`)
    closes the async generators still suspended in the loop, so this `finally` runs there, while
    the connections can still be closed. Without it a limiter used from `asyncio.run` twice would
    leave the first loop's sockets open (the loop can no longer close them)."""
    try:
        yield
    finally:
        if limiter._client is client:  # pyright: ignore[reportPrivateUsage]
            limiter._drop()  # pyright: ignore[reportPrivateUsage]
        with contextlib.suppress(Exception):
            await client.aclose()
