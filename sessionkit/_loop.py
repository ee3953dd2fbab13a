"""Which event loop is running, without asking asyncio on every call."""

from __future__ import annotations

import asyncio
import threading

__all__ = ["runs_here"]


def runs_here(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether `loop` is the loop running this code.

    Not `loop is asyncio.get_running_loop()`: on Python 3.11 that asks the kernel for the process
    id (a `getpid` system call) on every call. A loop that is running records its thread, and one
    thread runs at most one loop at a time, so the thread's identity answers the same question.
    """
    thread = getattr(loop, "_thread_id", _UNKNOWN)  # asyncio's own loops; others: ask asyncio
    if thread is _UNKNOWN:
        return loop is asyncio.get_running_loop()
    return thread == threading.get_ident()


_UNKNOWN = object()
