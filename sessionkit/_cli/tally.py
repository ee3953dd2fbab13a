"""Bookkeeping for `sessionkit demo`: per-section call counts, timing, checks and the final report."""

from __future__ import annotations

import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import SessionkitError
from ..result import Err, Ok, Result

__all__ = ["Section", "Tour"]

R = TypeVar("R", bound="Ok[Any] | Err[Any]")
T = TypeVar("T")


@dataclass
class Section:
    """What one part of the tour did: calls, Ok/Err counts, retries (extra attempts), problems."""

    name: str
    calls: int = 0
    ok: int = 0
    err: int = 0
    retries: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list[str])
    problems: list[str] = field(default_factory=list[str])

    def record(self, result: R) -> R:
        """Count one call's result and pass it through unchanged."""
        self.calls += 1
        if isinstance(result, Ok):
            self.ok += 1
            attempts = result.meta.attempts if result.meta is not None else 1
        else:
            self.err += 1
            error: Any = result.error
            attempts = error.attempts if isinstance(error, SessionkitError) else 1
        self.retries += max(attempts - 1, 0)
        return result

    def value(self, result: Result[T, Exception], what: str) -> T | None:
        """Record `result`; the Ok value, or None with the failure noted as a problem."""
        self.record(result)
        if isinstance(result, Err):
            error = result.error
            message = error.message if isinstance(error, SessionkitError) else str(error)
            self.problems.append(f"{what}: {type(error).__name__}: {message}")
            return None
        return result.value

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            self.problems.append(what)

    def note(self, text: str) -> None:
        self.notes.append(text)


@dataclass
class Tour:
    sections: list[Section] = field(default_factory=list[Section])
    started: float = field(default_factory=time.perf_counter)

    @contextmanager
    def section(self, name: str) -> Generator[Section, None, None]:
        section = Section(name)
        self.sections.append(section)
        start = time.perf_counter()
        try:
            yield section
        finally:
            section.seconds = time.perf_counter() - start

    @property
    def problems(self) -> list[str]:
        return [f"{s.name}: {p}" for s in self.sections for p in s.problems]

    def report(self, title: str) -> str:
        """A short plain-text report: one row per section, a total, the notes, and the verdict."""
        header = f"{'section':<24}{'calls':>7}{'ok':>7}{'err':>6}{'retries':>9}{'time':>9}"
        rows = [title, "", header, "-" * len(header)]
        for s in self.sections:
            rows.append(f"{s.name:<24}{s.calls:>7}{s.ok:>7}{s.err:>6}{s.retries:>9}{s.seconds:>8.2f}s")
        total = time.perf_counter() - self.started
        servers = total - sum(s.seconds for s in self.sections)
        rows.append(f"{'(servers start/stop)':<24}{'':>29}{servers:>8.2f}s")
        sums = [sum(getattr(s, k) for s in self.sections) for k in ("calls", "ok", "err", "retries")]
        rows += ["-" * len(header), f"{'total':<24}{sums[0]:>7}{sums[1]:>7}{sums[2]:>6}{sums[3]:>9}{total:>8.2f}s", ""]
        rows += [f"  {s.name}: {n}" for s in self.sections for n in s.notes]
        problems = self.problems
        rows += ["", "result: OK" if not problems else f"result: FAILED ({len(problems)} problem(s))"]
        rows += [f"  ! {p}" for p in problems]
        return "\n".join(rows)
