"""`FakeClock`: virtual time for tests of retries, deadlines and rate limits.

    clock = FakeClock()
    async with JupyterCore(server_url=fake.url, token="t", clock=clock) as core:
        fake.faults.push(Fault.rate_limited(30))
        await sessions_list(core)
    assert clock.sleeps == [30.0]      # the Retry-After was honoured, and no real second passed

A sleep returns at once (after one turn of the event loop, so other tasks run) and moves the
clock forward by its length. Network I/O still takes real time, which the clock does not count.
"""

from __future__ import annotations

import asyncio

__all__ = ["FakeClock"]


class FakeClock:
    """A clock whose time moves only when something sleeps on it (or `advance` is called)."""

    def __init__(self, start: float = 1000.0, wall_start: float = 1_700_000_000.0) -> None:
        self.now = start
        self._wall_offset = wall_start - start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + self._wall_offset

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now}, sleeps={len(self.sleeps)})"
