"""On uvloop (which has no `_thread_id`), a warm core still never asks asyncio for the running loop:
`LoopRef` recognises the loop by its thread and `is_running()`, which every loop has (on Python 3.11
each `asyncio.get_running_loop()` is a getpid system call). uvloop is a dev dependency: a missing one
fails here instead of skipping."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from sessionkit import Err, Ok, RequestOptions, RequestTimeoutError, Timeout
from sessionkit.jupyter import JupyterCore, sessions_get
from sessionkit.ratelimit import LocalRateLimiter

from .fault_server import FaultServer, json_body
from .test_faults import SESSION_JSON
from .test_watchdog import hang


@pytest.mark.parametrize("limited", [False, True], ids=["plain", "rate-limited"])
def test_on_uvloop_a_call_does_not_ask_asyncio_for_the_running_loop(
    limited: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = 0
    real = asyncio.get_running_loop

    def counting() -> asyncio.AbstractEventLoop:
        nonlocal asked
        asked += 1
        return real()

    async def calls() -> None:
        assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
        limiter = LocalRateLimiter(1e6, burst=100) if limited else None
        async with (
            FaultServer(default=json_body(SESSION_JSON)) as srv,
            JupyterCore(server_url=srv.url, token="t", rate_limiter=limiter) as core,
        ):
            assert isinstance(await sessions_get(core, {"session": "warm-up"}), Ok)
            monkeypatch.setattr(asyncio, "get_running_loop", counting)
            try:
                for i in range(50):
                    assert isinstance(await sessions_get(core, {"session": f"s-{i}"}), Ok)
            finally:
                monkeypatch.setattr(asyncio, "get_running_loop", real)

    uvloop.run(calls())
    assert asked == 0


def test_on_uvloop_the_per_attempt_deadline_holds_and_a_core_serves_a_second_loop() -> None:
    core = JupyterCore(server_url="http://127.0.0.1:9", token="t", timeout=Timeout(attempt=0.1), retries=0)

    async def stalled() -> object:
        async with FaultServer(default=hang) as srv, core:
            return await sessions_get(core, {"session": "s"}, options=RequestOptions(server_url=srv.url))

    first = uvloop.run(stalled())
    second = uvloop.run(stalled())  # a new loop: the core builds a new pool there
    for result in (first, second):
        assert isinstance(result, Err)
        assert isinstance(result.error, RequestTimeoutError)
        assert result.error.deadline == "attempt"
