"""`kernelspecs_list`, `kernels_interrupt`, `kernels_restart` and the 501 `JupyterKernelError`, on `FakeJupyter`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sessionkit import Err, InternalServerError, NotFoundError, Ok
from sessionkit.jupyter import (
    InterruptKernelRequest,
    JupyterCore,
    JupyterKernelError,
    KernelSpecs,
    Session,
    kernels_interrupt,
    kernels_restart,
    kernelspecs_list,
    sessions_create,
    sessions_update,
)
from sessionkit.testing import FakeClock, FakeJupyter, Fault

TOKEN = "t"
UNKNOWN = "11111111-1111-1111-1111-111111111111"


@pytest.fixture
async def fake() -> AsyncIterator[FakeJupyter]:
    async with FakeJupyter(token=TOKEN, kernel_names=("python3", "julia")) as server:
        yield server


@pytest.fixture
async def core(fake: FakeJupyter) -> AsyncIterator[JupyterCore]:
    async with JupyterCore(server_url=fake.url, token=TOKEN, clock=FakeClock()) as c:
        yield c


async def new_session(core: JupyterCore) -> Session:
    return (await sessions_create(core, {"path": "a.ipynb"})).unwrap()


async def test_kernelspecs_list(core: JupyterCore) -> None:
    specs = (await kernelspecs_list(core)).unwrap()
    assert isinstance(specs, KernelSpecs)
    assert specs.default == "python3"
    assert sorted(specs.kernelspecs) == ["julia", "python3"]
    python = specs.kernelspecs["python3"]
    assert python.name == "python3"
    assert python.spec is not None
    assert (python.spec.display_name, python.spec.language) == ("Python 3 (ipykernel)", "python")


async def test_interrupt_and_restart_a_sessions_kernel(fake: FakeJupyter, core: JupyterCore) -> None:
    session = await new_session(core)
    assert session.kernel is not None
    kernel_id = session.kernel.id
    interrupted = await kernels_interrupt(core, InterruptKernelRequest(kernel_id=kernel_id))
    assert isinstance(interrupted, Ok), interrupted
    assert interrupted.value is None
    assert interrupted.meta is not None
    assert interrupted.meta.status == 204
    restarted = await kernels_restart(core, {"kernel_id": kernel_id})
    assert isinstance(restarted, Ok), restarted
    assert (restarted.value.id, restarted.value.name, restarted.value.execution_state) == (kernel_id, "python3", "idle")
    assert [(r.method, r.path) for r in fake.requests[-2:]] == [
        ("POST", f"/api/kernels/{kernel_id}/interrupt"),
        ("POST", f"/api/kernels/{kernel_id}/restart"),
    ]


async def test_an_unknown_kernel(core: JupyterCore) -> None:
    interrupted = await kernels_interrupt(core, {"kernel_id": UNKNOWN})
    assert isinstance(interrupted, Err)
    assert isinstance(interrupted.error, NotFoundError)
    assert interrupted.error.server_message == f"Kernel does not exist: {UNKNOWN}"
    # The real server wraps its own 404 into a 500 here; restarts are not retried.
    restarted = await kernels_restart(core, {"kernel_id": UNKNOWN})
    assert isinstance(restarted, Err)
    assert type(restarted.error) is InternalServerError
    assert restarted.error.server_message == "Exception restarting kernel"
    assert restarted.error.attempts == 1


async def test_interrupt_is_retried_and_restart_is_not(fake: FakeJupyter, core: JupyterCore) -> None:
    session = await new_session(core)
    assert session.kernel is not None
    fake.faults.push(Fault.status(503), path="/api/kernels/*")
    interrupted = await kernels_interrupt(core, {"kernel_id": session.kernel.id})
    assert isinstance(interrupted, Ok), interrupted
    assert interrupted.meta is not None
    assert interrupted.meta.attempts == 2
    fake.faults.push(Fault.status(503), path="/api/kernels/*")
    restarted = await kernels_restart(core, {"kernel_id": session.kernel.id})
    assert isinstance(restarted, Err)
    assert (restarted.error.attempts, getattr(restarted.error, "status", None)) == (1, 503)


async def test_an_unknown_kernel_name_is_a_jupyter_kernel_error_with_the_short_message(core: JupyterCore) -> None:
    created = await sessions_create(core, {"path": "a.ipynb", "kernel": {"name": "nope"}})
    assert isinstance(created, Err)
    error = created.error
    assert isinstance(error, JupyterKernelError)
    assert isinstance(error, InternalServerError)  # still a 5xx for code that only knows the generic errors
    assert (error.status, error.attempts) == (501, 1)  # not retried
    assert error.short_message == "nope not found"
    assert error.server_message == (
        "The 'nope' kernel is not available. Please pick another suitable kernel instead, or install that kernel."
    )


async def test_a_kernel_change_to_an_unknown_name_is_the_same_error(core: JupyterCore) -> None:
    session = await new_session(core)
    updated = await sessions_update(core, {"session": session.id, "model": {"kernel": {"name": "nope"}}})
    assert isinstance(updated, Err)
    assert isinstance(updated.error, JupyterKernelError)
    assert updated.error.short_message == "Error starting kernel nope"


def test_short_message_is_none_without_one() -> None:
    error = JupyterKernelError("501", status=501, body={"message": "m", "reason": None})
    assert error.short_message is None
    assert JupyterKernelError("501", status=501, body=["not", "an", "object"]).short_message is None
