"""The progress display: a rich bar on a terminal, a plain counter without rich or without a terminal."""

from __future__ import annotations

import io
import sys

import pytest

from sessionkit._cli.progress import progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def count_to(total: int, stream: io.StringIO) -> str:
    with progress("work", total, stream=stream) as bar:
        for _ in range(total):
            bar.advance()
    return stream.getvalue()


def test_without_rich_a_terminal_gets_a_counter_redrawn_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich.progress", None)  # as if the `cli` extra were not installed
    out = count_to(3, FakeTerminal())
    assert out == "\rwork: 1/3\rwork: 2/3\rwork: 3/3\n"


def test_with_rich_a_terminal_gets_a_bar() -> None:
    pytest.importorskip("rich")
    out = count_to(3, FakeTerminal())
    assert "work" in out
    assert "3/3" in out
    assert "\rwork: " not in out


def test_a_pipe_gets_a_line_per_quarter() -> None:
    assert count_to(8, io.StringIO()).splitlines() == ["work: 2/8", "work: 4/8", "work: 6/8", "work: 8/8"]


def test_disabled_prints_nothing() -> None:
    stream = FakeTerminal()
    with progress("work", 3, enabled=False, stream=stream) as bar:
        bar.advance()
    assert stream.getvalue() == ""
