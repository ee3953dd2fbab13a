"""Running code in a real ipykernel under a real Jupyter Server: `kernels_execute`,
`kernels_execute_stream` and the kernels REST operations. What FakeJupyter imitates of this is in
tests/unit/test_jupyter_execute.py."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest

from sessionkit import Err, NotFoundError, Ok, PermissionDeniedError, RequestOptions, Timeout
from sessionkit.jupyter import (
    ExecuteReply,
    ExecutionTimeoutError,
    InputRequest,
    JupyterCore,
    KernelGoneError,
    StreamText,
    kernels_delete,
    kernels_execute,
    kernels_execute_stream,
    kernels_get,
    kernels_list,
    kernels_start,
)
from sessionkit.testing.real_jupyter import RealJupyterServer
from tests._support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

UNKNOWN = "11111111-1111-1111-1111-111111111111"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
async def shared(jupyter_server: RealJupyterServer) -> AsyncIterator[tuple[JupyterCore, str]]:
    """One core and one kernel for the tests that leave it usable (a kernel takes a second to start)."""
    async with JupyterCore(server_url=jupyter_server.url, token=jupyter_server.token) as core:
        kernel = (await kernels_start(core)).unwrap()
        yield core, kernel.id
        await kernels_delete(core, {"kernel_id": kernel.id})


@pytest.fixture
async def own_kernel(jupyter_core: JupyterCore) -> AsyncIterator[str]:
    """A kernel of the test's own, deleted after it (if it is still there)."""
    kernel = (await kernels_start(jupyter_core, {"name": "python3"})).unwrap()
    yield kernel.id
    result = await kernels_delete(jupyter_core, {"kernel_id": kernel.id})
    assert isinstance(result, Ok) or isinstance(result.error, NotFoundError), result


async def run(core: JupyterCore, kernel: str, code: str, **extra: Any) -> Any:
    return await kernels_execute(core, {"kernel_id": kernel, "code": code, **extra})


async def test_print_and_an_expression(shared: tuple[JupyterCore, str]) -> None:
    core, kernel = shared
    execution = (await run(core, kernel, "print('hi'); 6*7")).unwrap()
    assert (execution.status, execution.stdout, execution.stderr) == ("ok", "hi\n", "")
    assert execution.result == {"text/plain": "42"}
    assert execution.execution_count is not None
    again = (await run(core, kernel, "import sys; print('warn', file=sys.stderr); None")).unwrap()
    assert (again.stderr, again.result) == ("warn\n", None)
    assert again.execution_count == execution.execution_count + 1
    quiet = (await run(core, kernel, "1", store_history=False)).unwrap()
    assert quiet.execution_count == again.execution_count  # not counted


async def test_a_raising_cell(shared: tuple[JupyterCore, str]) -> None:
    core, kernel = shared
    execution = (await run(core, kernel, "print('before'); 1/0")).unwrap()
    assert (execution.status, execution.stdout, execution.result) == ("error", "before\n", None)
    assert execution.error is not None
    assert (execution.error.ename, execution.error.evalue) == ("ZeroDivisionError", "division by zero")
    assert any("ZeroDivisionError" in line for line in execution.error.traceback)
    assert (await run(core, kernel, "2+2")).unwrap().result == {"text/plain": "4"}  # the kernel goes on


async def test_a_display_with_an_image(shared: tuple[JupyterCore, str]) -> None:
    core, kernel = shared
    code = (
        "from IPython.display import Image, display\n"
        f"display(Image(data={PNG!r}))\n"
        "display(Image(data=b'\\x89PNG\\r\\n\\x1a\\n' + bytes(6_000_000)))  # past aiohttp's 4 MiB default\n"
        "'shown'"
    )
    execution = (await run(core, kernel, code)).unwrap()
    assert execution.status == "ok", execution.error
    small, large = execution.displays
    assert base64.b64decode(small["image/png"]) == PNG
    assert small["text/plain"] == "<IPython.core.display.Image object>"
    assert len(base64.b64decode(large["image/png"])) == 6_000_008
    assert execution.result == {"text/plain": "'shown'"}


