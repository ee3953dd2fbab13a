"""Kernelspecs, kernel interrupt and restart, readiness, the 501 and shared-kernel deletes against a real
Jupyter Server (what FakeJupyter imitates: tests/testing/test_fakes_jupyter_kernels.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from sessionkit import Err, InternalServerError, NotFoundError, Ok
from sessionkit.jupyter import (
    CreateSessionRequest,
    JupyterCore,
    JupyterKernelError,
    KernelRef,
    Session,
    kernels_interrupt,
    kernels_restart,
    kernelspecs_list,
    sessions_create,
    sessions_delete,
    sessions_get,
    sessions_list,
    sessions_update,
    sessions_wait_ready,
)
from sessionkit.testing.real_jupyter import RealJupyterServer
from sessionkit.wait import WaitTimeoutError

pytestmark = pytest.mark.integration

NewSession = Callable[..., Awaitable[Session]]
UNKNOWN = "11111111-1111-1111-1111-111111111111"


@pytest.fixture
async def new_session(jupyter_core: JupyterCore) -> AsyncIterator[NewSession]:
    """Create sessions (each on its own path) and delete whatever is left of them after the test."""
    created: list[str] = []

    async def make(kernel_id: str | None = None) -> Session:
        path = f"kernels-{uuid.uuid4().hex[:8]}.ipynb"
        kernel = KernelRef(id=kernel_id) if kernel_id else None
        session = (await sessions_create(jupyter_core, CreateSessionRequest(path=path, kernel=kernel))).unwrap()
        created.append(session.id)
        return session

    yield make
    for session_id in created:
        result = await sessions_delete(jupyter_core, {"session": session_id})
        assert isinstance(result, Ok) or isinstance(result.error, NotFoundError), result


def kernel_of(session: Session) -> str:
    assert session.kernel is not None
    return session.kernel.id


async def test_kernelspecs_list(jupyter_core: JupyterCore) -> None:
    specs = (await kernelspecs_list(jupyter_core)).unwrap()
    assert specs.default == "python3"
    python = specs.kernelspecs["python3"]
    assert python.name == "python3"
    assert python.spec is not None
    assert (python.spec.display_name, python.spec.language) == ("Python 3 (ipykernel)", "python")
    assert "{connection_file}" in python.spec.argv
    assert any(name.startswith("logo-") for name in python.resources)


async def test_interrupt_a_sessions_kernel(jupyter_core: JupyterCore, new_session: NewSession) -> None:
    session = await new_session()
    result = await kernels_interrupt(jupyter_core, {"kernel_id": kernel_of(session)})
    assert isinstance(result, Ok), result
    assert result.value is None
    assert result.meta is not None
    assert result.meta.status == 204
    missing = await kernels_interrupt(jupyter_core, {"kernel_id": UNKNOWN})
    assert isinstance(missing, Err)
    assert isinstance(missing.error, NotFoundError)
    assert missing.error.server_message == f"Kernel does not exist: {UNKNOWN}"


async def test_restart_keeps_the_kernel_id(jupyter_core: JupyterCore, new_session: NewSession) -> None:
    session = await new_session()
    kernel_id = kernel_of(session)
    restarted = (await kernels_restart(jupyter_core, {"kernel_id": kernel_id})).unwrap()
    assert (restarted.id, restarted.name) == (kernel_id, "python3")
    # "idle" when the kernel had started; a kernel restarted while starting says so a moment longer.
    assert restarted.execution_state in ("idle", "starting")
    again = (await sessions_get(jupyter_core, {"session": session.id})).unwrap()
    assert kernel_of(again) == kernel_id
    # The server wraps its own "no such kernel" into a 500; a restart is not retried.
    missing = await kernels_restart(jupyter_core, {"kernel_id": UNKNOWN})
    assert isinstance(missing, Err)
    assert type(missing.error) is InternalServerError
    assert (missing.error.status, missing.error.attempts) == (500, 1)
    assert missing.error.server_message == "Exception restarting kernel"


async def test_wait_ready_after_create_once_a_client_attaches(
    jupyter_server: RealJupyterServer, jupyter_core: JupyterCore, new_session: NewSession
) -> None:
    session = await new_session()
    assert session.kernel is not None
    assert session.kernel.execution_state == "starting"
    headers = {"Authorization": f"token {jupyter_server.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        channels = f"{jupyter_server.url}/api/kernels/{kernel_of(session)}/channels"
        async with http.ws_connect(channels):  # what a notebook front-end does
            result = await sessions_wait_ready(jupyter_core, {"session": session.id}, timeout=60)
    assert isinstance(result, Ok), result
    assert result.value.kernel is not None
    assert result.value.kernel.execution_state in ("idle", "busy")


async def test_wait_ready_times_out_while_nothing_attaches(jupyter_core: JupyterCore, new_session: NewSession) -> None:
    session = await new_session()
    result = await sessions_wait_ready(jupyter_core, {"session": session.id}, timeout=2, interval=0.25)
    assert isinstance(result, Err)
    assert isinstance(result.error, WaitTimeoutError)
    assert "execution_state=starting" in result.error.message
    assert isinstance(result.error.last, Session)
    assert result.error.polls >= 2


async def test_an_unknown_kernel_name_is_a_501_with_its_short_message(
    jupyter_core: JupyterCore, new_session: NewSession
) -> None:
    created = await sessions_create(jupyter_core, {"path": "no-such-kernel.ipynb", "kernel": {"name": "nope"}})
    assert isinstance(created, Err)
    error = created.error
    assert isinstance(error, JupyterKernelError)
    assert (error.status, error.attempts) == (501, 1)
    assert error.short_message == "nope not found"
    assert error.server_message == (
        "The 'nope' kernel is not available. Please pick another suitable kernel instead, or install that kernel."
    )
    assert "reason" not in error.body
    session = await new_session()
    updated = await sessions_update(jupyter_core, {"session": session.id, "model": {"kernel": {"name": "nope"}}})
    assert isinstance(updated, Err)
    assert isinstance(updated.error, JupyterKernelError)
    assert updated.error.short_message == "Error starting kernel nope"


async def test_deleting_one_session_shuts_down_the_kernel_its_sharers_use(
    jupyter_core: JupyterCore, new_session: NewSession
) -> None:
    first = await new_session()
    kernel_id = kernel_of(first)
    sharer = await new_session(kernel_id)
    other = await new_session()
    assert kernel_of(sharer) == kernel_id

    assert (await sessions_delete(jupyter_core, {"session": first.id})).unwrap() is None

    # The first read of the sharer (a get here; a list would drop it silently) says why it is gone.
    gone = await sessions_get(jupyter_core, {"session": sharer.id})
    assert isinstance(gone, Err)
    assert isinstance(gone.error, NotFoundError)
    assert gone.error.server_message == (
        f"Session not found: \"Kernel '{kernel_id}' appears to have been culled or died unexpectedly, "
        f"invalidating session '{sharer.id}'. The session has been removed.\""
    )
    listed = [s.id for s in (await sessions_list(jupyter_core)).unwrap()]
    assert sharer.id not in listed
    assert other.id in listed
    interrupted = await kernels_interrupt(jupyter_core, {"kernel_id": kernel_id})
    assert isinstance(interrupted, Err)
    assert isinstance(interrupted.error, NotFoundError)  # the kernel itself is gone
