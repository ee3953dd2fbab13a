"""The adaptive batch's view of each attempt of the call it runs, handed to the pipeline in a context variable.

An adaptive batch sets `BATCH_CALL` in the task of each call it starts. The pipeline then tells it
of every failed attempt as it happens (not only the call's final result, which may come after
retries a second or more later) and lets it pace every retry like a new start, so retries count in
the batch's rate. Outside an adaptive batch the variable is unset and the pipeline reads it only
on a failed attempt.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._clock import Clock
    from .errors import SessionkitError
    from .ratelimit import Refusal

__all__ = ["BATCH_CALL", "BatchCall"]


class BatchCall(Protocol):
    """One call of an adaptive batch, as the pipeline sees it."""

    def failed(self, error: SessionkitError) -> None:
        """An attempt of the call failed with `error` (retried or not)."""
        ...

    async def acquire(self, clock: Clock, deadline: float | None) -> Refusal | None:
        """Wait until the batch lets the next attempt start (None), or say why it may not."""
        ...


BATCH_CALL: ContextVar[BatchCall | None] = ContextVar("sessionkit_batch_call", default=None)