async def test_sleep_past_the_timeout_is_interrupted_and_the_next_execution_works(
    shared: tuple[JupyterCore, str],
) -> None:
    core, kernel = shared
    result = await run(core, kernel, "import time\nprint('started', flush=True)\ntime.sleep(60)", timeout=1.5)
    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, ExecutionTimeoutError)
    assert (error.deadline, error.action, error.kernel_id) == ("total", "interrupted", kernel)
    after = (await run(core, kernel, "'still here'")).unwrap()
    assert (after.status, after.result) == ("ok", {"text/plain": "'still here'"})


async def test_outputs_stream_as_they_come_and_input_is_answered(shared: tuple[JupyterCore, str]) -> None:
    core, kernel = shared
    code = "import time\nfor i in range(3):\n    print(i, flush=True); time.sleep(0.05)\nname = input('who? ')\nname"
    seen: list[Any] = []
    request = {"kernel_id": kernel, "code": code, "allow_stdin": True}
    async with aclosing(kernels_execute_stream(core, request)) as outputs:
        async for item in outputs:
            value = item.unwrap()
            seen.append(value)
            if isinstance(value, InputRequest):
                assert value.prompt == "who? "
                assert isinstance(await value.reply("Ada"), Ok)
    text = "".join(v.text for v in seen if isinstance(v, StreamText))
    assert text == "0\n1\n2\n"
    assert any(isinstance(v, InputRequest) for v in seen)
    assert isinstance(seen[-1], ExecuteReply)
    assert seen[-1].status == "ok"
    assert seen[-2].data == {"text/plain": "'Ada'"}


async def test_many_executions_use_one_connection(shared: tuple[JupyterCore, str]) -> None:
    core, kernel = shared
    for i in range(20):
        assert (await run(core, kernel, f"{i}*2")).unwrap().result == {"text/plain": str(i * 2)}
    assert (await kernels_get(core, {"kernel_id": kernel})).unwrap().connections == 1


async def test_a_kernel_killed_mid_execution_then_deleted_mid_execution(
    jupyter_core: JupyterCore, own_kernel: str
) -> None:
    killed = await run(jupyter_core, own_kernel, "import os, time\ntime.sleep(0.3)\nos.kill(os.getpid(), 9)")
    assert isinstance(killed, Err)
    assert isinstance(killed.error, KernelGoneError)
    assert killed.error.state == "restarting"  # the server starts it again under the same id

    async def delete_soon() -> None:
        await asyncio.sleep(0.5)
        assert isinstance(await kernels_delete(jupyter_core, {"kernel_id": own_kernel}), Ok)

    deleting = asyncio.ensure_future(delete_soon())
    quick_checks = RequestOptions(timeout=Timeout(attempt=0.5))  # a silence of 0.5 s asks for the kernel
    request = {"kernel_id": own_kernel, "code": "import time; time.sleep(30)", "timeout": 20}
    deleted = await kernels_execute(jupyter_core, request, options=quick_checks)
    await deleting
    if isinstance(deleted, Ok):
        # The server interrupts a kernel before it shuts it down: when the interrupt lands first,
        # the code ends with its KeyboardInterrupt and a reply comes.
        assert deleted.value.status == "error"
        assert deleted.value.error is not None
        assert deleted.value.error.ename == "KeyboardInterrupt"
    else:
        assert isinstance(deleted.error, KernelGoneError)
        # Told by the kernel's shutdown_reply or, when the server does not forward the restarted
        # kernel's shutdown to this channel (seen now and then), by GET /api/kernels/{id} answering
        # 404 after a silence: either way the code's kernel was deleted.
        assert deleted.error.state in ("shut down", "deleted")
    gone = await run(jupyter_core, own_kernel, "1")
    assert isinstance(gone, Err)
    assert isinstance(gone.error, NotFoundError)


