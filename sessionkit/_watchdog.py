"""Deadlines of awaits in flight, kept by one coarse watchdog per event loop.

aiohttp arms a loop timer for every request whose `ClientTimeout` has a `total`, and cancels it
when the response is read. Here each deadline goes into a slot instead (10 ms wide, or a whole
second for a deadline over 5 s, which aiohttp rounds the same way): one loop timer per slot in
use, however many awaits share it. When a slot's time comes, every await still in it has its
task cancelled, and `Deadline` turns that cancellation back into a timeout (`Watch.fired`), the
way aiohttp's own timeout does (`Task.uncancel`, so Python 3.11+; on 3.10 `Deadline` uses
`asyncio.wait_for` and aiohttp's timer instead). A deadline fires at most one slot late, never early.
"""

from __future__ import annotations

import asyncio
import math
import sys
import threading
from typing import Any, cast

from ._loop import LoopRef

__all__ = ["WATCHDOG", "Watch", "Watchdog", "watchdog_here"]

WATCHDOG = sys.version_info >= (3, 11)
"""Whether the watchdog can be used: it needs `Task.uncancel` to tell its cancellation from a caller's."""

SLOT = 0.01  # seconds: how late a deadline of up to COARSE_AFTER seconds may fire
COARSE_AFTER = 5.0  # aiohttp's `timeout_ceil_threshold`: a longer deadline is rounded up to a second
COARSE_SLOT = 1.0


class Watch:
    """One await under watch: `expired` once its deadline cancelled its task."""

    __slots__ = ("expired", "slot", "task")

    def __init__(self, task: asyncio.Task[object], slot: set[Watch]) -> None:
        self.task, self.slot, self.expired = task, slot, False

    def done(self) -> None:
        """The await ended (either way): stop watching it."""
        self.slot.discard(self)

    def fired(self) -> bool:
        """Whether a `CancelledError` came from this deadline alone (it is then undone).

        A caller's cancellation that arrives with it is still counted on the task, and wins.
        """
        return self.expired and cast(Any, self.task).uncancel() == 0  # Python 3.11+


class Watchdog:
    """Deadlines on `home`'s loop clock, grouped into slots of `SLOT` seconds."""

    __slots__ = ("_slots", "home")

    def __init__(self, home: LoopRef) -> None:
        self.home = home
        self._slots: dict[tuple[int, float], set[Watch]] = {}

    def watch(self, seconds: float) -> Watch:
        """Cancel the current task in `seconds` (rounded up to the next slot) unless `done` first."""
        loop = self.home.loop
        task = asyncio.current_task(loop)
        if task is None:  # pragma: no cover - sessionkit always awaits inside a task
            raise RuntimeError("a deadline can only be watched inside a task")
        # Like aiohttp's own timeouts, one longer than 5 s ends on a whole second of the loop's
        # clock: at most one timer a second stays armed, and a slot empties without being cancelled.
        width = COARSE_SLOT if seconds > COARSE_AFTER else SLOT
        key = (math.ceil((loop.time() + seconds) / width), width)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = set()
            loop.call_at(key[0] * width, self._expire, key)
        watch: Watch = _new(Watch)  # `Watch(task, slot)` without a call to `__init__`: one per attempt
        watch.task, watch.slot, watch.expired = task, slot, False
        slot.add(watch)
        return watch

    def watching(self) -> int:
        """How many awaits are under watch now."""
        return sum(len(slot) for slot in self._slots.values())

    def _expire(self, key: tuple[int, float]) -> None:
        for watch in self._slots.pop(key, ()):
            watch.expired = True
            watch.task.cancel()


_new = object.__new__
_local = threading.local()


def watchdog_here() -> Watchdog:
    """The watchdog of the running loop (one per loop, kept per thread)."""
    dog: Watchdog | None = getattr(_local, "dog", None)
    if dog is None or not dog.home.here():
        dog = _local.dog = Watchdog(LoopRef.current())
    return dog
