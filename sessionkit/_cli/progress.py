"""A progress display on stderr: a rich bar when rich is installed and stderr is a terminal, else a counter."""

from __future__ import annotations

import sys
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO

__all__ = ["Progress", "progress"]


class Progress(Protocol):
    def advance(self) -> None: ...


class _Silent:
    def advance(self) -> None:
        pass


class _Counter:
    """`label: done/total`, redrawn in place on a terminal, else a line at every quarter."""

    def __init__(self, label: str, total: int, stream: TextIO) -> None:
        self.label, self.total, self.stream, self.done = label, total, stream, 0
        self.tty = stream.isatty()
        self.marks = {max(1, total * q // 4) for q in range(1, 5)}

    def advance(self) -> None:
        self.done += 1
        if self.tty:
            end = "\n" if self.done == self.total else ""
            print(f"\r{self.label}: {self.done}/{self.total}", end=end, file=self.stream, flush=True)
        elif self.done in self.marks:
            print(f"{self.label}: {self.done}/{self.total}", file=self.stream, flush=True)


class _RichBar:
    def __init__(self, bar: Any, task: Any) -> None:
        self.bar, self.task = bar, task

    def advance(self) -> None:
        self.bar.advance(self.task)


@contextmanager
def progress(
    label: str, total: int, *, enabled: bool = True, stream: TextIO | None = None
) -> Generator[Progress, None, None]:
    """Yield an object whose `advance()` counts one finished item."""
    out = stream or sys.stderr
    if not enabled or total <= 0:
        yield _Silent()
        return
    if out.isatty():
        try:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        except ImportError:  # rich is the optional `cli` extra
            pass
        else:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=Console(file=out), transient=False) as bar:
                yield _RichBar(bar, bar.add_task(label, total=total))
            return
    yield _Counter(label, total, out)
