"""CLI tests use the shared fake fixtures (`fake_jupyter`, `fake_orq`, ...) of tests/_support."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sessionkit.testing import FakeLog10
from tests._support.fake_fixtures import LOG10_TOKEN


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "demo: runs `sessionkit demo` (run it alone with -m demo)")


@pytest.fixture
async def fake_log10() -> AsyncIterator[FakeLog10]:
    # Unlike the shared one, not bound to an organization: these tests send several different ones.
    async with FakeLog10(token=LOG10_TOKEN) as fake:
        yield fake
