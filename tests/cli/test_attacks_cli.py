"""Issue 17's attacks on the `sessionkit` command line: integers past Python's digit limit, JSON nested
hundreds of levels deep from the server, and an event stream with an invalid event in it.

The CLI runs as a real subprocess (tests/cli/_run.py); the hostile servers are loopback servers on
the test's loop.
"""

from __future__ import annotations

import json
from typing import Any

from tests.reliability.fault_server import Behaviour, FaultServer, Recorded, json_body
from tests.reliability.hostile import event_stream

from ._run import CliRun, sessionkit

HUGE = "9" * 5000  # past Python's limit of 4,300 digits for one int
DEPTH = 450  # deep enough to break a recursive printer, within the library's 512 for free-form JSON


def deep(levels: int) -> Any:
    """A JSON value nested `levels` deep, objects and arrays in turn."""
    value: Any = {"leaf": True}
    for i in range(levels):
        value = {"k": value} if i % 2 else [value]
    return value


def depth(value: Any) -> int:
    """How deep `value` is nested (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else []
        stack.extend((child, level + 1) for child in children)
    return deepest


def tick(n: int) -> str:
    return f"event: tick\ndata: {json.dumps({'n': n})}\n\n"


def ticks(run: CliRun) -> list[int]:
    return [line["data"]["n"] for line in run.lines() if line.get("event") == "tick"]


def no_crash(run: CliRun) -> None:
    assert "Traceback" not in run.stderr, run
    assert "RecursionError" not in run.stderr + run.stdout, run


# --- item 3 ------------------------------------------------------------------------------------------


async def test_the_stream_command_prints_the_events_around_a_5000_digit_retry_field() -> None:
    """issue 17, item 3: `retry: <5,000 digits>` between two events: both printed, no traceback."""
    text = tick(1) + "retry: " + HUGE + "\n\n" + tick(2)
    async with FaultServer(default=event_stream(text)) as srv:
        run = await sessionkit("mix", "sessions", "stream", "s-1", "--server-url", srv.url, "--retries", "0")
    no_crash(run)
    assert run.code == 0, run
    assert ticks(run) == [1, 2]


async def test_a_5000_digit_integer_in_the_body_is_a_usage_error() -> None:
    """issue 17, item 3: `--body` holding a 5,000-digit integer: exit 2, a JSON error, nothing sent."""
    async with FaultServer() as srv:
        body = '{"title": "t", "n": ' + HUGE + "}"
        run = await sessionkit("mix", "sessions", "create", "--body", body, "--server-url", srv.url)
    no_crash(run)
    assert run.code == 2, run
    assert run.error()["error"] in ("UsageError", "InvalidRequestError")
    assert srv.requests == []


async def test_a_5000_digit_integer_on_one_batch_line_fails_that_line_only() -> None:
    """issue 17, item 3: in `--batch`, the line with the huge integer gets its own error line and
    every other line runs."""
    created = json_body(
        {
            "id": "s-1",
            "title": "t",
            "userMessageCount": 0,
            "assistantMessageCount": 0,
            "toolCallCount": 0,
            "promptTokens": 0,
            "completionTokens": 0,
            "cost": 0,
            "createdAt": "2025-01-01T00:00:00Z",
        },
        201,
    )
    lines = ['{"title": "a"}', '{"title": "b", "n": ' + HUGE + "}", '{"title": "c"}']
    async with FaultServer(default=created) as srv:
        run = await sessionkit(
            "mix", "sessions", "create", "--batch", "--server-url", srv.url, stdin="\n".join(lines) + "\n"
        )
    no_crash(run)
    out = {line["index"]: line for line in run.lines()}
    assert sorted(out) == [0, 1, 2], run
    assert "ok" in out[0], run
    assert "ok" in out[2], run
    assert out[1]["error"]["error"] == "InvalidRequestError", run
    assert [json.loads(r.body)["title"] for r in srv.requests] == ["a", "c"]


# --- item 7 ------------------------------------------------------------------------------------------

SESSION = {
    "id": "plain",
    "title": "t",
    "userMessageCount": 0,
    "assistantMessageCount": 0,
    "toolCallCount": 0,
    "promptTokens": 0,
    "completionTokens": 0,
    "cost": 0,
    "createdAt": "2025-01-01T00:00:00Z",
}


def export(session_id: str, input_json: Any) -> dict[str, Any]:
    """A Mix export whose one tool call's free-form `inputJson` is `input_json`."""
    call = {"id": "c", "name": "n", "input": "{}", "type": "t", "finished": True, "inputJson": input_json}
    message = {
        "id": "m",
        "role": "assistant",
        "content": "",
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z",
        "toolCalls": [call],
    }
    return {"id": session_id, "title": "t", "messages": [message]}


