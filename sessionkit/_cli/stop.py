"""Stopping a batch on SIGINT or SIGTERM: start no new call, give the calls in flight a grace period.

The first signal stops new work and starts the grace timer; when it runs out (or at a second
signal) the calls still in flight are cancelled. An infinite grace (`--grace inf`) has no timer:
only a second signal cancels, and the `stopping` line says `"grace": null`. Each call is awaited
through `Stop.run`, which turns such a cancellation into `Err(Abandoned())` so the batch itself
goes on to report it.
"""

from __future__ import annotations

import asyncio
import json
import math
import signal
import sys
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from typing import TypeVar

from ..result import Err, Result

__all__ = ["Abandoned", "Stop"]

T = TypeVar("T")
E = TypeVar("E")

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Abandoned(Exception):
    """A call cancelled because the batch was stopped and its grace period ran out."""


class Stop:
    """Signal state of one batch run; `installed()` routes SIGINT and SIGTERM to it."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.signum: int | None = None
        self.in_flight = 0
        self._abandon: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def stopping(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as a shell reports a process the signal ended: 130, 143."""
        return 128 + (self.signum or 0)

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def _abandon_all(self) -> None:
        if not self._abandon.done():
            self._abandon.set_result(None)

    def _on_signal(self, signum: int) -> None:
        if self.signum is not None:  # asked twice: the user will not wait for the grace period
            self._abandon_all()
            return
        self.signum = signum
        # `--grace inf` waits for the calls in flight however long they take: JSON has no Infinity,
        # so the line says `"grace": null` (no limit) and stays valid JSON.
        grace = self.grace if math.isfinite(self.grace) else None
        note = {"stopping": self.signal_name, "in_flight": self.in_flight, "grace": grace}
        print(json.dumps(note, allow_nan=False), file=sys.stderr, flush=True)
        if grace is not None:
            self._timer = asyncio.get_running_loop().call_later(self.grace, self._abandon_all)

    @contextmanager
    def installed(self) -> Generator[Stop, None, None]:
        """Handle SIGINT and SIGTERM while the block runs, then give them back to their defaults."""
        loop = asyncio.get_running_loop()
        added: list[int] = []
        for sig in _SIGNALS:
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
                continue  # Ctrl-C then stays a KeyboardInterrupt, which ends the run with 130
            added.append(sig)
        try:
            yield self
        finally:
            for sig in added:
                loop.remove_signal_handler(sig)
            if self._timer is not None:
                self._timer.cancel()

    async def run(self, call: Callable[[], Awaitable[Result[T, E]]]) -> Result[T, E] | Err[Abandoned]:
        """Await `call()`; `Err(Abandoned())` when it was cancelled after the grace period."""
        self.in_flight += 1
        task = asyncio.ensure_future(call())
        try:
            await asyncio.wait({task, self._abandon}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.in_flight -= 1
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        if task.cancelled():
            return Err(Abandoned())
        return task.result()
