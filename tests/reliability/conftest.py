"""Shared pieces of the reliability suite.

The soak runs a short version by default; `SESSIONKIT_SOAK=full` runs the full 20,000 calls
(an environment variable rather than a pytest option, so it works from any rootdir).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from sessionkit import RetryConfig
from sessionkit.jupyter import JupyterCore

SOAK_FULL = os.environ.get("SESSIONKIT_SOAK", "").strip().lower() == "full"
SOAK_CALLS = 20_000 if SOAK_FULL else 2_000

# Retries as the defaults decide them, with waits short enough for a test.
FAST_RETRY = RetryConfig(max_retries=2, initial_wait=0.001, max_wait=0.005, jitter=False)

SESSION_JSON: dict[str, Any] = {
    "id": "s-1",
    "path": "a.ipynb",
    "name": "a.ipynb",
    "type": "notebook",
    "kernel": {"id": "k-1", "name": "python3", "execution_state": "idle", "connections": 0},
}

CoreFactory = Callable[..., AbstractAsyncContextManager[JupyterCore]]


@pytest.fixture
def jupyter_core() -> CoreFactory:
    """`async with jupyter_core(server.url, **kw) as core:` with test-sized retries and a token."""

    @asynccontextmanager
    async def make(url: str, **kwargs: Any) -> AsyncIterator[JupyterCore]:
        kwargs.setdefault("retries", FAST_RETRY)
        kwargs.setdefault("token", "tok-secret")
        async with JupyterCore(server_url=url, **kwargs) as core:
            yield core

    return make