async def test_a_dropped_channel_is_resumed(jupyter_server: RealJupyterServer, own_kernel: str) -> None:
    code = "import time\nprint('before', flush=True)\ntime.sleep(1.5)\nprint('after')\n7"
    async with (
        TcpProxy(jupyter_server.port) as proxy,
        JupyterCore(server_url=proxy.url, token=jupyter_server.token) as core,
    ):
        seen: list[Any] = []
        async with aclosing(kernels_execute_stream(core, {"kernel_id": own_kernel, "code": code})) as outputs:
            async for item in outputs:
                value = item.unwrap()
                seen.append(value)
                if value == StreamText(name="stdout", text="before\n"):
                    await proxy.drop()  # both sides reset while the kernel sleeps
        channels = core.kernel_channels()
        assert not isinstance(channels, str)
        assert channels.connections() == 2
    assert "".join(v.text for v in seen if isinstance(v, StreamText)) == "before\nafter\n"
    assert seen[-2].data == {"text/plain": "7"}
    assert isinstance(seen[-1], ExecuteReply)


async def test_ten_kernels_at_once(jupyter_core: JupyterCore) -> None:
    # Ten kernels starting together on a small CI machine can take a while: generous bounds.
    patient = RequestOptions(timeout=Timeout(attempt=180))
    started = await asyncio.gather(*(kernels_start(jupyter_core, options=patient) for _ in range(10)))
    kernels = [k.unwrap().id for k in started]
    try:
        code = "import os, time\ntime.sleep(0.5)\nos.getpid()"
        results = await asyncio.gather(
            *(
                kernels_execute(jupyter_core, {"kernel_id": k, "code": code, "timeout": 180}, options=patient)
                for k in kernels
            )
        )
        assert all(isinstance(r, Ok) for r in results), results
        pids = {r.unwrap().result["text/plain"] for r in results}
        assert len(pids) == 10
        listed = {k.id for k in (await kernels_list(jupyter_core)).unwrap()}
        assert set(kernels) <= listed
    finally:
        await asyncio.gather(*(kernels_delete(jupyter_core, {"kernel_id": k}) for k in kernels))


async def test_rest_kernels_and_the_refusals(jupyter_server: RealJupyterServer, jupyter_core: JupyterCore) -> None:
    path = f"k-{uuid.uuid4().hex[:6]}"
    started = await kernels_start(jupyter_core, {"name": "python3", "path": ""})
    kernel = started.unwrap()
    assert started.meta is not None
    assert started.meta.status == 201
    assert (kernel.name, kernel.execution_state) == ("python3", "starting")
    assert (await kernels_get(jupyter_core, {"kernel_id": kernel.id})).unwrap().id == kernel.id
    missing = await kernels_get(jupyter_core, {"kernel_id": UNKNOWN})
    assert isinstance(missing, Err)
    assert isinstance(missing.error, NotFoundError)
    assert missing.error.server_message == f"Kernel does not exist: {UNKNOWN}"
    unknown_name = await kernels_start(jupyter_core, {"name": "nope"})
    assert isinstance(unknown_name, Err)
    assert unknown_name.error.server_message == "Unhandled error"  # the real server's 500, unlike a session's 501
    async with JupyterCore(server_url=jupyter_server.url, token=f"wrong-{path}") as wrong:
        refused = await run(wrong, kernel.id, "1")
    assert isinstance(refused, Err)
    assert isinstance(refused.error, PermissionDeniedError)
    assert f"wrong-{path}" not in repr(vars(refused.error))
    not_running = await run(jupyter_core, UNKNOWN, "1")
    assert isinstance(not_running, Err)
    assert isinstance(not_running.error, NotFoundError)
    assert (await kernels_delete(jupyter_core, {"kernel_id": kernel.id})).unwrap() is None
    again = await kernels_delete(jupyter_core, {"kernel_id": kernel.id})
    assert isinstance(again, Err)
    assert isinstance(again.error, NotFoundError)
