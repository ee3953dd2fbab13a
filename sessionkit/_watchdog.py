"""The per-attempt deadline of in-flight requests, kept by one coarse watchdog per event loop.

aiohttp arms a loop timer for every request whose `ClientTimeout` has a `total`, and cancels it
when the response is read. Here each deadline goes into a slot instead (10 ms wide, or a whole
second for a deadline over 5 s, which aiohttp rounds the same way): one loop timer per slot in
use, however many requests share it. When a slot's time comes, every attempt still in it has its
task cancelled, and the pipeline turns that cancellation back into a timeout (`expired`), the way
aiohttp's own timeout does (`Task.uncancel`, so Python 3.11+; on 3.10 the pipeline keeps
aiohttp's timeout). A deadline fires at most one slot late, as aiohttp's would.
"""

from __future__ import annotations

import asyncio
import math

__all__ = ["Watch", "Watchdog"]

SLOT = 0.01  # seconds: how late a deadline of up to COARSE_AFTER seconds may fire
COARSE_AFTER = 5.0  # aiohttp's `timeout_ceil_threshold`: a longer deadline is rounded up to a second
COARSE_SLOT = 1.0


class Watch:
    """One attempt under watch: `expired` once its deadline cancelled its task."""

    __slots__ = ("expired", "slot", "task")

    def __init__(self, task: asyncio.Task[object], slot: set[Watch]) -> None:
        self.task, self.slot, self.expired = task, slot, False

    def done(self) -> None:
        """The attempt ended (either way): stop watching it."""
        self.slot.discard(self)


class Watchdog:
    """Deadlines on `loop`'s clock, grouped into slots of `SLOT` seconds."""

    __slots__ = ("_slots", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._slots: dict[tuple[int, float], set[Watch]] = {}

    def watch(self, seconds: float) -> Watch:
        """Cancel the current task in `seconds` (rounded up to the next slot) unless `done` first."""
        task = asyncio.current_task(self.loop)
        if task is None:  # pragma: no cover - the pipeline always runs inside a task
            raise RuntimeError("a deadline can only be watched inside a task")
        # Like aiohttp's own timeouts, one longer than 5 s ends on a whole second of the loop's
        # clock: at most one timer a second stays armed, and a slot empties without being cancelled.
        width = COARSE_SLOT if seconds > COARSE_AFTER else SLOT
        key = (math.ceil((self.loop.time() + seconds) / width), width)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = set()
            self.loop.call_at(key[0] * width, self._expire, key)
        watch = Watch(task, slot)
        slot.add(watch)
        return watch

    def _expire(self, key: tuple[int, float]) -> None:
        for watch in self._slots.pop(key, ()):
            watch.expired = True
            watch.task.cancel()
