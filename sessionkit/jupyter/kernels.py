"""Jupyter Server `/api/kernels`: the kernels themselves (list, get, start, delete, interrupt,
restart), and running code in one over its channels WebSocket (`kernels_execute`,
`kernels_execute_stream`); operation declarations and their functions.

The two executions are declared as the WebSocket handshake they open (`GET
/api/kernels/{kernel_id}/channels` answered by 101): the declaration validates the request and
builds the URL and headers as every operation's does; the messages are `_execute`'s business.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING

from .._operation import Operation
from .._options import RequestOptions
from .._registry import collect, streams
from .._rules import at_least, fields, one_of, seconds, unicode
from ..errors import ResponseValidationError, SessionkitError
from ..result import Err, Ok, Result
from ._core import JupyterCore
from ._execute import KernelRest, execute_outputs, prepare
from .models import (
    ON_TIMEOUT,
    DeleteKernelRequest,
    ExecuteRequest,
    GetKernelRequest,
    InterruptKernelRequest,
    Kernel,
    RestartKernelRequest,
    StartKernelRequest,
)
from .outputs import ExecuteReply, Execution, ExecutionBuilder, KernelOutput

if TYPE_CHECKING:  # the mapping twins are for the checker; the pipeline reads any mapping
    from .params import (
        DeleteKernelRequestParams,
        ExecuteRequestParams,
        GetKernelRequestParams,
        InterruptKernelRequestParams,
        RestartKernelRequestParams,
        StartKernelRequestParams,
    )

__all__ = [
    "kernels_list",
    "kernels_get",
    "kernels_start",
    "kernels_delete",
    "kernels_interrupt",
    "kernels_restart",
    "kernels_execute",
    "kernels_execute_stream",
]

LIST_KERNELS: Operation[None, list[Kernel]] = Operation(
    id="jupyter.kernels.list",
    method="GET",
    path="/api/kernels",
    response=list[Kernel],
    body=None,
)
GET_KERNEL: Operation[GetKernelRequest, Kernel] = Operation(
    id="jupyter.kernels.get",
    method="GET",
    path="/api/kernels/{kernel_id}",
    request=GetKernelRequest,
    response=Kernel,
    body=None,
)
START_KERNEL: Operation[StartKernelRequest, Kernel] = Operation(
    id="jupyter.kernels.start",
    method="POST",
    path="/api/kernels",
    request=StartKernelRequest,
    response=Kernel,
    success=(201,),  # not retried: a lost answer would leave a second kernel running
)
DELETE_KERNEL: Operation[DeleteKernelRequest, None] = Operation(
    id="jupyter.kernels.delete",
    method="DELETE",
    path="/api/kernels/{kernel_id}",
    request=DeleteKernelRequest,
    success=(204,),
    body=None,
)
INTERRUPT_KERNEL: Operation[InterruptKernelRequest, None] = Operation(
    id="jupyter.kernels.interrupt",
    method="POST",
    path="/api/kernels/{kernel_id}/interrupt",
    request=InterruptKernelRequest,
    success=(204,),
    body=None,
    retry_safe=True,  # a second interrupt of the same kernel does what the first did
)
RESTART_KERNEL: Operation[RestartKernelRequest, Kernel] = Operation(
    id="jupyter.kernels.restart",
    method="POST",
    path="/api/kernels/{kernel_id}/restart",
    request=RestartKernelRequest,
    response=Kernel,
    body=None,  # not retried: a lost answer would restart the kernel twice
)
_CHECK_EXECUTE = fields(code=unicode, timeout=seconds, on_timeout=one_of(*ON_TIMEOUT), max_output_bytes=at_least(1))
EXECUTE: Operation[ExecuteRequest, Execution] = Operation(
    id="jupyter.kernels.execute",
    method="GET",
    path="/api/kernels/{kernel_id}/channels",
    request=ExecuteRequest,
    response=Execution,
    success=(101,),
    body=None,
    validate=_CHECK_EXECUTE,
)
EXECUTE_STREAM: Operation[ExecuteRequest, KernelOutput] = Operation(
    id="jupyter.kernels.execute_stream",
    method="GET",
    path="/api/kernels/{kernel_id}/channels",
    request=ExecuteRequest,
    response=KernelOutput,
    success=(101,),
    body=None,
    validate=_CHECK_EXECUTE,
)
_REST = KernelRest(get=GET_KERNEL, interrupt=INTERRUPT_KERNEL, restart=RESTART_KERNEL)


async def kernels_list(
    core: JupyterCore, request: None = None, *, options: RequestOptions | None = None
) -> Result[list[Kernel], SessionkitError]:
    """List the running kernels (with or without a session)."""
    return await core.send(LIST_KERNELS, request, options)


async def kernels_get(
    core: JupyterCore,
    request: GetKernelRequest | GetKernelRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Kernel, SessionkitError]:
    """Get one kernel by id (`{"kernel_id": "ID"}`): its state, activity and connections."""
    return await core.send(GET_KERNEL, request, options)


async def kernels_start(
    core: JupyterCore,
    request: StartKernelRequest | StartKernelRequestParams | None = None,
    *,
    options: RequestOptions | None = None,
) -> Result[Kernel, SessionkitError]:
    """Start a kernel without a session (`{"name": "python3", "path": "work"}`, both optional)."""
    return await core.send(START_KERNEL, request, options)


async def kernels_delete(
    core: JupyterCore,
    request: DeleteKernelRequest | DeleteKernelRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[None, SessionkitError]:
    """Shut a kernel down and forget it (the sessions on it go too)."""
    return await core.send(DELETE_KERNEL, request, options)


async def kernels_interrupt(
    core: JupyterCore,
    request: InterruptKernelRequest | InterruptKernelRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[None, SessionkitError]:
    """Interrupt what a kernel runs (`{"kernel_id": "ID"}`, a session's `kernel.id`)."""
    return await core.send(INTERRUPT_KERNEL, request, options)


async def kernels_restart(
    core: JupyterCore,
    request: RestartKernelRequest | RestartKernelRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Kernel, SessionkitError]:
    """Restart a kernel (`{"kernel_id": "ID"}`, a session's `kernel.id`): its state is lost, its sessions keep it."""
    return await core.send(RESTART_KERNEL, request, options)


async def kernels_execute(
    core: JupyterCore,
    request: ExecuteRequest | ExecuteRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Execution, SessionkitError]:
    """Run code in a kernel and wait for it: what it printed, displayed and returned (`Execution`).

    Code that raised is `Ok` with `status="error"`: the call succeeded. `Err` is for what stopped the call: the `timeout` (`ExecutionTimeoutError`, after the kernel
    was interrupted, restarted or left running as `on_timeout` says), the kernel dying, restarting
    or being deleted (`KernelGoneError`), a dropped connection that could not be reopened, a
    message over the core's `max_response_bytes`, a refused token.
    """
    run = prepare(core, EXECUTE, _REST, request, options, answers_input=False)
    if isinstance(run, SessionkitError):
        return Err(run)
    builder = ExecutionBuilder(run.model.max_output_bytes)
    async with aclosing(run.outputs()) as items:
        async for item in items:
            if isinstance(item, Err):
                return item
            output, size = item.value
            if isinstance(output, ExecuteReply):
                return Ok(builder.finish(output))
            builder.add(output, size)
    return Err(
        ResponseValidationError("the execution ended without a reply", operation_id=EXECUTE.id)
    )  # pragma: no cover


@streams(EXECUTE_STREAM)
async def kernels_execute_stream(
    core: JupyterCore,
    request: ExecuteRequest | ExecuteRequestParams,
    *,
    options: RequestOptions | None = None,
) -> AsyncGenerator[Result[KernelOutput, SessionkitError], None]:
    """Run code in a kernel and yield its outputs as they come, the `ExecuteReply` last.

    Use it as `async with aclosing(kernels_execute_stream(core, {...})) as outputs:`. A failure
    comes once as `Err` and ends it (the same errors as `kernels_execute`). Leaving early lets
    the code run on; the kernel's channel stays open for the next call. With `allow_stdin=True`,
    answer each `InputRequest` with `await output.reply(text)`.
    """
    outputs = execute_outputs(core, EXECUTE_STREAM, _REST, request, options, answers_input=True)
    async with aclosing(outputs) as items:
        async for item in items:
            yield item if isinstance(item, Err) else Ok(item.value[0])


OPERATIONS = collect(__name__)
"""This module's operations with their functions: what the CLI, the docs and the request tests read."""
