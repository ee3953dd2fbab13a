"""Devin v1 and v3 against a loopback server that replays the example bodies of the contract.

Devin publishes no OpenAPI document a mock could serve, so the bodies below are copied from
contracts/devin-api.md and contracts/devin-jupyter.md §1 (and the docs pages they cite, whose
placeholders `"<string>"` and `123` are kept as they are). Each case pins the request the SDK sends
and that the example decodes into the model, so a model stricter than Devin's examples fails here.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from sessionkit import Err, Ok, ResponseValidationError
from sessionkit.devin import (
    DevinAuthenticationError,
    DevinBadRequestError,
    DevinCore,
    DevinInternalServerError,
    DevinUnprocessableEntityError,
    SessionStatus,
    sessions_create,
    sessions_get,
    sessions_list,
    sessions_send_message,
    sessions_terminate,
    sessions_update_tags,
    v3,
)
from tests._support.recording_server import RecordingServer

# -- v1 examples (devin-jupyter.md §1.1-1.2, devin-api.md A.1-A.4) ------------------------------------

V1_CREATED = {"session_id": "devin-xxx", "url": "https://app.devin.ai/sessions/xxx", "is_new_session": True}
V1_SESSION = {
    "session_id": "devin-xxx",
    "status": "running",
    "title": None,
    "created_at": "2024-01-01T00:00:00.000000+00:00",
    "updated_at": "2024-01-01T00:00:00.000000+00:00",
    "snapshot_id": None,
    "playbook_id": None,
    "tags": ["ci"],
    "pull_request": {"url": "https://github.com/o/r/pull/1"},
    "structured_output": {"fixed": True},
    "status_enum": "blocked",
    "messages": [
        {"type": "initial_user_message", "event_id": "e1", "message": "Fix the CI",
         "timestamp": "2024-01-01T00:00:00.000000+00:00", "username": "ann", "origin": "web"},
        {"type": "devin_message", "event_id": "e2", "message": "Which branch?",
         "timestamp": "2024-01-01T00:01:00.000000+00:00"},
        {"type": "user_message", "event_id": "e3", "message": "main", "timestamp": "2024-01-01T00:02:00Z",
         "user_id": "u1"},
    ],
}  # fmt: skip
V1_SUMMARY = {
    "created_at": "2024-01-01T00:00:00Z",
    "session_id": "devin-xxx",
    "status": "running",
    "updated_at": "2024-01-01T00:00:00Z",
    "playbook_id": None,
    "pull_request": {"url": "https://github.com/o/r/pull/1"},
    "requesting_user_email": "ann@example.com",
    "snapshot_id": None,
    "status_enum": "working",
    "structured_output": None,
    "tags": [],
    "title": "Fix the CI",
}
V1_TAGS_UPDATED = {"detail": "Tags updated successfully"}
V1_TERMINATED = {"detail": "Session terminated successfully"}
V1_MESSAGE_DETAIL = {"detail": "<string>"}
V1_VALIDATION = {"detail": [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]}

# -- v3 examples (devin-api.md B.1-B.5; docs pages get-organizations-session, organizations-sessions,
#    get-organizations-session-messages, and the SDK's ProblemDetail) --------------------------------

V3_SESSION = {
    "acus_consumed": 123,
    "created_at": 123,
    "org_id": "<string>",
    "pull_requests": [{"pr_state": "<string>", "pr_url": "<string>"}],
    "session_id": "<string>",
    "status": "new",
    "tags": ["<string>"],
    "updated_at": 123,
    "url": "<string>",
    "child_session_ids": ["<string>"],
    "is_advanced": False,
    "is_archived": False,
    "parent_session_id": "<string>",
    "structured_output": {},
    "title": "<string>",
    "user_id": "<string>",
}
V3_RUNNING = {**V3_SESSION, "status": "running", "status_detail": "waiting_for_user", "origin": "api",
              "category": "bug_fixing", "devin_mode": "fast", "pull_requests": [{"pr_url": "<string>", "pr_state": None}]}  # fmt: skip
V3_PAGE = {"items": [V3_SESSION], "end_cursor": "<string>", "has_next_page": False, "total": 123}
V3_MESSAGES = {
    "items": [{"created_at": 123, "event_id": "<string>", "message": "<string>", "source": "devin"}],
    "end_cursor": "<string>",
    "has_next_page": False,
    "total": 123,
}
V3_LAST_PAGE = {"items": [], "has_next_page": False, "end_cursor": None}  # `total` may be left out
V3_TAGS = {"tags": ["<string>"]}
V3_PROBLEM_404 = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "Session not found",
                  "instance": "/v3/organizations/org-abc123def456/sessions/devin-abc123"}  # fmt: skip
V3_PROBLEM_422 = {"title": "Validation Error", "status": 422, "detail": None,
                  "errors": [{"loc": ["body", "tags"], "msg": "List should have at most 50 items"}]}  # fmt: skip
ORG = "org-abc123def456"
V3 = f"/v3/organizations/{ORG}/sessions"


@dataclass
class Case:
    name: str
    call: Callable[[Any], Awaitable[Any]]
    method: str
    path: str
    status: int
    reply: Any
    check: Callable[[Any], None]
    body: Any = None
    v3: bool = False
    reply_text: str | None = field(default=None)


def v1_session(value: Any) -> None:
    assert value.status_enum is SessionStatus.BLOCKED
    assert value.pull_request.url.endswith("/pull/1")
    assert [m.type for m in value.messages] == ["initial_user_message", "devin_message", "user_message"]
    assert value.messages[0].username == "ann"
    assert value.created_at.year == 2024


def v3_session(value: Any) -> None:
    assert value.status is v3.SessionStatus.NEW
    assert value.state == "new"
    assert value.pull_requests[0].pr_state == "<string>"
    assert value.acus_consumed == 123
    assert value.devin_id == "devin-<string>"


def v3_running(value: Any) -> None:
    assert value.state == "waiting_for_user"
    assert value.needs_input
    assert value.origin is v3.SessionOrigin.API
    assert value.pull_requests[0].pr_state is None


CASES = [
    Case("v1 create", lambda c: sessions_create(c, {"prompt": "Fix the CI", "idempotent": True}), "POST",
         "/v1/sessions", 200, V1_CREATED, lambda v: v.is_new_session is True,
         {"prompt": "Fix the CI", "idempotent": True}),
    Case("v1 get", lambda c: sessions_get(c, {"session_id": "devin-xxx"}), "GET", "/v1/sessions/devin-xxx", 200,
         V1_SESSION, v1_session),
    Case("v1 list", lambda c: sessions_list(c, {"limit": 1}), "GET", "/v1/sessions", 200, {"sessions": [V1_SUMMARY]},
         lambda v: v.sessions[0].requesting_user_email == "ann@example.com"),
    Case("v1 send_message null", lambda c: sessions_send_message(c, {"session_id": "devin-xxx", "message": "go"}),
         "POST", "/v1/sessions/devin-xxx/message", 200, None, lambda v: v.detail is None, {"message": "go"},
         reply_text="null"),
    Case("v1 send_message detail", lambda c: sessions_send_message(c, {"session_id": "devin-xxx", "message": "go"}),
         "POST", "/v1/sessions/devin-xxx/message", 200, V1_MESSAGE_DETAIL, lambda v: v.detail == "<string>",
         {"message": "go"}),
    Case("v1 send_message object", lambda c: sessions_send_message(c, {"session_id": "devin-xxx", "message": "go"}),
         "POST", "/v1/sessions/devin-xxx/message", 200, {"event_id": "e9", "message": "go"},
         lambda v: v.detail is None, {"message": "go"}),
    Case("v1 update_tags", lambda c: sessions_update_tags(c, {"session_id": "devin-xxx", "tags": ["a"]}), "PUT",
         "/v1/sessions/devin-xxx/tags", 200, V1_TAGS_UPDATED, lambda v: v.detail == "Tags updated successfully",
         {"tags": ["a"]}),
    Case("v1 terminate", lambda c: sessions_terminate(c, {"session_id": "devin-xxx"}), "DELETE",
         "/v1/sessions/devin-xxx", 200, V1_TERMINATED, lambda v: v.detail == "Session terminated successfully"),
    Case("v3 create", lambda c: v3.sessions_create(c, {"prompt": "Fix the CI"}), "POST", V3, 200, V3_SESSION,
         v3_session, {"prompt": "Fix the CI"}, v3=True),
    Case("v3 get", lambda c: v3.sessions_get(c, {"devin_id": "abc123"}), "GET", f"{V3}/devin-abc123", 200,
         V3_RUNNING, v3_running, v3=True),
    Case("v3 list", lambda c: v3.sessions_list(c, {"first": 10}), "GET", V3, 200, V3_PAGE,
         lambda v: (v.total, v.end_cursor, v3_session(v.items[0])) == (123, "<string>", None), v3=True),
    Case("v3 list last page", lambda c: v3.sessions_list(c, {"after": "<string>"}), "GET", V3, 200, V3_LAST_PAGE,
         lambda v: (v.items, v.has_next_page, v.end_cursor, v.total) == ([], False, None, None), v3=True),
    Case("v3 send_message", lambda c: v3.sessions_send_message(c, {"devin_id": "devin-abc123", "message": "go"}),
         "POST", f"{V3}/devin-abc123/messages", 200, V3_SESSION, v3_session, {"message": "go"}, v3=True),
    Case("v3 messages list", lambda c: v3.sessions_messages_list(c, {"devin_id": "abc123"}), "GET",
         f"{V3}/devin-abc123/messages", 200, V3_MESSAGES,
         lambda v: v.items[0].source is v3.MessageSource.DEVIN, v3=True),
    Case("v3 tags get", lambda c: v3.sessions_tags_get(c, {"devin_id": "abc123"}), "GET", f"{V3}/devin-abc123/tags",
         200, V3_TAGS, lambda v: v.tags == ["<string>"], v3=True),
    Case("v3 tags add", lambda c: v3.sessions_tags_add(c, {"devin_id": "abc123", "tags": ["<string>"]}), "POST",
         f"{V3}/devin-abc123/tags", 200, V3_TAGS, lambda v: v.tags == ["<string>"], {"tags": ["<string>"]}, v3=True),
    Case("v3 tags replace", lambda c: v3.sessions_tags_replace(c, {"devin_id": "abc123", "tags": []}), "PUT",
         f"{V3}/devin-abc123/tags", 200, {"tags": []}, lambda v: v.tags == [], {"tags": []}, v3=True),
    Case("v3 archive", lambda c: v3.sessions_archive(c, {"devin_id": "abc123"}), "POST",
         f"{V3}/devin-abc123/archive", 200, {**V3_SESSION, "is_archived": True}, lambda v: v.is_archived, v3=True),
    Case("v3 terminate", lambda c: v3.sessions_terminate(c, {"devin_id": "abc123"}), "DELETE", f"{V3}/devin-abc123",
         200, {**V3_SESSION, "status": "exit"}, lambda v: v.is_terminal, v3=True),
]  # fmt: skip


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    async with RecordingServer() as srv:
        yield srv


def core(server: RecordingServer, *, v3_core: bool) -> Any:
    if v3_core:
        return v3.DevinCore("cog_example", ORG, server_url=server.url, retries=0)
    return DevinCore("apk_example", server_url=server.url, retries=0)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_the_contract_example_decodes(server: RecordingServer, case: Case) -> None:
    if case.reply_text is not None:
        server.reply(case.method, case.path, case.status, text=case.reply_text, content_type="application/json")
    else:
        server.reply(case.method, case.path, case.status, case.reply)
    async with core(server, v3_core=case.v3) as c:
        result = await case.call(c)
    assert isinstance(result, Ok), result
    check = case.check(result.value)
    assert check is None or check is True
    [request] = server.requests
    assert (request.method, request.path) == (case.method, case.path)
    assert request.json == case.body
    assert request.headers["Authorization"] == ("Bearer cog_example" if case.v3 else "Bearer apk_example")


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (400, {"detail": "Invalid input or request"}, DevinBadRequestError, "Invalid input or request"),
        (401, {"detail": "Missing or invalid Authorization header"}, DevinAuthenticationError,
         "Missing or invalid Authorization header"),
        (422, V1_VALIDATION, DevinUnprocessableEntityError, "body.prompt: Field required"),
        (500, {"detail": "Something went wrong"}, DevinInternalServerError, "Something went wrong"),
    ],
)  # fmt: skip
async def test_v1_error_examples_are_typed(
    server: RecordingServer, status: int, body: Any, error: type[Exception], message: str
) -> None:
    server.reply("POST", "/v1/sessions", status, body)
    async with core(server, v3_core=False) as c:
        result = await sessions_create(c, {"prompt": "x"})
    assert isinstance(result, Err)
    assert isinstance(result.error, error)
    assert result.error.server_message == message  # type: ignore[attr-defined]


async def test_v3_problem_examples_are_typed(server: RecordingServer) -> None:
    problem = json.dumps(V3_PROBLEM_404)
    server.reply("GET", f"{V3}/devin-abc123", 404, text=problem, content_type="application/problem+json")
    server.reply("PUT", f"{V3}/devin-abc123/tags", 422, V3_PROBLEM_422)
    async with core(server, v3_core=True) as c:
        missing = await v3.sessions_get(c, {"devin_id": "abc123"})
        invalid = await v3.sessions_tags_replace(c, {"devin_id": "abc123", "tags": ["a"]})
    assert isinstance(missing, Err)
    assert isinstance(missing.error, v3.DevinV3NotFoundError)
    assert (missing.error.title, missing.error.detail, missing.error.problem_type, missing.error.instance) == (
        "Not Found", "Session not found", "about:blank", V3_PROBLEM_404["instance"])  # fmt: skip
    assert isinstance(invalid, Err)
    assert isinstance(invalid.error, v3.DevinV3UnprocessableEntityError)
    assert invalid.error.errors == V3_PROBLEM_422["errors"]
    assert invalid.error.server_message == "Validation Error (body.tags: List should have at most 50 items)"


async def test_a_v3_session_without_a_required_field_is_a_validation_error(server: RecordingServer) -> None:
    server.reply("GET", f"{V3}/devin-abc123", 200, {k: v for k, v in V3_SESSION.items() if k != "org_id"})
    async with core(server, v3_core=True) as c:
        result = await v3.sessions_get(c, {"devin_id": "abc123"})
    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert result.error.field_path == "$.org_id"
