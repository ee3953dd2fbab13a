"""`wait_until`: polls with growing, jittered pauses on the injectable clock, never past the deadline."""

from __future__ import annotations

from typing import Any

import pytest

from sessionkit import Err, InvalidRequestError, NotFoundError, Ok, Result
from sessionkit.testing import FakeClock
from sessionkit.wait import WaitTimeoutError, wait_until


def states(*values: str) -> tuple[list[int], Any]:
    calls: list[int] = []
    sequence = list(values)

    async def poll() -> Result[str, NotFoundError]:
        calls.append(1)
        return Ok(sequence.pop(0) if len(sequence) > 1 else sequence[0])

    return calls, poll


async def test_returns_the_first_value_that_is_done() -> None:
    clock = FakeClock()
    calls, poll = states("starting", "starting", "idle")
    result = await wait_until(poll, lambda s: s != "starting", timeout=60, clock=clock, jitter=False)
    assert result == Ok("idle")
    assert len(calls) == 3
    assert clock.sleeps == [1.0, 1.5]


async def test_the_pauses_grow_to_the_cap_and_the_last_one_stops_at_the_deadline() -> None:
    clock = FakeClock()
    _, poll = states("working")
    result = await wait_until(
        poll, lambda s: s == "finished", timeout=20, interval=2, backoff=2, max_interval=5, clock=clock, jitter=False,
        describe=lambda s: f"status={s}",
    )  # fmt: skip
    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, WaitTimeoutError)
    assert clock.sleeps == [2, 4, 5, 5, 4]
    assert sum(clock.sleeps) == 20, "never sleeps past the deadline"
    assert error.last == "working"
    assert error.polls == 5  # none at the deadline: a poll then would have no time left to run
    assert "last seen: status=working" in error.message
    assert error.deadline == "total"


async def test_jitter_stays_within_half_to_full_pause() -> None:
    clock = FakeClock()
    _, poll = states("x")
    await wait_until(poll, lambda s: False, timeout=100, interval=4, backoff=1, clock=clock)
    assert all(2 <= s <= 4 for s in clock.sleeps[:-1])


async def test_an_error_from_the_poll_ends_the_wait_at_once() -> None:
    clock = FakeClock()
    missing = NotFoundError("404 Not Found", status=404)

    async def poll() -> Result[str, NotFoundError]:
        return Err(missing)

    assert await wait_until(poll, lambda s: True, timeout=60, clock=clock) == Err(missing)
    assert clock.sleeps == []


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "5"])
async def test_bad_timing_arguments_are_an_invalid_request_and_nothing_is_polled(bad: Any) -> None:
    calls, poll = states("x")
    result = await wait_until(poll, lambda s: True, timeout=bad)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "timeout"
    assert calls == []
