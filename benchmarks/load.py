"""The load loop: N requests through one client at a fixed concurrency, with per-request latency."""

from __future__ import annotations

import asyncio
import gc
import time
from array import array

import attrs

from .clients import Call


@attrs.define
class Sample:
    """What one timed run of one client saw."""

    requests: int = 0
    wrong: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    latencies: array[float] = attrs.field(factory=lambda: array("d"))
    first_error: str | None = None

    def extend(self, other: Sample) -> None:
        self.requests += other.requests
        self.wrong += other.wrong
        self.wall += other.wall
        self.cpu += other.cpu
        self.latencies.extend(other.latencies)
        self.first_error = self.first_error or other.first_error


async def drive(call: Call, requests: int, concurrency: int) -> Sample:
    """Send `requests` calls from `concurrency` workers; each worker keeps one call in flight."""
    sample = Sample(requests=requests)
    left = requests
    lat = sample.latencies
    clock = time.perf_counter

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            t0 = clock()
            try:
                ok = await call()
            except Exception as exc:
                ok = False
                sample.first_error = sample.first_error or f"{type(exc).__name__}: {exc}"
            lat.append(clock() - t0)
            if not ok:
                sample.wrong += 1

    gc.collect()
    cpu_started, started = time.process_time(), clock()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, requests))))
    sample.wall = clock() - started
    # This process's CPU time: the server runs elsewhere, so it is the client's cost alone, and it
    # is far less disturbed than wall time by other processes competing for the cores.
    sample.cpu = time.process_time() - cpu_started
    return sample


def percentile(values: array[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
