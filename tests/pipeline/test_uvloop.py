"""On uvloop (which has no `_thread_id`), a warm core still never asks asyncio for the running loop:
`LoopRef` recognises the loop by its thread and `is_running()`, which every loop has (on Python 3.11
each `asyncio.get_running_loop()` is a getpid system call). uvloop is a dev dependency: a missing one
skips here saying so (and fails where SESSIONKIT_REQUIRE_EXTRAS is set, as in CI)."""

from __future__ import annotations

import asyncio

import pytest

from sessionkit import Err, RequestOptions, RequestTimeoutError, Timeout
from sessionkit.jupyter import JupyterCore, sessions_get
from tests._support.extras import require
from tests.reliability.fault_server import FaultServer

from .test_watchdog import fifty_gets_asking_for_the_loop, hang

uvloop = require("uvloop", "dev")


@pytest.mark.parametrize("limited", [False, True], ids=["plain", "rate-limited"])
def test_on_uvloop_a_call_does_not_ask_asyncio_for_the_running_loop(
    limited: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def calls() -> int:
        assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
        return await fifty_gets_asking_for_the_loop(limited, monkeypatch)

    assert uvloop.run(calls()) == 0


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


def test_on_uvloop_code_runs_in_a_kernel_and_a_timeout_interrupts_it() -> None:
    from sessionkit.jupyter import ExecutionTimeoutError, kernels_execute
    from sessionkit.testing import FakeJupyter

    async def run() -> tuple[object, object, int]:
        async with FakeJupyter(token="t") as fake, JupyterCore(server_url=fake.url, token="t") as core:
            kernel_id = fake._start_kernel("python3")  # pyright: ignore[reportPrivateUsage]
            fake.kernel_outputs("6*7", result="42")
            fake.kernel_outputs("loop", hang=True)
            done = await kernels_execute(core, {"kernel_id": kernel_id, "code": "6*7"})
            late = await kernels_execute(core, {"kernel_id": kernel_id, "code": "loop", "timeout": 0.2})
            return done, late, fake.channel_connections(kernel_id)

    done, late, connections = uvloop.run(run())
    assert done.unwrap().result == {"text/plain": "42"}  # type: ignore[attr-defined]
    assert isinstance(late, Err)
    assert isinstance(late.error, ExecutionTimeoutError)
    assert late.error.action == "interrupted"
    assert connections == 1
