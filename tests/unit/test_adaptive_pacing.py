"""An adaptive batch's start rate: what its controller decides from each 429, on a `FakeClock`.

The controller is driven the way `batch` and the pipeline drive it: each attempt passes
`gate(ticket)` (which sleeps on the fake clock for the pace or a pause), and a refused one is told
through `ticket.failed(error)`. The "server" is a GCRA token bucket on the same fake clock. The
assertions read the controller's decisions (its rate, its measure, its pauses, what it slept),
never wall time. The pipeline's side (each failed attempt reported, each retry paced) is tested
against `FakeOrq` at the end.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from sessionkit import InternalServerError, NotFoundError, RateLimitError, RequestTimeoutError
from sessionkit._adaptive import _SPARE, Adaptive, AdaptiveController, CallTicket
from sessionkit._batchcall import BATCH_CALL
from sessionkit._clock import Clock
from sessionkit.orq import OrqCore, sessions_get
from sessionkit.ratelimit import Gcra, Refusal
from sessionkit.result import Err, Ok
from sessionkit.testing import FakeClock, FakeOrq, Fault


def refused(retry_after: float | None = 1.0) -> RateLimitError:
    return RateLimitError("429 Too Many Requests", status=429, retry_after=retry_after)


class Run:
    """A controller, its fake clock, and a token bucket of `rate` a second (`burst`) to send to."""

    def __init__(self, rate: float = 60.0, burst: int = 10, options: Adaptive | None = None) -> None:
        self.clock = FakeClock()
        self.controller = AdaptiveController(options or Adaptive(1, 64), self.clock)
        self.bucket = Gcra(rate, burst)
        self.admitted = self.refused = 0
        self.starts: list[float] = []

    async def send(self, unpaced_every: float = 0.005) -> CallTicket:
        """One attempt through the gate to the bucket; unpaced, the caller sends every `unpaced_every` s."""
        ticket = self.controller.ticket()
        if self.controller.rate is None:
            self.clock.advance(unpaced_every)
        await self.controller.gate(ticket)
        self.starts.append(self.clock.now)
        if self.bucket.take(self.clock.now) > 0:
            self.refused += 1
            ticket.failed(refused())
        else:
            self.admitted += 1
            self.controller.finished(ticket, Ok(None), saturated=False)
        return ticket

    async def for_seconds(self, seconds: float) -> tuple[int, int]:
        """Send for `seconds` of fake time; (admitted, refused) meanwhile."""
        admitted, refused_before, end = self.admitted, self.refused, self.clock.now + seconds
        while self.clock.now < end:
            await self.send()
        return self.admitted - admitted, self.refused - refused_before


async def test_slow_start_spreads_a_rounds_starts_over_the_round_trip() -> None:
    clock = FakeClock()
    controller = AdaptiveController(Adaptive(1, 64), clock)
    for _ in range(3):  # three calls, one after the other, 100 ms each
        ticket = controller.ticket()
        await controller.gate(ticket)
        clock.advance(0.1)
        controller.finished(ticket, Ok(None), saturated=True)
    assert controller.srtt == pytest.approx(0.1)
    assert controller.limit == 4.0  # one more per success
    assert clock.sleeps == []  # one call at a time: nothing to spread
    for _ in range(4):  # a round of four: 25 ms apart, not all at once
        await controller.gate(controller.ticket())
    assert clock.sleeps == pytest.approx([0.025] * 3)


async def test_unpaced_until_the_first_429_then_paced_at_what_it_was_sending() -> None:
    run = Run(rate=60.0, burst=10)
    while run.refused == 0:
        await run.send(unpaced_every=0.005)  # 200 a second: the bucket's 10 go in the first 50 ms
    controller = run.controller
    assert run.clock.sleeps == []  # nothing was paced before the 429
    assert controller.rate == pytest.approx(200.0, rel=0.05)
    assert controller.measuring
    for _ in range(5):
        await run.send()
    # The bucket is empty after a 429: the next start waits a whole interval, and so does each after it.
    rate = controller.rate
    assert rate is not None
    assert run.clock.sleeps == pytest.approx([1.0 / rate] * 5)


async def test_two_429s_measure_the_servers_rate_and_the_batch_paces_headroom_below_it() -> None:
    run = Run(rate=60.0, burst=10, options=Adaptive(1, 64, headroom=0.05))
    controller = run.controller
    while controller.measured is None:
        await run.send()
    # Sending 200 a second into a bucket of 60: refusals outnumbered what got through, so the rate
    # was cut (to ~100) until a window between two 429s held 40 admitted attempts.
    assert controller.measured == pytest.approx(60.0, rel=1 / 40)
    assert controller.rate == pytest.approx(0.95 * controller.measured)
    assert not controller.measuring
    assert run.refused < 60  # what the measure cost, all told


async def test_a_first_guess_twenty_times_too_high_comes_down_in_few_refusals() -> None:
    # A small batch against a slow server: the first 429 comes after a few milliseconds, when the
    # batch was sending 1,000 a second to a server of 50. Each cut goes to the share that got
    # through (at most a quarter per step), so the calls do not spend their retries coming down.
    run = Run(rate=50.0, burst=2, options=Adaptive(1, 32))
    while run.refused == 0:
        await run.send(unpaced_every=0.001)
    assert run.controller.rate == pytest.approx(1000.0, rel=0.05)
    for _ in range(200):
        if run.controller.measured is not None:
            break
        await run.send()
    assert run.controller.measured == pytest.approx(50.0, rel=1 / 40)
    assert run.refused <= 30


async def test_once_measured_the_rate_probes_higher_until_a_429_measures_again() -> None:
    run = Run(rate=60.0, burst=10, options=Adaptive(1, 64, probe=0.02))
    controller = run.controller
    while controller.measured is None:
        await run.send()
    rate, measured = controller.rate, controller.measured
    assert rate is not None
    await run.for_seconds(1.0)  # below the server's rate: nothing refused
    assert controller.rate == pytest.approx(rate + 0.02 * measured * 1.0, rel=0.02)
    admitted, refused_now = await run.for_seconds(60.0)
    assert refused_now <= 20  # it crossed the server's rate now and then, and stepped back each time
    assert admitted / 60.0 >= 0.95 * 60.0  # and got nearly all of the server's rate through
    assert controller.measured == pytest.approx(60.0, rel=0.05)


async def test_while_pacing_calls_in_flight_are_capped_at_twice_what_the_rate_needs() -> None:
    clock = FakeClock()
    controller = AdaptiveController(Adaptive(1, 256), clock)
    controller.limit = 256.0
    in_flight: list[tuple[float, CallTicket]] = []
    for _ in range(50):  # a call every 10 ms, each answered 100 ms after it went out
        clock.advance(0.01)
        ticket = controller.ticket()
        await controller.gate(ticket)
        in_flight.append((clock.now + 0.1, ticket))
        while in_flight and in_flight[0][0] <= clock.now + 1e-9:
            controller.finished(in_flight.pop(0)[1], Ok(None), saturated=False)
    assert controller.srtt == pytest.approx(0.1)
    assert controller.concurrency == 256  # not pacing: only the limit
    in_flight[-1][1].failed(refused())  # the first 429: pacing at ~100 a second from now
    rate, rtt = controller.rate, controller.srtt
    assert rate is not None
    assert rtt is not None
    assert rate == pytest.approx(100.0, rel=0.05)
    # Twice the 10 calls 100/s keeps in flight at 100 ms, the one waiting to retry, and 2 spare.
    assert controller.concurrency == math.ceil(2 * rate * rtt) + 1 + 2
    assert controller.retrying == 1
    await controller.gate(in_flight[-1][1])  # its retry goes out
    assert controller.retrying == 0


async def test_the_cap_on_calls_in_flight_follows_the_round_trip_up_when_the_server_slows() -> None:
    # A create that scans more sessions as they grow answers later and later: the same rate then
    # needs more calls in flight. A cap held at the earlier, shorter round trip would starve the pace.
    clock = FakeClock()
    controller = AdaptiveController(Adaptive(1, 256), clock)
    controller.limit = 256.0
    in_flight: list[tuple[float, CallTicket]] = []

    async def send(took: float) -> None:
        clock.advance(0.01)
        ticket = controller.ticket()
        await controller.gate(ticket)
        in_flight.append((clock.now + took, ticket))
        in_flight.sort(key=lambda pair: pair[0])
        while in_flight and in_flight[0][0] <= clock.now + 1e-9:
            controller.finished(in_flight.pop(0)[1], Ok(None), saturated=False)

    for _ in range(50):  # a call every 10 ms, each answered in 100 ms
        await send(0.1)
    in_flight[-1][1].failed(refused())  # pacing at ~100 a second from now
    fast_cap = controller.concurrency
    for _ in range(200):  # the server now answers in 400 ms
        await send(0.4)
    rate, srtt = controller.rate, controller.srtt
    assert rate is not None
    assert srtt is not None
    assert srtt > 0.35
    assert controller.concurrency > 3 * fast_cap // 2
    assert controller.concurrency >= math.ceil(2 * rate * srtt) + _SPARE


async def test_a_429_of_an_attempt_sent_before_the_rate_changed_does_not_cut_again() -> None:
    run = Run(rate=60.0, burst=10)
    early = [await run.send() for _ in range(5)]  # admitted, still "in flight"
    while run.refused == 0:
        await run.send()
    rate = run.controller.rate
    early[-1].failed(refused())  # it was sent at the old rate, before the batch slowed down
    assert run.controller.rate == rate


async def test_a_lone_429_does_not_pause_the_batch_for_its_retry_after() -> None:
    run = Run(rate=60.0, burst=10)
    while run.refused == 0:
        await run.send()
    ticket = run.controller.ticket()
    await run.controller.gate(ticket)
    ticket.failed(refused(retry_after=30.0))
    await run.send()
    assert run.controller.pauses == 0
    assert run.clock.sleeps  # the pace's intervals, and no whole second among them
    assert max(run.clock.sleeps) < 1.0


async def test_refusals_in_a_row_after_the_batch_slowed_down_pause_it_for_the_retry_after() -> None:
    # A closed window: the server refuses everything for 30 s, whatever the rate.
    clock = FakeClock()
    controller = AdaptiveController(Adaptive(1, 64), clock)
    for _ in range(20):  # 100 a second, all admitted
        clock.advance(0.01)
        await controller.gate(controller.ticket())
    tickets: list[CallTicket] = []
    for _ in range(4):
        ticket = controller.ticket()
        await controller.gate(ticket)
        if controller.rate is None:
            clock.advance(0.01)
        ticket.failed(refused(retry_after=30.0))
        tickets.append(ticket)
    assert controller.pauses == 1  # the first refusal was heard, then three sent after it were refused too
    refused_at = clock.now
    await controller.gate(controller.ticket())
    assert clock.now >= refused_at + 30.0
    assert controller.paused == 30.0


async def test_a_503_retry_after_pauses_at_once_and_timeouts_cut_the_concurrency() -> None:
    clock = FakeClock()
    controller = AdaptiveController(Adaptive(1, 64, decrease=0.5), clock)
    controller.limit = 8.0
    first, second = controller.ticket(), controller.ticket()
    await controller.gate(first)
    await controller.gate(second)
    first.failed(InternalServerError("503", status=503, headers={"Retry-After": "7"}))
    assert controller.pauses == 1
    assert controller.limit == 4.0
    second.failed(RequestTimeoutError("no answer", deadline="attempt"))
    assert controller.limit == 4.0  # started before the cut: the same congestion
    third = controller.ticket()
    await controller.gate(third)
    assert clock.sleeps == [7.0]
    third.failed(RequestTimeoutError("no answer", deadline="attempt"))
    assert controller.limit == 2.0
    assert controller.rate is None  # no 429: nothing paced


async def test_a_retry_is_refused_at_once_when_its_start_would_come_after_its_deadline() -> None:
    clock = FakeClock()
    controller = AdaptiveController(Adaptive(1, 64), clock)
    ticket = controller.ticket()
    await controller.gate(ticket)
    controller.failed(ticket, InternalServerError("503", status=503, headers={"Retry-After": "30"}))
    refusal = await ticket.acquire(clock, clock.now + 5.0)
    assert isinstance(refusal, Refusal)
    assert refusal.reason == "deadline"
    assert clock.sleeps == []  # it did not wait for a start it could not make
    assert await ticket.acquire(clock, None) is None  # with no deadline it waits out the pause
    assert clock.sleeps == [30.0]


# -- the pipeline's side: every failed attempt reported at once, every retry asks the batch --------


class Recorder:
    """A batch call that records what the pipeline tells it, and may refuse retries."""

    def __init__(self, refusal: Refusal | None = None) -> None:
        self.failures: list[Any] = []
        self.asked = 0
        self.refusal = refusal

    def failed(self, error: Any) -> None:
        self.failures.append(error)

    async def acquire(self, clock: Clock, deadline: float | None) -> Refusal | None:
        self.asked += 1
        return self.refusal


async def _get_in_a_batch_call(recorder: Recorder, fake: FakeOrq, clock: FakeClock) -> Any:
    async with OrqCore("k", server_url=fake.url, clock=clock) as core:

        async def call() -> Any:
            BATCH_CALL.set(recorder)  # as the batch sets it in each call's task
            return await sessions_get(core, {"session_id": "nope"})

        return await asyncio.create_task(call())


async def test_the_pipeline_reports_each_failed_attempt_and_asks_before_each_retry() -> None:
    recorder, clock = Recorder(), FakeClock()
    async with FakeOrq(api_key="k") as fake:
        fake.faults.push(Fault.rate_limited(1), times=2)
        result = await _get_in_a_batch_call(recorder, fake, clock)
    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)  # the third attempt got through: no such session
    assert [type(e) for e in recorder.failures[:2]] == [RateLimitError, RateLimitError]
    assert isinstance(recorder.failures[2], NotFoundError)  # the final, not retried, failure too
    assert recorder.asked == 2  # before each retry, after its Retry-After
    assert len(clock.sleeps) == 2
    assert BATCH_CALL.get() is None  # set in the call's own task only


async def test_a_retry_the_batch_refuses_ends_the_call_with_a_timeout_and_sends_nothing_more() -> None:
    late = Refusal("deadline", "the adaptive batch would start this retry after the call's total deadline")
    recorder, clock = Recorder(late), FakeClock()
    async with FakeOrq(api_key="k") as fake:
        fake.faults.push(Fault.rate_limited(1))
        result = await _get_in_a_batch_call(recorder, fake, clock)
        sent = len(fake.requests)
    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)
    assert result.error.deadline == "total"
    assert result.error.attempts == 1  # the second never went out
    assert sent == 1
