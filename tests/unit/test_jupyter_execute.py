"""`kernels_execute` and `kernels_execute_stream` on `FakeJupyter`: the protocol's edge cases (both
framings, unknown message types, replies to other requests, an oversized message, a kernel that
never says idle), the timeout's three actions, a kernel that goes away, a dropped channel, the
queue, input, bad input and cancellation. The real server's side is tests/integration/test_jupyter_execute.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest

from sessionkit import (
    ConnectionError,
    Err,
    InvalidRequestError,
    NotFoundError,
    Ok,
    PermissionDeniedError,
    RequestOptions,
    ResponseValidationError,
    RetryConfig,
    Timeout,
)
from sessionkit.jupyter import (
    DisplayData,
    ExecuteReply,
    ExecuteResult,
    Execution,
    ExecutionTimeoutError,
    InputRequest,
    JupyterCore,
    KernelGoneError,
    StreamText,
    kernels_delete,
    kernels_execute,
    kernels_execute_stream,
    kernels_interrupt,
    kernels_start,
)
from sessionkit.result import Result
from sessionkit.testing import FakeClock, FakeJupyter, KernelMessage
from tests._support.polling import eventually

TOKEN = "secret-token-for-the-fake"
UNKNOWN = "11111111-1111-1111-1111-111111111111"


@pytest.fixture(params=["v1", "legacy"])
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeJupyter]:
    async with FakeJupyter(token=TOKEN, channels_protocol=request.param) as server:
        yield server


@pytest.fixture
async def v1() -> AsyncIterator[FakeJupyter]:
    async with FakeJupyter(token=TOKEN) as server:
        yield server


def core_for(fake: FakeJupyter, **options: Any) -> JupyterCore:
    return JupyterCore(server_url=fake.url, token=TOKEN, **options)


async def new_kernel(core: JupyterCore) -> str:
    return (await kernels_start(core)).unwrap().id


def handshakes(fake: FakeJupyter) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith("/channels")]


def rest_calls(fake: FakeJupyter, what: str) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith(what)]


async def run(core: JupyterCore, code: str, kernel_id: str, **extra: Any) -> Result[Execution, Any]:
    return await kernels_execute(core, {"kernel_id": kernel_id, "code": code, **extra})


async def outputs(core: JupyterCore, request: Any) -> list[Result[Any, Any]]:
    async with aclosing(kernels_execute_stream(core, request)) as items:
        return [item async for item in items]


# --- what code gives back -------------------------------------------------------------------------------


async def test_print_and_an_expression_in_both_framings(fake: FakeJupyter) -> None:
    fake.kernel_outputs("print('hi'); 6*7", stdout="hi\n", result="42")
    async with core_for(fake) as core:
        kernel = await new_kernel(core)
        first = (await run(core, "print('hi'); 6*7", kernel)).unwrap()
        unregistered = (await run(core, "x = 1", kernel)).unwrap()
        quiet = (await run(core, "x = 1", kernel, store_history=False)).unwrap()
    assert (first.status, first.stdout, first.result, first.execution_count) == ("ok", "hi\n", {"text/plain": "42"}, 1)
    assert (unregistered.status, unregistered.stdout, unregistered.result) == ("ok", "", None)
    assert (unregistered.execution_count, quiet.execution_count) == (2, 2)  # store_history=False does not count
    assert len(handshakes(fake)) == 1


async def test_code_that_raises_is_ok_with_status_error(fake: FakeJupyter) -> None:
    fake.kernel_outputs("1/0", stdout="before\n", error=("ZeroDivisionError", "division by zero"))
    async with core_for(fake) as core:
        result = await run(core, "1/0", await new_kernel(core))
    execution = result.unwrap()
    assert (execution.status, execution.stdout, execution.result) == ("error", "before\n", None)
    assert execution.error is not None
    assert (execution.error.ename, execution.error.evalue) == ("ZeroDivisionError", "division by zero")
    assert "ZeroDivisionError" in execution.error.traceback[0]


async def test_the_stream_gives_outputs_as_they_come_and_the_reply_last(fake: FakeJupyter) -> None:
    png = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
    fake.kernel_outputs("plot()", stdout=["a\n", "b\n"], stderr="warn\n", displays=[png], result="done")
    async with core_for(fake) as core:
        items = await outputs(core, {"kernel_id": await new_kernel(core), "code": "plot()"})
    values = [item.unwrap() for item in items]
    assert [type(v) for v in values] == [StreamText, StreamText, StreamText, DisplayData, ExecuteResult, ExecuteReply]
    assert [(v.name, v.text) for v in values[:3]] == [("stdout", "a\n"), ("stdout", "b\n"), ("stderr", "warn\n")]
    assert values[3].data == png
    assert values[4].data == {"text/plain": "done"}
    assert (values[5].status, values[5].execution_count) == ("ok", 1)
    assert [v.output_type for v in values] == [
        "stream", "stream", "stream", "display_data", "execute_result", "execute_reply"
    ]  # fmt: skip


async def test_unknown_message_types_and_messages_of_other_requests_are_ignored(fake: FakeJupyter) -> None:
    noise = [
        KernelMessage("iopub", "comm_open", {"comm_id": "c", "target_name": "t", "data": {}}),
        KernelMessage("iopub", "a_type_from_the_future", {"anything": [1, 2]}),
        KernelMessage("shell", "execute_reply", {"status": "ok", "execution_count": 99}, parent="other"),
        KernelMessage("iopub", "status", {"execution_state": "idle"}, parent="other"),
        KernelMessage("iopub", "stream", {"name": "stdout", "text": "not mine\n"}, parent="other"),
        KernelMessage("iopub", "stream", {"name": "stdout", "text": "no parent\n"}, parent="none"),
        KernelMessage("iopub", "execute_input", {"code": "x", "execution_count": 1}),
    ]
    fake.kernel_outputs("x", stdout="mine\n", result="1", messages=noise)
    async with core_for(fake) as core:
        execution = (await run(core, "x", await new_kernel(core))).unwrap()
    assert (execution.stdout, execution.result, execution.execution_count) == ("mine\n", {"text/plain": "1"}, 1)


async def test_a_known_message_with_bad_content_ends_the_call(v1: FakeJupyter) -> None:
    v1.kernel_outputs("x", messages=[KernelMessage("iopub", "stream", {"name": "stdout", "text": 42})])
    async with core_for(v1) as core:
        kernel = await new_kernel(core)
        result = await run(core, "x", kernel)
        after = await run(core, "y", kernel)
    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert "'text' is not a string" in result.error.message
    assert isinstance(after, Ok)  # the channel was closed and opened again
    assert len(handshakes(v1)) == 2


async def test_an_oversized_message_is_an_error_and_the_next_call_works(fake: FakeJupyter) -> None:
    fake.kernel_outputs("big", stdout="x" * (2 << 20))
    async with core_for(fake, max_response_bytes=1 << 20) as core:
        kernel = await new_kernel(core)
        result = await run(core, "big", kernel)
        after = await run(core, "small", kernel)
    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert "larger than max_response_bytes (1048576 bytes)" in result.error.message
    assert isinstance(after, Ok)


async def test_a_kernel_that_never_says_idle_ends_at_the_deadline_on_the_clock(v1: FakeJupyter) -> None:
    clock = FakeClock()
    v1.kernel_outputs("x", result="1", idle=False)
    fast_checks = RequestOptions(timeout=Timeout(attempt=0.05))  # a silence of 50 ms asks for the kernel
    async with core_for(v1, clock=clock) as core:
        kernel = await new_kernel(core)
        call = asyncio.ensure_future(
            kernels_execute(core, {"kernel_id": kernel, "code": "x", "timeout": 30}, options=fast_checks)
        )
        await eventually(
            lambda: len(rest_calls(v1, kernel)) >= 2
        )  # the reply came, then silences: the kernel was asked for
        clock.advance(31)  # the virtual 30 s pass; no real second does
        result = await call
    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, ExecutionTimeoutError)
    assert (error.deadline, error.timeout, error.action) == ("total", 30, "interrupted")
    assert error.elapsed >= 31
    assert len(rest_calls(v1, "/interrupt")) == 1


# --- the deadline ----------------------------------------------------------------------------------------


async def test_a_timeout_interrupts_the_kernel_and_the_next_execution_works(fake: FakeJupyter) -> None:
    fake.kernel_outputs("while True: pass", stdout="tick\n", hang=True)
    fake.kernel_outputs("2+2", result="4")
    async with core_for(fake) as core:
        kernel = await new_kernel(core)
        result = await run(core, "while True: pass", kernel, timeout=0.3)
        after = await run(core, "2+2", kernel)
    assert isinstance(result, Err)
    assert isinstance(result.error, ExecutionTimeoutError)
    assert result.error.action == "interrupted"
    assert "the kernel was interrupted" in result.error.message
    assert [r.method for r in rest_calls(fake, "/interrupt")] == ["POST"]
    assert after.unwrap().result == {"text/plain": "4"}
    assert len(handshakes(fake)) == 1


async def test_a_timeout_can_restart_the_kernel(v1: FakeJupyter) -> None:
    v1.kernel_outputs("hang", hang=True)
    async with core_for(v1) as core:
        kernel = await new_kernel(core)
        await run(core, "a", kernel)
        result = await run(core, "hang", kernel, timeout=0.3, on_timeout="restart")
        after = await run(core, "b", kernel)
    assert isinstance(result, Err)
    assert isinstance(result.error, ExecutionTimeoutError)
    assert result.error.action == "restarted"
    assert len(rest_calls(v1, "/restart")) == 1
    assert after.unwrap().execution_count == 1  # a new kernel process
    first, second = handshakes(v1)
    assert first.query["session_id"] != second.query["session_id"]  # nothing of the old kernel is replayed


async def test_a_timeout_can_leave_the_code_running(v1: FakeJupyter) -> None:
    v1.kernel_outputs("hang", hang=True)
    async with core_for(v1) as core:
        kernel = await new_kernel(core)
        result = await run(core, "hang", kernel, timeout=0.3, on_timeout="none")
        assert isinstance(result, Err)
        assert isinstance(result.error, ExecutionTimeoutError)
        assert result.error.action == "left running"
        assert rest_calls(v1, "/interrupt") == []
        queued = asyncio.ensure_future(run(core, "next", kernel))
        await asyncio.sleep(0.1)
        assert not queued.done()  # the kernel is still busy with the code left running
        assert isinstance(await kernels_interrupt(core, {"kernel_id": kernel}), Ok)
        assert (await queued).unwrap().status == "ok"


async def test_a_timeout_while_waiting_for_the_queue_sends_nothing(v1: FakeJupyter) -> None:
    v1.kernel_outputs("hang", hang=True)
    async with core_for(v1) as core:
        kernel = await new_kernel(core)
        first = asyncio.ensure_future(run(core, "hang", kernel, timeout=0.5))
        await asyncio.sleep(0.05)
        second = await run(core, "never sent", kernel, timeout=0.1)
        await first
    assert isinstance(second, Err)
    assert isinstance(second.error, ExecutionTimeoutError)
    assert second.error.action == "not sent"
    assert len(rest_calls(v1, "/interrupt")) == 1  # only the first one's


# --- the kernel goes away ---------------------------------------------------------------------------------


async def test_a_kernel_deleted_mid_execution(fake: FakeJupyter) -> None:
    fake.kernel_outputs("hang", stdout="started\n", hang=True)
    async with core_for(fake) as core:
        kernel = await new_kernel(core)
        call = asyncio.ensure_future(run(core, "hang", kernel))
        await eventually(lambda: fake.kernels[kernel]["execution_state"] == "busy")
        assert isinstance(await kernels_delete(core, {"kernel_id": kernel}), Ok)
        result = await call
        again = await run(core, "x", kernel)
    assert isinstance(result, Err)
    assert isinstance(result.error, KernelGoneError)
    assert (result.error.state, result.error.kernel_id) == ("shut down", kernel)
    assert isinstance(again, Err)
    assert isinstance(again.error, NotFoundError)  # a new channel: the server has no such kernel


@pytest.mark.parametrize(("restarts", "state"), [(True, "restarting"), (False, "dead")])
async def test_a_kernel_that_dies_mid_execution(v1: FakeJupyter, restarts: bool, state: str) -> None:
    v1.kernel_outputs("crash", hang=True)
    async with core_for(v1) as core:
        kernel = await new_kernel(core)
        call = asyncio.ensure_future(run(core, "crash", kernel))
        await eventually(lambda: v1.kernels[kernel]["execution_state"] == "busy")
        await v1.kernel_dies(kernel, restarts=restarts)
        result = await call
        after = await run(core, "x", kernel, timeout=2)
    assert isinstance(result, Err)
    assert isinstance(result.error, KernelGoneError)
    assert result.error.state == state
    if restarts:
        assert after.unwrap().execution_count == 1  # the restarted kernel counts from 1


async def test_a_deleted_kernel_is_found_out_after_a_silence(v1: FakeJupyter) -> None:
    v1.kernel_outputs("hang", hang=True)
    quick = RequestOptions(timeout=Timeout(attempt=0.05))
    async with core_for(v1) as core:
        kernel = await new_kernel(core)
        call = asyncio.ensure_future(kernels_execute(core, {"kernel_id": kernel, "code": "hang"}, options=quick))
        await eventually(lambda: v1.kernels[kernel]["execution_state"] == "busy")
        v1._shutdown_kernel(kernel)  # pyright: ignore[reportPrivateUsage]  # gone without a word on the channel
        result = await call
    assert isinstance(result, Err)
    assert isinstance(result.error, KernelGoneError)
    assert result.error.state == "deleted"
    assert rest_calls(v1, kernel)[-1].method == "GET"


# --- the channel -------------------------------------------------------------------------------------------


async def test_a_dropped_channel_is_resumed_with_the_same_session(fake: FakeJupyter) -> None:
    fake.kernel_outputs("slow", stdout=["before\n"], delay=0.3, result="7")
    async with core_for(fake) as core:
        kernel = await new_kernel(core)
        call = asyncio.ensure_future(run(core, "slow", kernel))
        await eventually(lambda: fake.kernels[kernel]["execution_state"] == "busy")
        await fake.drop_channels(kernel)
        execution = (await call).unwrap()
    assert (execution.stdout, execution.result) == ("before\n", {"text/plain": "7"})
    first, second = handshakes(fake)
    assert first.query["session_id"] == second.query["session_id"]


async def test_a_channel_that_cannot_be_reopened_is_a_connection_error(v1: FakeJupyter) -> None:
    v1.kernel_outputs("slow", delay=5.0)
    async with core_for(v1, retries=RetryConfig(max_retries=1, initial_wait=0.01)) as core:
        kernel = await new_kernel(core)
        call = asyncio.ensure_future(run(core, "slow", kernel))
        await eventually(lambda: v1.kernels[kernel]["execution_state"] == "busy")
        await v1.stop()  # the server is gone: nothing answers the reconnects
        result = await call
    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionError)
    assert result.error.attempts == 3  # the first connection, the reconnect and its one retry


async def test_executions_on_one_kernel_run_in_order_on_one_connection(v1: FakeJupyter) -> None:
    for i in range(5):
        v1.kernel_outputs(f"step {i}", stdout=f"{i}\n", delay=0.02 * (5 - i))
    async with core_for(v1) as core:
        kernel = await new_kernel(core)
        results = await asyncio.gather(*(run(core, f"step {i}", kernel) for i in range(5)))
        more = [await run(core, "x", kernel) for _ in range(20)]
    assert [r.unwrap().execution_count for r in results] == [1, 2, 3, 4, 5]
    assert [r.unwrap().stdout for r in results] == [f"{i}\n" for i in range(5)]
    assert all(isinstance(r, Ok) for r in more)
    assert len(handshakes(v1)) == 1


async def test_kernels_do_not_wait_for_each_other(v1: FakeJupyter) -> None:
    v1.kernel_outputs("slow", delay=0.5)
    finished: list[str] = []
    async with core_for(v1) as core:
        slow_kernel, quick_kernel = await new_kernel(core), await new_kernel(core)

        async def timed(code: str, kernel: str) -> None:
            (await run(core, code, kernel)).unwrap()
            finished.append(code)

        await asyncio.gather(timed("slow", slow_kernel), timed("quick", quick_kernel))
    assert finished == ["quick", "slow"]
    assert len(handshakes(v1)) == 2


async def test_leaving_a_stream_early_keeps_the_channel_for_the_next_call(v1: FakeJupyter) -> None:
    v1.kernel_outputs("long", stdout=["1\n", "2\n", "3\n"], delay=0.2)
    async with core_for(v1) as core:
        kernel = await new_kernel(core)
        async with aclosing(kernels_execute_stream(core, {"kernel_id": kernel, "code": "long"})) as items:
            async for item in items:
                assert item.unwrap() == StreamText(name="stdout", text="1\n")
                break
        after = await run(core, "x", kernel)
    assert after.unwrap().execution_count == 2
    assert len(handshakes(v1)) == 1


async def test_cancelling_an_execution_leaves_the_channel_usable(v1: FakeJupyter) -> None:
    v1.kernel_outputs("hang", hang=True)
    async with core_for(v1) as core:
        kernel = await new_kernel(core)
        call = asyncio.ensure_future(run(core, "hang", kernel))
        await eventually(lambda: v1.kernels[kernel]["execution_state"] == "busy")
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert isinstance(await kernels_interrupt(core, {"kernel_id": kernel}), Ok)
        after = await run(core, "x", kernel)
    assert after.unwrap().status == "ok"
    assert len(handshakes(v1)) == 1


async def test_closing_the_core_mid_execution_ends_it_with_an_error(v1: FakeJupyter) -> None:
    v1.kernel_outputs("hang", hang=True)
    core = core_for(v1)
    kernel = await new_kernel(core)
    call = asyncio.ensure_future(run(core, "hang", kernel))
    await eventually(lambda: v1.kernels[kernel]["execution_state"] == "busy")
    await core.aclose()
    result = await call
    assert isinstance(result, Err)
    assert isinstance(result.error, (InvalidRequestError, ConnectionError))


# --- input -------------------------------------------------------------------------------------------------


async def test_input_is_answered_through_the_stream(fake: FakeJupyter) -> None:
    fake.kernel_outputs("name = input('name? ')", input_prompt="name? ")
    async with core_for(fake) as core:
        kernel = await new_kernel(core)
        seen: list[Any] = []
        request = {"kernel_id": kernel, "code": "name = input('name? ')", "allow_stdin": True}
        async with aclosing(kernels_execute_stream(core, request)) as items:
            async for item in items:
                value = item.unwrap()
                seen.append(value)
                if isinstance(value, InputRequest):
                    assert (value.prompt, value.password) == ("name? ", False)
                    assert isinstance(await value.reply("Ada"), Ok)
        refused = await run(core, "name = input('name? ')", kernel)
    assert [type(v) for v in seen] == [InputRequest, StreamText, ExecuteReply]
    assert seen[1].text == "Ada\n"
    execution = refused.unwrap()  # the kernel was told stdin is not allowed: input() raises there
    assert (execution.status, execution.error and execution.error.ename) == ("error", "StdinNotImplementedError")


async def test_kernels_execute_cannot_answer_input(v1: FakeJupyter) -> None:
    async with core_for(v1) as core:
        result = await run(core, "input()", UNKNOWN, allow_stdin=True)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "$.allow_stdin"
    assert handshakes(v1) == []


# --- bad input, auth, bounds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"timeout": 0}, "$.timeout"),
        ({"timeout": -1.0}, "$.timeout"),
        ({"timeout": float("nan")}, "$.timeout"),
        ({"timeout": float("inf")}, "$.timeout"),
        ({"timeout": "soon"}, "$.timeout"),
        ({"on_timeout": "explode"}, "$.on_timeout"),
        ({"max_output_bytes": 0}, "$.max_output_bytes"),
        ({"code": "print('\ud800')"}, "$.code"),
        ({"kernel_id": ""}, "$.kernel_id"),
        ({"timout": 3}, "$.timout"),
    ],
)
async def test_bad_requests_send_nothing(v1: FakeJupyter, extra: dict[str, Any], field: str) -> None:
    async with core_for(v1) as core:
        result = await kernels_execute(core, {"kernel_id": UNKNOWN, "code": "1", **extra})
        streamed = await outputs(core, {"kernel_id": UNKNOWN, "code": "1", **extra})
    for failed in (result, *streamed):
        assert isinstance(failed, Err)
        assert isinstance(failed.error, InvalidRequestError)
        assert failed.error.field_path == field
    assert len(streamed) == 1
    assert v1.requests == []


async def test_an_unknown_kernel_is_not_found(v1: FakeJupyter) -> None:
    async with core_for(v1) as core:
        result = await run(core, "1", UNKNOWN)
    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert result.error.status == 404
    assert f"no kernel {UNKNOWN} is running" in result.error.message


async def test_a_wrong_token_is_refused_and_never_shown(v1: FakeJupyter) -> None:
    async with core_for(v1) as good:
        kernel = await new_kernel(good)
    async with JupyterCore(server_url=v1.url, token="wrong-token-value") as core:
        result = await run(core, "1", kernel)
    assert isinstance(result, Err)
    assert isinstance(result.error, PermissionDeniedError)
    assert "check token= or JUPYTER_TOKEN" in result.error.message
    assert "wrong-token-value" not in repr(vars(result.error))
    assert all("token" not in r.query for r in handshakes(v1))


async def test_a_closed_core_sends_nothing(v1: FakeJupyter) -> None:
    core = core_for(v1)
    await core.aclose()
    result = await run(core, "1", UNKNOWN)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "core"
    assert v1.requests == []


async def test_max_output_bytes_keeps_a_prefix_and_says_what_was_cut(v1: FakeJupyter) -> None:
    v1.kernel_outputs("spam", stdout=["a" * 1000, "b" * 1000, "c" * 1000], result="r")
    async with core_for(v1) as core:
        execution = (await run(core, "spam", await new_kernel(core), max_output_bytes=1500)).unwrap()
    assert execution.stdout == "a" * 1000 + "b" * 500
    assert (execution.omitted_bytes, execution.truncated) == (1500, True)
    assert execution.result == {"text/plain": "r"}


# --- between executions -----------------------------------------------------------------------------------


async def test_an_idle_channel_answers_the_servers_pings() -> None:
    # The server closes a client whose pong is late (here 0.1 s after a ping every 0.2 s): between
    # executions the idle reader answers, so the channel lives on.
    async with FakeJupyter(token=TOKEN, channels_heartbeat=0.2) as fake, core_for(fake) as core:
        kernel = await new_kernel(core)
        assert isinstance(await run(core, "a", kernel), Ok)
        await asyncio.sleep(1.0)
        assert isinstance(await run(core, "b", kernel), Ok)
        assert fake.channel_connections(kernel) == 1
    assert len(handshakes(fake)) == 1


async def test_a_kernel_shut_down_between_executions_is_noticed_by_the_idle_reader(v1: FakeJupyter) -> None:
    async with core_for(v1) as core, core_for(v1) as other:
        kernel = await new_kernel(core)
        assert isinstance(await run(core, "a", kernel), Ok)
        assert isinstance(await kernels_delete(other, {"kernel_id": kernel}), Ok)
        await asyncio.sleep(0.1)  # the idle reader reads the shutdown_reply and drops the channel
        channels = core.kernel_channels()
        assert not isinstance(channels, str)
        assert channels.connections() == 0
        again = await run(core, "b", kernel)
    assert isinstance(again, Err)
    assert isinstance(again.error, NotFoundError)


async def test_a_call_queued_behind_one_whose_kernel_died_gets_a_kept_channel(v1: FakeJupyter) -> None:
    v1.kernel_outputs("crash", hang=True)
    async with core_for(v1) as core:
        kernel = await new_kernel(core)
        first = asyncio.ensure_future(run(core, "crash", kernel))
        await eventually(lambda: v1.kernels[kernel]["execution_state"] == "busy")
        queued = asyncio.ensure_future(run(core, "x", kernel, timeout=5))
        await asyncio.sleep(0.05)
        await v1.kernel_dies(kernel, restarts=True)
        assert isinstance((await first).error, KernelGoneError)  # type: ignore[union-attr]
        assert (await queued).unwrap().status == "ok"
        channels = core.kernel_channels()
        assert not isinstance(channels, str)
        assert channels.connections() == 1  # the new channel is kept, and closed with the core
    assert len(handshakes(v1)) == 2


async def test_after_a_kernel_found_gone_by_a_check_the_next_call_is_not_found(v1: FakeJupyter) -> None:
    v1.kernel_outputs("hang", hang=True)
    quick = RequestOptions(timeout=Timeout(attempt=0.05))
    async with core_for(v1) as core:
        kernel = await new_kernel(core)
        call = asyncio.ensure_future(kernels_execute(core, {"kernel_id": kernel, "code": "hang"}, options=quick))
        await eventually(lambda: v1.kernels[kernel]["execution_state"] == "busy")
        v1._shutdown_kernel(kernel)  # pyright: ignore[reportPrivateUsage]
        assert isinstance((await call).error, KernelGoneError)  # type: ignore[union-attr]
        again = await run(core, "x", kernel)
    assert isinstance(again, Err)
    assert isinstance(again.error, NotFoundError)


async def test_calls_that_time_out_in_the_queue_leave_the_turns_to_the_others(v1: FakeJupyter) -> None:
    v1.kernel_outputs("slow", delay=0.2)
    async with core_for(v1) as core:
        kernel = await new_kernel(core)
        first = asyncio.ensure_future(run(core, "slow", kernel))
        await asyncio.sleep(0.02)
        impatient = [asyncio.ensure_future(run(core, "x", kernel, timeout=0.05 + 0.01 * i)) for i in range(15)]
        patient = asyncio.ensure_future(run(core, "last", kernel, timeout=5))
        assert (await first).unwrap().status == "ok"
        outcomes = await asyncio.gather(*impatient)
        actions = [o.error.action if isinstance(o, Err) else "ran" for o in outcomes]  # type: ignore[union-attr]
        assert actions.count("not sent") >= 10, actions  # the later ones may get their turn in time
        assert (await patient).unwrap().status == "ok"  # no turn was lost to a caller that left
        assert (await run(core, "after", kernel)).unwrap().status == "ok"


async def test_news_older_than_a_request_closes_the_channel_before_it_is_sent(v1: FakeJupyter) -> None:
    # A restart that happened between two calls, whose shutdown_reply the idle reader had no turn
    # to read: the next call must not take it for its own kernel dying.
    from sessionkit import _aiohttp_compat
    from sessionkit._deadline import Deadline
    from sessionkit.jupyter import kernels_restart

    async with core_for(v1) as core, core_for(v1) as other:
        kernel = await new_kernel(core)
        assert isinstance(await run(core, "a", kernel), Ok)
        channels = core.kernel_channels()
        assert not isinstance(channels, str)
        [channel] = [c for c in channels._by_key.values()]  # pyright: ignore[reportPrivateUsage]
        await channel.take(Deadline(Timeout(total=5), core.config.clock))  # no idle reader now
        assert isinstance(await kernels_restart(other, {"kernel_id": kernel}), Ok)
        assert channel.ws is not None
        ws = channel.ws
        await eventually(lambda: _aiohttp_compat.queued(ws))
        await channel.catch_up()
        assert not channel.is_open
        channel.give_back()
        after = await run(core, "b", kernel)
    assert after.unwrap().execution_count == 1  # the restarted kernel, on a new connection
    assert len(handshakes(v1)) == 2