def by_session(req: Recorded) -> Behaviour:
    """`deep` and `plain` export, `deeperr` is a 400 whose body is nested `DEPTH` levels."""
    if "/deeperr/" in req.path:
        return json_body({"error": {"message": "no", "detail": deep(DEPTH)}}, 400)
    if "/deep/" in req.path:
        return json_body(export("deep", {"d": deep(DEPTH)}))
    return json_body(export("plain", {"x": 1}))


async def test_a_deeply_nested_success_value_is_printed() -> None:
    """issue 17, item 7: a success whose free-form field (`inputJson`) is nested 450 levels."""
    async with FaultServer(route=by_session) as srv:
        run = await sessionkit("mix", "sessions", "export", "deep", "--server-url", srv.url, "--retries", "0")
    no_crash(run)
    assert run.code == 0, run
    printed = run.json()["messages"][0]["toolCalls"][0]["inputJson"]["d"]
    assert depth(printed) == depth(deep(DEPTH))


async def test_a_deeply_nested_error_body_is_printed() -> None:
    """issue 17, item 7: a 400 whose JSON body is nested 450 levels."""
    async with FaultServer(route=by_session) as srv:
        run = await sessionkit("mix", "sessions", "export", "deeperr", "--server-url", srv.url, "--retries", "0")
    no_crash(run)
    assert run.code == 1, run
    error = run.error()
    assert error["status"] == 400
    assert depth(error["body"]["error"]["detail"]) == depth(deep(DEPTH))


async def test_a_deeply_nested_stream_event_is_printed() -> None:
    """issue 17, item 7: an event of a type no document names (its data kept as JSON) nested 450 levels."""
    text = tick(1) + f"event: deep\ndata: {json.dumps(deep(DEPTH))}\n\n" + tick(2)
    async with FaultServer(default=event_stream(text)) as srv:
        run = await sessionkit("mix", "sessions", "stream", "s-1", "--server-url", srv.url, "--retries", "0")
    no_crash(run)
    assert run.code == 0, run
    lines = run.lines()
    assert [line["event"] for line in lines] == ["tick", "deep", "tick"]
    assert depth(lines[1]["data"]) == depth(deep(DEPTH))


async def test_a_batch_with_deeply_nested_answers_gives_every_line_its_result() -> None:
    """issue 17, item 7: in `--batch`, the deep success and the deep error each get their line, and
    so does every line after them."""
    ids = ["deep", "plain", "deeperr", "plain", "deep", "plain"]
    stdin = "".join(json.dumps(i) + "\n" for i in ids)
    async with FaultServer(route=by_session) as srv:
        run = await sessionkit(
            "mix", "sessions", "export", "--batch", "--server-url", srv.url, "--retries", "0", stdin=stdin
        )
    no_crash(run)
    out = {line["index"]: line for line in run.lines()}
    assert sorted(out) == list(range(len(ids))), run
    for index, sid in enumerate(ids):
        if sid == "deeperr":
            assert out[index]["error"]["status"] == 400
        else:
            assert out[index]["ok"]["id"] == sid


# --- minor: an invalid event in the stream -----------------------------------------------------------


async def test_the_stream_command_reports_an_invalid_event_and_prints_the_events_after_it() -> None:
    """issue 17, minor: a `content` event without its `content`: one JSON error on stderr, and the
    events after it are still printed (as the library goes on)."""
    bad = 'event: content\ndata: {"type": "content"}\n\n'
    async with FaultServer(default=event_stream(tick(1) + bad + tick(2) + tick(3))) as srv:
        run = await sessionkit("mix", "sessions", "stream", "s-1", "--server-url", srv.url, "--retries", "0")
    no_crash(run)
    assert ticks(run) == [1, 2, 3], run
    error = run.error()
    assert error["error"] == "ResponseValidationError"
    assert run.code == 1, run
