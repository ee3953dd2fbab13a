"""Fixtures for the `sessionkit.testing` fakes: one fresh, started fake per test (no shared state).

Each fake uses a fixed test credential, exposed as a constant so tests can build cores:
`JupyterCore(server_url=fake_jupyter.url, token=JUPYTER_TOKEN)`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from sessionkit.testing import FakeDevin, FakeJupyter, FakeLog10, FakeMix, FakeOrq

JUPYTER_TOKEN = "fake-jupyter-token"
ORQ_API_KEY = "fake-orq-key"
DEVIN_API_KEY = "fake-devin-key"
LOG10_TOKEN = "fake-log10-token"
LOG10_ORG = "fake-org"


@pytest.fixture
async def fake_jupyter() -> AsyncIterator[FakeJupyter]:
    async with FakeJupyter(token=JUPYTER_TOKEN) as fake:
        yield fake


@pytest.fixture
async def fake_orq() -> AsyncIterator[FakeOrq]:
    async with FakeOrq(api_key=ORQ_API_KEY) as fake:
        yield fake


@pytest.fixture
async def fake_mix() -> AsyncIterator[FakeMix]:
    async with FakeMix() as fake:
        yield fake


@pytest.fixture
async def fake_devin() -> AsyncIterator[FakeDevin]:
    async with FakeDevin(api_key=DEVIN_API_KEY) as fake:
        yield fake


@pytest.fixture
async def fake_log10() -> AsyncIterator[FakeLog10]:
    async with FakeLog10(token=LOG10_TOKEN, organization=LOG10_ORG) as fake:
        yield fake


@pytest.fixture
async def raw_http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session for HTTP-level tests."""
    async with aiohttp.ClientSession() as session:
        yield session


@dataclass
class Reply:
    """A whole HTTP answer, read eagerly."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def fetch(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Reply:
    """Send one request (redirects not followed) and read the whole answer."""
    kwargs.setdefault("allow_redirects", False)
    async with http.request(method, url, **kwargs) as response:
        return Reply(response.status, response.headers, await response.read())
