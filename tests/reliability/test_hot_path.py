"""The hot path's shortcuts answer exactly as the plain way: aiohttp's `_request` called straight
(when its signature is the expected one) and `session.request`, redirects and timeouts included."""

from __future__ import annotations

import pytest

from sessionkit import Err, Ok, RequestTimeoutError, Timeout, _transport
from sessionkit.jupyter import JupyterCore, sessions_get

from .fault_server import FaultServer, json_body, redirect, slow_headers
from .test_faults import SESSION_JSON


def test_the_installed_aiohttp_takes_the_direct_call() -> None:
    # If a new aiohttp changes `_request`, calls still work (through `session.request`), but the
    # benchmarks would lose 3 %: this says why.
    assert _transport.DIRECT_REQUEST


@pytest.mark.parametrize("direct", [True, False])
async def test_both_ways_of_calling_aiohttp_answer_alike(direct: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_transport, "DIRECT_REQUEST", direct)
    async with FaultServer(default=json_body(SESSION_JSON)) as srv:
        ok = json_body(SESSION_JSON)
        srv.then(redirect(307, f"{srv.url}/api/sessions/s-1"), ok, slow_headers(2.0, ok))
        async with JupyterCore(server_url=srv.url, token="t", timeout=Timeout(attempt=0.3), retries=0) as core:
            redirected = await sessions_get(core, {"session": "s-0"})
            timed_out = await sessions_get(core, {"session": "s-1"})
            plain = await sessions_get(core, {"session": "s-2"})
    assert isinstance(redirected, Ok)
    assert isinstance(timed_out, Err)
    assert isinstance(timed_out.error, RequestTimeoutError)
    assert isinstance(plain, Ok)
    assert [r.path for r in srv.requests] == [
        "/api/sessions/s-0",
        "/api/sessions/s-1",
        "/api/sessions/s-1",
        "/api/sessions/s-2",
    ]
    assert all(r.header("Authorization") == "token t" for r in srv.requests)
