"""Exit codes 1 (API), 2 (usage), 3 (connection, timeout), errors as JSON on stderr, and body sources."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from sessionkit.testing import FakeJupyter, Fault
from tests._support.fake_fixtures import JUPYTER_TOKEN

from ._run import sessionkit

MISSING_ID = "00000000-0000-4000-8000-000000000000"


def conn(fake: FakeJupyter) -> list[str]:
    return ["--server-url", fake.url, "--token", JUPYTER_TOKEN]


def closed_port_url() -> str:
    with socket.socket() as sock:  # bound, then closed: nobody listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_api_error_is_1_with_status_body_operation_and_attempts(fake_jupyter: FakeJupyter) -> None:
    run = await sessionkit("jupyter", "sessions", "get", MISSING_ID, *conn(fake_jupyter))
    assert run.code == 1, run
    assert run.stdout == ""
    assert run.error() == {
        "error": "NotFoundError",
        "message": run.error()["message"],
        "status": 404,
        "body": {"message": f"Session not found: session_id={MISSING_ID!r}", "reason": None},
        "operation_id": "jupyter.sessions.get",
        "attempts": 1,
    }


async def test_a_body_that_does_not_decode_is_1(fake_jupyter: FakeJupyter) -> None:
    fake_jupyter.faults.push(Fault.status(200, body={"not": "a session"}))
    run = await sessionkit("jupyter", "sessions", "get", MISSING_ID, *conn(fake_jupyter))
    assert run.code == 1, run
    error = run.error()
    assert (error["error"], error["status"], error["field_path"]) == ("ResponseValidationError", 200, "$.id")


async def test_retried_503s_report_their_attempts(fake_jupyter: FakeJupyter) -> None:
    fake_jupyter.faults.push(Fault.status(503), times=None)
    run = await sessionkit("jupyter", "sessions", "list", "--retries", "1", *conn(fake_jupyter))
    assert run.code == 1, run
    error = run.error()
    assert (error["error"], error["status"], error["attempts"]) == ("InternalServerError", 503, 2)
    assert len(fake_jupyter.requests) == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["jupyter", "sessions", "get"], "needs the session id"),
        (["jupyter", "sessions", "frobnicate"], "invalid choice"),
        (["nosuchservice"], "invalid choice"),
        (["jupyter", "sessions", "list", "--timeout", "soon"], "invalid positive number value"),
        (["jupyter", "sessions", "list", "--timeout", "0"], "invalid positive number value"),
        (["jupyter", "sessions", "list", "--retries", "-1"], "invalid non-negative integer value"),
        (["jupyter", "sessions", "create", "--body", "{not json"], "--body is not valid JSON"),
        (["mix", "sessions", "fork", "x", "--body", "[1, 2]"], "must be a JSON object"),
        (["jupyter", "sessions", "get", "x", "--batch"], "--batch reads every request from stdin"),
        (["jupyter", "sessions", "create", "--batch", "--concurrency", "0"], "invalid positive integer value"),
        (["jupyter", "sessions", "create", "--body", "@/nonexistent/body.json"], "cannot read the body file"),
    ],
)
async def test_usage_errors_are_2_and_json(args: list[str], needle: str) -> None:
    run = await sessionkit(*args)
    assert run.code == 2, run
    error = run.error()
    assert error["error"] == "UsageError"
    assert needle in error["message"]


async def test_an_invalid_request_is_2_and_nothing_is_sent(fake_jupyter: FakeJupyter) -> None:
    run = await sessionkit("jupyter", "sessions", "create", "--body", '{"type": "notebook"}', *conn(fake_jupyter))
    assert run.code == 2, run
    error = run.error()
    assert (error["error"], error["field_path"], error["attempts"]) == ("InvalidRequestError", "$.path", 0)
    assert fake_jupyter.requests == []


async def test_connection_refused_is_3() -> None:
    run = await sessionkit("jupyter", "sessions", "list", "--server-url", closed_port_url(), "--retries", "0")
    assert run.code == 3, run
    error = run.error()
    assert (error["error"], error["operation_id"], error["attempts"]) == ("ConnectionError", "jupyter.sessions.list", 1)


async def test_timeout_is_3(fake_jupyter: FakeJupyter) -> None:
    fake_jupyter.faults.push(Fault.delay(3.0))
    run = await sessionkit("jupyter", "sessions", "list", "--timeout", "0.3", "--retries", "0", *conn(fake_jupyter))
    assert run.code == 3, run
    assert run.error()["error"] == "RequestTimeoutError"


async def test_body_from_a_file(fake_jupyter: FakeJupyter, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"path": "from-file.ipynb"}), encoding="utf-8")
    run = await sessionkit("jupyter", "sessions", "create", "--body", f"@{body}", *conn(fake_jupyter))
    assert run.code == 0, run
    assert run.json()["path"] == "from-file.ipynb"


async def test_body_from_stdin(fake_jupyter: FakeJupyter) -> None:
    [seeded] = fake_jupyter.seed_sessions(1)
    run = await sessionkit(
        "jupyter",
        "sessions",
        "update",
        seeded["id"],
        "--body",
        "-",
        *conn(fake_jupyter),
        stdin='{"path": "moved.ipynb"}',
    )
    assert run.code == 0, run
    assert run.json()["path"] == "moved.ipynb"


async def test_help_documents_the_exit_codes() -> None:
    run = await sessionkit("orq", "sessions", "get", "--help")
    assert run.code == 0, run
    assert "ORQ_API_KEY" in run.stdout
    assert "3 connection refused or timeout" in run.stdout
