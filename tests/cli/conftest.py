"""Fakes for the CLI tests: each test gets fresh ones, served by the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sessionkit.testing import FakeDevin, FakeJupyter, FakeLog10, FakeMix, FakeOrq

JUPYTER_TOKEN = "cli-jupyter-token"
ORQ_KEY = "cli-orq-key"
DEVIN_KEY = "cli-devin-key"
LOG10_TOKEN = "cli-log10-token"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "demo: runs `sessionkit demo` (run it alone with -m demo)")


@pytest.fixture
async def jupyter_fake() -> AsyncIterator[FakeJupyter]:
    async with FakeJupyter(token=JUPYTER_TOKEN) as fake:
        yield fake


@pytest.fixture
async def orq_fake() -> AsyncIterator[FakeOrq]:
    async with FakeOrq(api_key=ORQ_KEY) as fake:
        yield fake


@pytest.fixture
async def mix_fake() -> AsyncIterator[FakeMix]:
    async with FakeMix() as fake:
        yield fake


@pytest.fixture
async def devin_fake() -> AsyncIterator[FakeDevin]:
    async with FakeDevin(api_key=DEVIN_KEY) as fake:
        yield fake


@pytest.fixture
async def log10_fake() -> AsyncIterator[FakeLog10]:
    async with FakeLog10(token=LOG10_TOKEN) as fake:
        yield fake
