"""Waiting (bounded) for a condition on a server's state that offers nothing to wait on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["eventually"]

_STEP = 0.005


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Return once `condition()` holds, looking every 5 ms; `TimeoutError` after `timeout` seconds."""
    for _ in range(int(timeout / _STEP)):
        if condition():
            return
        await asyncio.sleep(_STEP)
    raise TimeoutError(f"the condition did not hold within {timeout}s")
