"""A test of an optional extra skips, naming the extra, where it is missing, and fails instead where
`SESSIONKIT_REQUIRE_EXTRAS` is set (CI), so a broken install never hides behind a skip."""

from __future__ import annotations

import pytest
from _pytest.outcomes import Failed, Skipped

from tests._support.extras import require


def test_a_missing_extra_skips_with_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SESSIONKIT_REQUIRE_EXTRAS", raising=False)
    with pytest.raises(Skipped, match=r"pip install 'sessionkit\[otel\]'"):
        require("no_such_module_here", "otel")


def test_with_the_variable_set_a_missing_extra_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONKIT_REQUIRE_EXTRAS", "1")
    with pytest.raises(Failed, match="SESSIONKIT_REQUIRE_EXTRAS is set"):
        require("no_such_module_here", "redis")


def test_an_installed_extra_is_returned() -> None:
    assert require("json", "none").dumps([1]) == "[1]"
