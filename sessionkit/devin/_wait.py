"""What both Devin waiters share: poll a session until its state is one of `until` (on `wait_until`)."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import TypeVar

from .._clock import Clock
from ..errors import InvalidRequestError, SessionkitError
from ..result import Err, Result
from ..wait import wait_until

__all__ = ["wait_for_state"]

T = TypeVar("T")


def _names(states: Iterable[str]) -> frozenset[str]:
    # A str-valued enum member hashes by its name, not its value: compare the values.
    return frozenset(s.value if isinstance(s, enum.Enum) else s for s in states)


async def wait_for_state(
    poll: Callable[[], Awaitable[Result[T, SessionkitError]]],
    state_of: Callable[[T], str | None],
    *,
    until: Collection[str],
    known: Iterable[str],
    timeout: float,
    interval: float,
    clock: Clock,
    describe: Callable[[T], str],
    operation_id: str,
) -> Result[T, SessionkitError]:
    """`Ok(value)` once `state_of(value)` is in `until`; an `Err` from the poll; or `Err(WaitTimeoutError)`.

    A state not in `known` (a typo would wait until the deadline) and bad timing arguments are
    `Err(InvalidRequestError)`; nothing is polled then.
    """
    wanted = _names(until) if not isinstance(until, str) else frozenset({until})
    unknown = sorted(wanted - _names(known))
    problem: tuple[str, str] | None = None
    if not wanted:
        problem = ("until", "name at least one state")
    elif unknown:
        problem = ("until", f"unknown state(s) {unknown}; known: {sorted(_names(known))}")
    if problem is not None:
        return Err(InvalidRequestError(problem[1], field_path=problem[0], operation_id=operation_id))

    def done(value: T) -> bool:
        return state_of(value) in wanted

    return await wait_until(
        poll,
        done,
        timeout=timeout,
        interval=interval,
        clock=clock,
        describe=describe,
        operation_id=operation_id,
    )
