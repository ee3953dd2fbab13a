"""Adaptive concurrency and pacing for `batch`: learn what the server tolerates from what it answers.

Two limits, each adjusted on its own kind of push-back:

- **Concurrency** (calls in flight): starts at `min_concurrency` and, with `pace`, adds one per
  success (doubling each round) until the first push-back, a round's starts spread over the round
  trip so they never reach the server at once; after that (and always with `pace=False`) it adds
  `increase` per round of successes while the batch uses all of it (a round is `concurrency`
  successes, about one round trip). It is multiplied by `decrease` on overload: a 503, a timeout.
  While pacing, the calls in flight are also capped at twice what the rate needs at the recent
  (smoothed) round trip, plus those waiting to retry: more would only queue at the pace. The cap
  follows the round trip up: a server whose answers slow down (a create that scans more sessions
  as they grow) needs more calls in flight for the same rate, not fewer.
- **Start rate** (`pace=True`, the default): the batch starts unpaced. Its first 429 makes it pace
  every attempt it sends (new calls and the pipeline's retries alike, a late start made up within
  `_TOLERANCE`), at first at what it was sending over the last half second. A 429 means the server's bucket is empty at that
  moment; between two such moments the server admitted exactly what it refilled, so the attempts
  that got through between two 429s, over the time between them, *measure* its rate (within
  1/`_SAMPLE` once `_SAMPLE` got through). Until the first measure the rate holds while a
  window is open, is cut to the share that got through (by `decrease` at least, by its square at
  most) when five refusals outnumber what got through, and doubles when a sample's worth of starts went out with no 429. Once measured, the batch paces
  `headroom` below the measure and adds `probe` of it per second of paced starts, until a 429
  measures again (a lower measure is met halfway; a 429 too soon for a measure cuts by
  `headroom`). The rate grows only while the batch actually sends at it.

A 429 of an attempt sent before the rate last changed says nothing about the rate now; a 503 or a
timeout from calls started before the last cut is the congestion already cut for. A 503's
`Retry-After` pauses every new start of the batch until it has passed (at most `max_pause`). A
429's `Retry-After` pauses the batch only when the server refused `_REFUSED_IN_A_ROW` attempts in
a row that the batch sent after hearing the first: a server refusing everything (a closed
window), not just the excess over its rate. Gateways send whole seconds (`Retry-After: 1` when
the next token is 5 ms away), and pausing the batch for that at every 429 idles it while the
bucket refills past what it holds. The refused attempt itself still waits out its `Retry-After`
(plus jitter) in the pipeline, then queues at the batch's pace like a new start, so retries never
arrive as a herd. With `pace=False` the batch adapts only its concurrency: every push-back with
a `Retry-After` pauses it, and a 429 cuts the concurrency.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from typing import Any

import attrs

from ._clock import Clock
from ._deadline import Deadline, DeadlinePassed
from ._retry import parse_retry_after
from .errors import APIError, RateLimitError, RequestTimeoutError, SessionkitError
from .ratelimit import Refusal
from .result import Ok, Result

__all__ = ["Adaptive", "AdaptiveController", "CallTicket"]

_SAMPLE = 40  # admitted attempts between two 429s for a measure of the rate within 1/40
_MEASURE_STEP = 2.0  # while measuring, the rate doubles each sample's worth of starts with no 429
_MEASURE_REFUSALS = 5  # while measuring, this many refusals, and more than got through: cut the rate
_BINDING = 0.9  # the rate grows only while the batch sends at least this share of it
_TOLERANCE = 0.02  # seconds a paced start may come early to make up for late ones (or one interval)
_SPARE = 2  # calls the pace may have in flight beyond twice what its rate needs
_MIN_RATE = 0.01  # starts a second: the floor of repeated cuts
_REFUSED_IN_A_ROW = 3  # refusals in a row, sent after the first was heard, that make a 429 pause the batch
_RECENT = 1024  # refused attempts remembered, to tell a run of refusals from a lone one
_METER_SLOT, _METER_SLOTS = 0.1, 6  # the send rate before the first 429: over the last half second
_LATE = Refusal("deadline", "the adaptive batch would start this retry after the call's total deadline")


def _positive_int(name: str) -> Any:
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")

    return check


@attrs.frozen
class Adaptive:
    """`batch(..., concurrency=Adaptive(1, 256))`: find the concurrency and the rate the server tolerates.

    `increase` is added to the concurrency per round of successes, `decrease` (0 < d < 1) multiplies
    it on overload (and the start rate while the server's rate is not yet measured). A shared pause
    lasts what `Retry-After` asked, up to `max_pause` seconds. With `pace` (the default) the first
    429 makes the batch pace every attempt, `headroom` (a fraction) below the rate it measures
    between 429s, probing `probe` of that rate higher per second; `pace=False` adapts only the
    concurrency, and pauses at every `Retry-After`.
    """

    min_concurrency: int = attrs.field(default=1, validator=_positive_int("min_concurrency"))
    max_concurrency: int = attrs.field(default=64, validator=_positive_int("max_concurrency"))
    increase: float = 1.0
    decrease: float = 0.5
    max_pause: float = 60.0
    pace: bool = True
    headroom: float = 0.05
    probe: float = 0.02

    def __attrs_post_init__(self) -> None:
        if self.max_concurrency < self.min_concurrency:
            raise ValueError(f"max_concurrency {self.max_concurrency} is below min_concurrency {self.min_concurrency}")
        if not (math.isfinite(self.increase) and self.increase > 0):
            raise ValueError(f"increase must be a finite number > 0, got {self.increase!r}")
        if not 0 < self.decrease < 1:
            raise ValueError(f"decrease must be between 0 and 1 (exclusive), got {self.decrease!r}")
        if not (math.isfinite(self.max_pause) and self.max_pause >= 0):
            raise ValueError(f"max_pause must be a finite number of seconds >= 0, got {self.max_pause!r}")
        if not isinstance(self.pace, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"pace must be True or False, got {self.pace!r}")
        if not 0 <= self.headroom < 1:
            raise ValueError(f"headroom must be at least 0 and below 1, got {self.headroom!r}")
        if not (math.isfinite(self.probe) and self.probe > 0):
            raise ValueError(f"probe must be a finite fraction > 0 of the rate per second, got {self.probe!r}")


def push_back(result: Result[Any, Any], now_wall: float) -> tuple[bool, float | None]:
    """Whether `result` says the server is overloaded, and the pause it asked for (seconds), if any."""
    if isinstance(result, Ok):
        meta = result.meta
        return meta is not None and meta.attempts > 1, None
    return _error_push_back(result.error, now_wall)


def _error_push_back(error: object, now_wall: float) -> tuple[bool, float | None]:
    if isinstance(error, RateLimitError):
        return True, error.retry_after
    if isinstance(error, RequestTimeoutError):
        return True, None
    if isinstance(error, APIError) and error.status == 503:
        return True, parse_retry_after({k.lower(): v for k, v in error.headers.items()}, now_wall)
    return False, None


class CallTicket:
    """One call of the batch: when and as which attempt it last went through the gate.

    The batch sets it as the call's `BATCH_CALL`, so the pipeline reports each failed attempt
    (`failed`) and asks before each retry (`acquire`).
    """

    __slots__ = ("call", "controller", "index", "reported", "retrying", "sent_at")

    def __init__(self, controller: AdaptiveController, call: int) -> None:
        self.controller = controller
        self.call = call  # the batch's count of calls started when this one was
        self.index = 0  # the batch's count of attempts sent when this call's last one was
        self.sent_at = -math.inf
        self.reported = False  # the pipeline told of a failed attempt: the final result adds nothing
        self.retrying = False  # an attempt failed and no other has started since (nor has the call ended)

    def failed(self, error: SessionkitError) -> None:
        self.reported = True
        if not self.retrying:
            self.retrying = True
            self.controller.retrying += 1
        self.controller.failed(self, error)

    async def acquire(self, clock: Clock, deadline: float | None) -> Refusal | None:
        controller = self.controller
        # `deadline` is on the core's clock; the batch waits on its own (the same one, unless a test differs).
        at = None if deadline is None else controller.clock.monotonic() + (deadline - clock.monotonic())
        try:
            await Deadline.until(clock, deadline).within(controller.gate(self, at))
        except DeadlinePassed:
            return _LATE
        return None


class AdaptiveController:
    """The state of one adaptive batch: its concurrency limit, its start rate and its shared pause."""

    def __init__(self, options: Adaptive, clock: Clock) -> None:
        self.options = options
        self.clock = clock
        self.limit = float(options.min_concurrency)
        self.rate: float | None = None  # starts a second; None: not pacing
        self.slow_start = options.pace  # the concurrency doubles each round until the first push-back
        self.srtt: float | None = None  # seconds a call takes, smoothed
        self.retrying = 0  # calls whose last attempt failed: waiting out a Retry-After, or about to end
        self.measuring = False  # pacing at a fixed rate until two 429s measure the server's
        self.measured: float | None = None  # the server's rate, last measured between two 429s
        self.cuts = 0  # of the concurrency
        self.rate_cuts = 0
        self.pauses = 0
        self.paused = 0.0  # seconds of shared pause asked for, in total
        self.sent = 0  # attempts let through the gate: new calls and retries
        self.refusals = 0  # 429s heard of
        self.queued = 0  # attempts waiting at the gate (for the pause or the pace)
        self.calls = 0  # calls the batch started
        self._cut_calls = 0  # calls started up to the last concurrency cut: theirs is the same congestion
        self._rate_set_at = -math.inf  # a 429 of an attempt sent before this says nothing of the rate now
        self._mark: tuple[float, int] | None = None  # (sent at, index) of the 429 that opened the window
        self._window_refused = 0  # 429s heard since, of attempts sent since
        self._last_refusal = -math.inf  # when the last 429 was heard
        self._streak_seen = math.inf  # when the first refusal of the current run of refusals was heard
        self._streak_after = 0  # refusals in that run of attempts sent after it was heard
        self._refused: set[int] = set()  # indexes of recently refused attempts (for runs of refusals)
        self._meter: deque[tuple[float, int]] = deque(maxlen=_METER_SLOTS)  # (time, sent) now and then
        self._last_start = -math.inf
        self._slot = -math.inf  # when the pace next lets an attempt start (GCRA's theoretical arrival time)
        self._paused_until = -math.inf
        self._lock = asyncio.Lock()

    @property
    def concurrency(self) -> int:
        """The number of calls the batch may have in flight now."""
        return int(min(self.limit, self._paced_need()))

    def _paced_need(self) -> float:
        """While pacing: twice the calls the rate keeps in flight at the recent round trip, plus those
        waiting to retry. More would only queue at the pace; fewer would starve it when the server's
        answers slow down (measured: a cap at the shortest round trip of the last 30 s held a
        Jupyter batch of 10,000 creates to 0.88 of the server's rate as its create slowed)."""
        if self.rate is None or self.srtt is None:
            return math.inf
        need = math.ceil(2.0 * self.rate * self.srtt) + self.retrying + _SPARE
        return float(max(self.options.min_concurrency, need))

    def ticket(self) -> CallTicket:
        """The ticket of a call the batch starts now."""
        self.calls += 1
        return CallTicket(self, self.calls)

    # -- the gate every attempt passes --------------------------------------------------------------

    async def gate(self, ticket: CallTicket, deadline: float | None = None) -> None:
        """Wait out the shared pause and the pace (one waiter sleeps at a time, so both may change
        meanwhile), then count the attempt as sent. Raises `DeadlinePassed` if the start would come
        at or after `deadline`."""
        clock = self.clock
        spread = self.slow_start and self.srtt is not None
        if self.rate is not None or spread or clock.monotonic() < self._paused_until or self._lock.locked():
            self.queued += 1
            try:
                async with self._lock:
                    paced = False
                    while (wait := self._wait(clock.monotonic())) > 0:
                        if deadline is not None and clock.monotonic() + wait >= deadline:
                            raise DeadlinePassed("total", None)
                        paced = paced or clock.monotonic() >= self._paused_until
                        await clock.sleep(wait)
                    self._start(ticket, clock.monotonic(), paced)
            finally:
                self.queued -= 1
        else:
            self._start(ticket, clock.monotonic(), False)

    def _wait(self, now: float) -> float:
        wait = self._paused_until - now
        if self.rate is not None:
            # Some tolerance: a start a little late (the loop was busy) does not delay the next ones.
            wait = max(wait, self._slot - self._tolerance() - now)
        elif self.slow_start and self.srtt is not None:
            # Slow start: a round's starts spread over a round trip, so they never reach the server at once.
            wait = max(wait, self._last_start + self.srtt / self.limit - now)
        return wait

    def _start(self, ticket: CallTicket, now: float, paced: bool) -> None:
        if self.rate is not None:
            if paced:
                self._grow(now)
            self._slot = max(self._slot, now) + 1.0 / self.rate
        self._last_start = now
        self.sent += 1
        ticket.index, ticket.sent_at = self.sent, now
        if ticket.retrying:
            ticket.retrying = False
            self.retrying -= 1
        meter = self._meter
        if not meter or now - meter[-1][0] >= _METER_SLOT:
            meter.append((now, self.sent))

    def _grow(self, now: float) -> None:
        """A start that waited for the pace: if the batch sends at its rate (the rate, not the
        concurrency or the inputs, holds it back), probe a little higher."""
        rate, measured = self.rate, self.measured
        assert rate is not None
        sending = self._send_rate(now)
        if sending is None or sending < _BINDING * rate:
            return
        if self.measuring:
            # No 429 while a sample's worth of starts went out: the server takes this rate. Try more.
            if now - max(self._last_refusal, self._rate_set_at) > _SAMPLE / rate:
                self._set_rate(rate * _MEASURE_STEP, now)
                self._mark = None  # the bucket refilled meanwhile: the next 429 opens the window
        elif measured is not None:
            self.rate = rate + self.options.probe * measured * (now - self._last_start)

    def _tolerance(self) -> float:
        """How late the pace lets starts be and catch up: one interval, or `_TOLERANCE` if longer."""
        assert self.rate is not None
        return max(1.0 / self.rate, _TOLERANCE)

    def _set_rate(self, rate: float, now: float) -> None:
        rate = max(rate, _MIN_RATE)
        if self.rate is None or rate < self.rate:
            # Pacing from now, or slower: the next start a whole interval from now, with no tolerance
            # used up in advance (after a 429 the server's bucket is empty: sooner is refused).
            self._slot = max(self._slot, now + 1.0 / rate + max(1.0 / rate, _TOLERANCE))
        self.rate = rate
        self._rate_set_at = now

    def _send_rate(self, now: float) -> float | None:
        """Attempts sent a second over the last `_METER_SLOTS` slots (None: no time has passed)."""
        if not self._meter:
            return None
        then, sent = self._meter[0]
        return (self.sent - sent) / (now - then) if now > then else None

    # -- what the server answered --------------------------------------------------------------------

    def failed(self, ticket: CallTicket, error: object) -> None:
        """An attempt of `ticket`'s call failed with `error` (told at once by the pipeline)."""
        pushed, pause = _error_push_back(error, self.clock.wall())
        if not pushed:
            return
        if isinstance(error, RateLimitError) and self.options.pace:
            self._refused_attempt(ticket, pause)
        else:
            self._overload(ticket, pause)

    def finished(self, ticket: CallTicket, result: Result[Any, Any], saturated: bool) -> None:
        """The call of `ticket` ended with `result`; `saturated`: the batch was using its whole limit."""
        if ticket.retrying:
            ticket.retrying = False
            self.retrying -= 1
        if not ticket.reported:  # a function the pipeline did not report on: judge its final result
            pushed, pause = push_back(result, self.clock.wall())
            if pushed:
                if isinstance(result, Ok) or not isinstance(result.error, RateLimitError) or not self.options.pace:
                    self._overload(ticket, pause)
                else:
                    self._refused_attempt(ticket, pause)
                return
        if not isinstance(result, Ok):
            return
        opts = self.options
        if not ticket.reported:  # one attempt: how long the server took
            self._round_trip(self.clock.monotonic() - ticket.sent_at)
        if saturated and self.limit <= self._paced_need():  # the limit, not the pace's need, held it back
            if self.slow_start:  # one more per success: doubling each round
                self.limit = min(float(opts.max_concurrency), self.limit + 1.0)
                self.slow_start = self.limit < opts.max_concurrency
            else:
                self.limit = min(float(opts.max_concurrency), self.limit + opts.increase / self.limit)

    def _round_trip(self, took: float) -> None:
        self.srtt = took if self.srtt is None else self.srtt + (took - self.srtt) / 8

    def _pause(self, seconds: float | None) -> None:
        if seconds is None or seconds <= 0:
            return
        seconds = min(seconds, self.options.max_pause)
        self.paused += seconds
        self.pauses += 1
        self._paused_until = max(self._paused_until, self.clock.monotonic() + seconds)
        self._mark = None  # the server refills while the batch waits: the next 429 opens the window

    def _overload(self, ticket: CallTicket, pause: float | None) -> None:
        """A 503, a timeout, a retried success (or any push-back with `pace=False`): cut the concurrency."""
        self.slow_start = False
        self._pause(pause)
        if ticket.call > self._cut_calls:
            opts = self.options
            self.limit = max(float(opts.min_concurrency), self.limit * opts.decrease)
            self._cut_calls = self.calls
            self.cuts += 1

    def _refused_attempt(self, ticket: CallTicket, retry_after: float | None) -> None:
        """A 429: the server's bucket is empty now."""
        self.slow_start = False
        now = self.clock.monotonic()
        self.refusals += 1
        self._last_refusal = now
        refused = self._refused
        if ticket.index - 1 in refused:  # no attempt got through since the one before it
            if ticket.sent_at > self._streak_seen:  # and this one was sent after the batch heard
                self._streak_after += 1
                if self._streak_after >= _REFUSED_IN_A_ROW:
                    self._pause(retry_after)
        else:
            self._streak_seen, self._streak_after = now, 0
        refused.add(ticket.index)
        if len(refused) > 2 * _RECENT:
            self._refused = {i for i in refused if i > self.sent - _RECENT}
        mark = self._mark
        if self.rate is None:
            self._start_pacing(ticket, now)
        elif ticket.sent_at > self._rate_set_at:  # sent at the rate of now: it says the rate is too high
            self._measure(ticket, now)
        if self._mark is not mark:
            self._window_refused = 0
        elif mark is not None and ticket.index > mark[1]:
            self._window_refused += 1

    def _start_pacing(self, ticket: CallTicket, now: float) -> None:
        """The first 429: pace at what the batch was sending, and measure the server's rate from there."""
        rate = self._send_rate(now)
        if rate is None:  # no time has passed to measure a rate in: cut the concurrency instead
            self._overload(ticket, None)
            return
        self._set_rate(rate, now)
        self.measuring = True
        self._mark = (ticket.sent_at, ticket.index)
        self.rate_cuts += 1

    def _measure(self, ticket: CallTicket, now: float) -> None:
        """A 429 of an attempt sent at the current rate: measure the server's rate, or cut."""
        assert self.rate is not None
        opts = self.options
        mark = self._mark
        self._mark = (ticket.sent_at, ticket.index)
        if mark is None:
            return  # it opens the window: the bucket is empty now
        at, opened = mark
        refused = self._window_refused
        admitted = ticket.index - 1 - opened - refused
        window = ticket.sent_at - at
        if admitted >= _SAMPLE and window > 0:  # the bucket empty at both ends: it admitted its refill
            measure, last = admitted / window, self.measured
            # A window the batch could not fill (the loop stalled, the inputs ran short) measures
            # low; a limit that really dropped soon measures low again. Meet a lower measure halfway.
            self.measured = measure if last is None or measure >= last else (measure + last) / 2
            self.measuring = False
            self._set_rate((1.0 - opts.headroom) * self.measured, now)
        elif self.measuring:
            if refused >= _MEASURE_REFUSALS and refused > admitted:  # far over: cut, and measure again
                # To the share that got through (the server's rate, roughly), between `decrease` and
                # its square: a small batch against a slow server cannot spend every call's retries
                # coming down from a first guess ten times too high.
                share = (admitted + 1) / (admitted + refused + 1)
                self._set_rate(self.rate * max(opts.decrease**2, min(opts.decrease, share)), now)
            else:
                self._mark = mark  # keep the window open until it holds a sample
                return
        else:
            measured = self.measured if self.measured is not None else self.rate
            self._set_rate((1.0 - opts.headroom) * min(self.rate, measured), now)
        self.rate_cuts += 1
