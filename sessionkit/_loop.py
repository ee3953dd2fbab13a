"""Which event loop is running, without asking asyncio on every call.

On Python 3.11 `asyncio.get_running_loop()` asks the kernel for the process id (a `getpid` system
call) each time. A `LoopRef` records a loop and the thread it ran on when it was taken; asking it
later needs no system call: a thread runs at most one loop at a time, so when the recorded loop is
running and this is its thread, it is the loop running this code. It works for any loop that has
`is_running()` (asyncio's own, uvloop, ...).
"""

from __future__ import annotations

import asyncio
import threading

__all__ = ["LoopRef", "runs_here"]

_ident = threading.get_ident


class LoopRef:
    """A loop and the thread that ran it when this was taken."""

    __slots__ = ("loop", "thread")

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: int) -> None:
        self.loop, self.thread = loop, thread

    @classmethod
    def current(cls) -> LoopRef:
        """The running loop (raises `RuntimeError` outside one)."""
        return cls(asyncio.get_running_loop(), _ident())

    def here(self) -> bool:
        """Whether this loop is the one running the caller."""
        return self.thread == _ident() and self.loop.is_running()


def runs_here(ref: LoopRef | None) -> bool:
    """`ref.here()`, and False for no loop at all."""
    return ref is not None and ref.thread == _ident() and ref.loop.is_running()
