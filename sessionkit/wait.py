"""Poll an operation until its value says "done", or a deadline passes.

    result = await wait_until(
        lambda: sessions_get(core, {"session_id": sid}),
        lambda s: s.status_enum in {"blocked", "finished", "expired"},
        timeout=600, describe=lambda s: f"status_enum={s.status_enum}",
    )

Polls at `interval`, growing by `backoff` up to `max_interval`, with jitter so that many waiters do not
poll in step. Returns the first `Ok` whose value satisfies `done`; the first `Err` from the poll
itself (the poll's own retry policy has already run); or `Err(WaitTimeoutError)` naming the last
state seen when `timeout` seconds pass. It never sleeps past the deadline, and a poll still in
flight when it passes is cancelled: the wait ends at its deadline whatever the server does. Time and sleep come from
`clock` (for tests: `sessionkit.testing.FakeClock`). A bad timing argument is
`Err(InvalidRequestError)`, like any other bad input.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from ._clock import SYSTEM_CLOCK, Clock
from ._deadline import Deadline, DeadlinePassed
from .errors import InvalidRequestError, RequestTimeoutError, SessionkitError
from .result import Err, Result

__all__ = ["WaitTimeoutError", "wait_until"]

T = TypeVar("T")
E = TypeVar("E", bound=SessionkitError)


class WaitTimeoutError(RequestTimeoutError, Generic[T]):
    """A wait's deadline passed before the value said "done". `last` is the last value seen (None
    when no poll succeeded) and `polls` how many polls were made."""

    def __init__(self, message: str, *, last: T | None, polls: int, **kw: Any) -> None:
        super().__init__(message, deadline="total", **kw)
        self.last = last
        self.polls = polls


def _problem(name: str, value: float, minimum: float = 0.0) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (minimum < value < float("inf")):  # pyright: ignore[reportUnnecessaryIsInstance]
        return f"{name} must be a finite number > {minimum:g}, got {value!r}"
    return None


async def wait_until(
    poll: Callable[[], Awaitable[Result[T, E]]],
    done: Callable[[T], bool],
    *,
    timeout: float,
    interval: float = 1.0,
    max_interval: float = 30.0,
    backoff: float = 1.5,
    jitter: bool = True,
    clock: Clock | None = None,
    describe: Callable[[T], str] = repr,
    operation_id: str = "",
) -> Result[T, E | WaitTimeoutError[T] | InvalidRequestError]:
    """Poll until `done(value)`; see the module docstring. Bad timing arguments are
    `Err(InvalidRequestError)` naming the argument, and nothing is polled."""
    for name, value, minimum in (
        ("timeout", timeout, 0.0),
        ("interval", interval, 0.0),
        ("max_interval", max_interval, 0.0),
        ("backoff", backoff, 1.0 - 1e-9),
    ):
        problem = _problem(name, value, minimum)
        if problem is not None:
            return Err(InvalidRequestError(problem, field_path=name, operation_id=operation_id))
    clock = clock or SYSTEM_CLOCK
    started = clock.monotonic()
    deadline = Deadline.until(clock, started + timeout)
    wait = interval
    last: T | None = None
    polls = 0

    def timed_out() -> Err[WaitTimeoutError[T]]:
        state = "nothing yet (no poll finished)" if last is None else describe(last)
        message = f"still not done after {timeout:g}s and {polls} poll(s); last seen: {state}"
        elapsed = clock.monotonic() - started
        kw: dict[str, Any] = {"operation_id": operation_id, "attempts": polls, "elapsed": elapsed}
        return Err(WaitTimeoutError(message, last=last, polls=polls, timeout=timeout, **kw))

    while True:
        if polls and deadline.passed():
            return timed_out()
        polls += 1
        try:
            result = await deadline.within(poll())  # a poll in flight when the wait ends is cancelled
        except DeadlinePassed:
            return timed_out()
        if isinstance(result, Err):
            return result
        last = result.value
        if done(last):
            return result
        remaining = deadline.remaining() or 0.0
        if remaining <= 0:
            return timed_out()
        pause = random.uniform(wait / 2, wait) if jitter else wait
        await clock.sleep(min(pause, remaining))
        wait = min(wait * backoff, max_interval)
