"""`Execution` as `kernels_execute` collects it (`ExecutionBuilder`): the `max_output_bytes` cap and
what it says was cut, display updates, clear_output, and the reply's error."""

from __future__ import annotations

from sessionkit import Err, InvalidRequestError
from sessionkit.jupyter import (
    ClearOutput,
    DisplayData,
    ErrorOutput,
    ExecuteReply,
    ExecuteResult,
    InputRequest,
    StreamText,
)
from sessionkit.jupyter.outputs import ExecutionBuilder

OK = ExecuteReply(status="ok", execution_count=3)


def out(text: str, name: str = "stdout") -> StreamText:
    return StreamText(name=name, text=text)


def test_everything_kept_under_the_cap() -> None:
    builder = ExecutionBuilder(1000)
    builder.add(out("a\n"), 40)
    builder.add(out("warn\n", "stderr"), 40)
    builder.add(DisplayData(data={"text/plain": "d"}), 30)
    builder.add(ExecuteResult(execution_count=3, data={"text/plain": "42"}), 30)
    execution = builder.finish(OK)
    assert (execution.status, execution.execution_count) == ("ok", 3)
    assert (execution.stdout, execution.stderr) == ("a\n", "warn\n")
    assert execution.displays == [{"text/plain": "d"}]
    assert execution.result == {"text/plain": "42"}
    assert (execution.error, execution.omitted_bytes, execution.truncated) == (None, 0, False)


def test_text_past_the_cap_is_cut_at_a_character_and_counted() -> None:
    builder = ExecutionBuilder(9)
    builder.add(out("12345"), 0)
    builder.add(out("678é90"), 0)  # é is two bytes: 5 + 7 bytes, 9 kept at most
    builder.add(out("more", "stderr"), 0)
    execution = builder.finish(OK)
    assert execution.stdout == "12345678"  # with "é" it would be 10 bytes
    assert execution.stderr == ""  # nothing after the first cut, even what would fit
    assert execution.omitted_bytes == len("é90".encode()) + 4
    assert execution.truncated


def test_a_display_that_does_not_fit_is_left_out_whole_with_all_after_it() -> None:
    builder = ExecutionBuilder(100)
    builder.add(DisplayData(data={"text/plain": "first"}), 40)
    builder.add(DisplayData(data={"image/png": "x" * 500}), 520)
    builder.add(DisplayData(data={"text/plain": "small"}), 40)
    builder.add(out("after"), 0)
    builder.add(ExecuteResult(execution_count=1, data={"text/plain": "r" * 10_000}), 10_020)  # always kept
    execution = builder.finish(OK)
    assert execution.displays == [{"text/plain": "first"}]  # a prefix of the output, nothing after the cut
    assert execution.stdout == ""
    assert execution.omitted_bytes == 520 + 40 + 5
    assert execution.result == {"text/plain": "r" * 10_000}


def test_an_update_replaces_the_display_it_names() -> None:
    builder = ExecutionBuilder(1000)
    builder.add(DisplayData(data={"text/plain": "0%"}, transient={"display_id": "bar"}), 50)
    builder.add(DisplayData(data={"text/plain": "other"}), 50)
    update = DisplayData(
        data={"text/plain": "100%"}, transient={"display_id": "bar"}, output_type="update_display_data"
    )
    builder.add(update, 52)
    stray = DisplayData(data={"text/plain": "?"}, transient={"display_id": "nope"}, output_type="update_display_data")
    builder.add(stray, 50)
    assert builder.finish(OK).displays == [{"text/plain": "100%"}, {"text/plain": "other"}]
    assert update.display_id == "bar"


def test_clear_output_now_and_at_the_next_output() -> None:
    builder = ExecutionBuilder(12)
    builder.add(out("0123456789"), 0)
    builder.add(ClearOutput(), 0)
    builder.add(out("abcdefghij"), 0)  # the clear gave the bytes back
    builder.add(ClearOutput(wait=True), 0)
    assert builder.finish(OK).stdout == "abcdefghij"  # not cleared yet: nothing came after
    builder.add(out("last"), 0)
    execution = builder.finish(OK)
    assert (execution.stdout, execution.omitted_bytes) == ("last", 0)


def test_the_error_comes_from_the_reply_and_only_with_status_error() -> None:
    raised = ErrorOutput(ename="ValueError", evalue="bad", traceback=["line"])
    builder = ExecutionBuilder(100)
    builder.add(raised, 0)
    assert builder.finish(ExecuteReply(status="error", error=raised)).error == raised
    assert builder.finish(ExecuteReply(status="error")).error == raised  # a reply without its fields
    assert builder.finish(ExecuteReply(status="aborted")).error is None


async def test_an_input_request_not_made_by_a_stream_answers_err() -> None:
    result = await InputRequest(prompt="?").reply("x")
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
