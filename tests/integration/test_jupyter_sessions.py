"""The Jupyter sessions client against a real Jupyter Server (see contracts/devin-jupyter.md, part 2)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sessionkit import (
    ConnectionError,
    Err,
    Hooks,
    InternalServerError,
    NotFoundError,
    Ok,
    PermissionDeniedError,
    RequestOptions,
    RetryConfig,
)
from sessionkit.jupyter import (
    JupyterCore,
    Session,
    sessions_create,
    sessions_delete,
    sessions_get,
    sessions_list,
    sessions_update,
)
from sessionkit.testing.real_jupyter import RealJupyterServer, _child_pids

pytestmark = pytest.mark.integration

NewSession = Callable[..., Awaitable[Session]]


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _path(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}.ipynb"


@pytest.fixture
async def new_session(jupyter_core: JupyterCore) -> AsyncIterator[NewSession]:
    """Create sessions through the client and delete them (and their kernels) after the test."""
    created: list[str] = []

    async def make(path: str | None = None, **fields: object) -> Session:
        result = await sessions_create(jupyter_core, {"path": path or _path("s"), "type": "notebook", **fields})
        assert isinstance(result, Ok), result
        created.append(result.value.id)
        return result.value

    yield make
    for session_id in created:
        result = await sessions_delete(jupyter_core, {"session": session_id})
        assert isinstance(result, Ok) or isinstance(result.error, NotFoundError), result


async def test_create_is_201_and_returns_the_existing_session_for_the_same_path(
    jupyter_core: JupyterCore, new_session: NewSession
) -> None:
    path = _path("create")
    first = await sessions_create(jupyter_core, {"path": path, "type": "notebook", "kernel": {"name": "python3"}})
    assert isinstance(first, Ok), first
    assert first.meta is not None
    assert first.meta.status == 201
    assert first.meta.attempts == 1
    session = first.value
    await new_session(path)  # registers it for clean-up; it is the same session
    assert session.path == path
    assert session.type == "notebook"
    assert session.kernel is not None
    assert session.kernel.name == "python3"
    assert session.kernel.last_activity is not None
    assert session.kernel.last_activity.tzinfo is not None
    assert session.notebook is not None
    assert session.notebook.path == path

    again = await sessions_create(jupyter_core, {"path": path, "type": "console", "name": "other"})
    assert isinstance(again, Ok), again
    assert again.value.id == session.id
    assert again.value.type == "notebook"  # an existing session is returned unchanged


async def test_list_and_get_return_the_session(jupyter_core: JupyterCore, new_session: NewSession) -> None:
    session = await new_session()

    listed = await sessions_list(jupyter_core)
    assert isinstance(listed, Ok), listed
    assert session.id in [s.id for s in listed.value]

    got = await sessions_get(jupyter_core, {"session": session.id})
    assert isinstance(got, Ok), got
    assert got.value.id == session.id
    assert got.value.path == session.path
    assert got.meta is not None
    assert got.meta.status == 200


async def test_update_renames_the_path_and_changes_the_kernel(
    jupyter_core: JupyterCore, new_session: NewSession
) -> None:
    session = await new_session()
    assert session.kernel is not None
    new_path = _path("renamed")

    renamed = await sessions_update(jupyter_core, {"session": session.id, "model": {"path": new_path}})
    assert isinstance(renamed, Ok), renamed
    assert renamed.value.id == session.id
    assert renamed.value.path == new_path
    assert renamed.value.kernel is not None
    assert renamed.value.kernel.id == session.kernel.id

    rekerneled = await sessions_update(jupyter_core, {"session": session.id, "model": {"kernel": {"name": "python3"}}})
    assert isinstance(rekerneled, Ok), rekerneled
    assert rekerneled.value.kernel is not None
    assert rekerneled.value.kernel.id != session.kernel.id
    assert rekerneled.value.path == new_path


async def test_delete_then_get_is_not_found(jupyter_core: JupyterCore, new_session: NewSession) -> None:
    session = await new_session()

    deleted = await sessions_delete(jupyter_core, {"session": session.id})
    assert isinstance(deleted, Ok), deleted
    assert deleted.value is None
    assert deleted.meta is not None
    assert deleted.meta.status == 204

    got = await sessions_get(jupyter_core, {"session": session.id})
    assert isinstance(got, Err)
    assert isinstance(got.error, NotFoundError)
    assert got.error.status == 404
    assert got.error.server_message == f"Session not found: session_id='{session.id}'"
    assert got.error.operation_id == "jupyter.sessions.get"


async def test_a_wrong_token_is_403(jupyter_server: RealJupyterServer) -> None:
    async with JupyterCore(server_url=jupyter_server.url, token="wrong-token") as core:
        listed = await sessions_list(core)
        created = await sessions_create(core, {"path": _path("denied"), "type": "notebook"})
    for result in (listed, created):
        assert isinstance(result, Err)
        assert isinstance(result.error, PermissionDeniedError)
        assert result.error.status == 403
        assert result.error.attempts == 1  # 403 is not retried
        assert "wrong-token" not in str(result.error)
    assert isinstance(listed, Err)
    assert listed.error.server_message == "Forbidden"


async def test_an_unknown_kernel_name_is_501_with_the_server_message(jupyter_core: JupyterCore) -> None:
    result = await sessions_create(
        jupyter_core, {"path": _path("nokernel"), "type": "notebook", "kernel": {"name": "nope"}}
    )
    assert isinstance(result, Err)
    assert isinstance(result.error, InternalServerError)
    assert result.error.status == 501
    assert result.error.attempts == 1  # 501 is not a retried status
    message = result.error.server_message
    assert message is not None
    assert "'nope' kernel" in message
    assert message in str(result.error)
    assert isinstance(result.error.body, dict)
    assert "short_message" in result.error.body


async def test_a_non_uuid_id_gets_the_html_404_as_not_found(jupyter_core: JupyterCore) -> None:
    result = await sessions_get(jupyter_core, {"session": "not-a-uuid"})
    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert result.error.status == 404
    assert result.error.body is None
    assert result.error.headers["Content-Type"].startswith("text/html")
    assert "<" in result.error.raw_text


@pytest.mark.parametrize("session_id", ["../../api/x", "../../api/status"])
async def test_a_path_like_id_is_sent_as_one_encoded_segment(
    jupyter_server: RealJupyterServer, session_id: str
) -> None:
    # If the id were sent raw, "../../api/status" would resolve to GET /api/status (200 JSON).
    seen: list[str] = []
    hooks = Hooks(before_request=[lambda ctx, req: seen.append(req.url)])
    async with JupyterCore(server_url=jupyter_server.url, token=jupyter_server.token, hooks=hooks) as core:
        result = await sessions_get(core, {"session": session_id})
    encoded = session_id.replace("/", "%2F")
    assert seen == [f"{jupyter_server.url}/api/sessions/{encoded}"]
    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert result.error.headers["Content-Type"].startswith("text/html")  # the sessions route's HTML 404


async def test_a_stopped_server_gives_connection_error_and_leaves_no_kernel() -> None:
    async with RealJupyterServer(token="short-lived") as server:
        url = server.url
        async with JupyterCore(server_url=url, token="short-lived") as core:
            created = await sessions_create(core, {"path": "k.ipynb", "type": "notebook"})
            assert isinstance(created, Ok), created
        assert server.pid is not None
        kernels = _child_pids(server.pid)
    if sys.platform.startswith("linux"):
        assert kernels, "the session's kernel should be a child of the server"
        assert not [pid for pid in kernels if _exists(pid)]

    retries = RetryConfig(max_retries=1, initial_wait=0.01, jitter=False)
    async with JupyterCore(server_url=url, token="short-lived") as core:
        result = await sessions_list(core, options=RequestOptions(retries=retries))
    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionError)
    assert result.error.attempts == 2  # connection errors are retried
    assert result.error.cause is not None


def test_real_jupyter_server_says_clearly_when_jupyter_server_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jupyter_server", None)
    with pytest.raises(RuntimeError, match="jupyter_server is not installed"):
        RealJupyterServer().start()


async def test_cancelling_an_async_start_stops_the_server() -> None:
    server = RealJupyterServer()
    starting = asyncio.create_task(server.__aenter__())
    deadline = time.monotonic() + 30
    while server.pid is None:
        assert time.monotonic() < deadline, "the server process never started"
        await asyncio.sleep(0.01)
    pid = server.pid
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    while server.pid is not None or _exists(pid):  # stopped, then reaped
        assert time.monotonic() < deadline, "the server was left running"
        await asyncio.sleep(0.05)
