"""The kernel commands and `wait` of `sessionkit jupyter sessions`, through the real console script."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sessionkit.testing import FakeJupyter
from tests._support.fake_fixtures import JUPYTER_TOKEN
from tests.cli._run import sessionkit


@pytest.fixture
async def fake() -> AsyncIterator[FakeJupyter]:
    async with FakeJupyter(token=JUPYTER_TOKEN, kernel_ready_after_polls=1) as server:
        yield server


def conn(fake: FakeJupyter) -> list[str]:
    return ["--server-url", fake.url, "--token", JUPYTER_TOKEN]


async def test_kernelspecs_list(fake: FakeJupyter) -> None:
    run = await sessionkit("jupyter", "sessions", "kernelspecs-list", *conn(fake))
    assert run.code == 0, run
    assert run.json()["default"] == "python3"
    assert run.json()["kernelspecs"]["python3"]["spec"]["language"] == "python"


async def test_interrupt_and_restart_take_the_kernel_id(fake: FakeJupyter) -> None:
    [session] = fake.seed_sessions(1)
    kernel_id = session["kernel"]["id"]
    interrupted = await sessionkit("jupyter", "sessions", "kernels-interrupt", kernel_id, *conn(fake))
    assert (interrupted.code, interrupted.json()) == (0, None), interrupted
    restarted = await sessionkit("jupyter", "sessions", "kernels-restart", kernel_id, *conn(fake))
    assert restarted.code == 0, restarted
    assert (restarted.json()["id"], restarted.json()["execution_state"]) == (kernel_id, "idle")
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", f"/api/kernels/{kernel_id}/interrupt"),
        ("POST", f"/api/kernels/{kernel_id}/restart"),
    ]


async def test_wait_prints_the_ready_session(fake: FakeJupyter) -> None:
    [session] = fake.seed_sessions(1)
    run = await sessionkit("jupyter", "sessions", "wait", session["id"], "--wait-timeout", "30", *conn(fake))
    assert run.code == 0, run
    assert run.json()["kernel"]["execution_state"] == "idle"


async def test_wait_times_out_on_a_kernel_that_stays_starting(fake: FakeJupyter) -> None:
    fake.kernel_ready_after_polls = None
    [session] = fake.seed_sessions(1)
    run = await sessionkit("jupyter", "sessions", "wait", session["id"], "--wait-timeout", "1", *conn(fake))
    assert run.code == 3, run  # a deadline, like any timeout
    error = run.error()
    assert error["error"] == "WaitTimeoutError"
    assert "execution_state=starting" in error["message"]
