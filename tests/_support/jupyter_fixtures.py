"""Real Jupyter Server fixtures: one server per test run, one closed core per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from sessionkit.jupyter import JupyterCore
from sessionkit.testing.real_jupyter import LIFT_IOPUB_LIMITS, RealJupyterServer


@pytest.fixture(scope="session")
def jupyter_server() -> Iterator[RealJupyterServer]:
    """A real `jupyter server` on 127.0.0.1. Fails (never skips) when jupyter_server is missing.

    Its iopub rate limits are lifted: the execution tests send outputs of several MB at once.
    """
    server = RealJupyterServer(token="sessionkit-test-token", args=LIFT_IOPUB_LIMITS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def jupyter_core(jupyter_server: RealJupyterServer) -> AsyncIterator[JupyterCore]:
    """A `JupyterCore` bound to the shared server, closed after the test."""
    async with JupyterCore(server_url=jupyter_server.url, token=jupyter_server.token) as core:
        yield core
