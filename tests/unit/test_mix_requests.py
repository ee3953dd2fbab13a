"""Mix `/api/sessions`: what goes on the wire, envelope and `null` decoding, and error mapping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aioresponses import aioresponses
from yarl import URL

from sessionkit import (
    AuthenticationError,
    BadRequestError,
    Err,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    Ok,
    RateLimitError,
    RequestOptions,
    ResponseValidationError,
)
from sessionkit.mix import (
    Callback,
    CallbackType,
    CreateSessionRequest,
    ErrorType,
    ForkSessionRequest,
    MixCore,
    MixDefaultAuthenticationError,
    MixDefaultError,
    MixDefaultNotFoundError,
    PromptMode,
    RESTResponseBadRequestError,
    RESTResponseError,
    RESTResponseInternalServerError,
    RESTResponseNotFoundError,
    RESTResponseRateLimitError,
    SessionData,
    SessionType,
    SubagentType,
    sessions_create,
    sessions_delete,
    sessions_fork,
    sessions_get,
    sessions_list,
)

BASE = "http://localhost:8088"
SESSIONS = f"{BASE}/api/sessions"
NO_RETRY = RequestOptions(retries=0)

SESSION = {
    "id": "s-1",
    "title": "Review",
    "sessionType": "main",
    "userMessageCount": 2,
    "assistantMessageCount": 3,
    "toolCallCount": 4,
    "promptTokens": 100,
    "completionTokens": 50,
    "cost": 0.25,
    "createdAt": "2025-09-09T12:00:00+05:30",
    "firstUserMessage": "hi",
}
# What get returns: no firstUserMessage.
SESSION_GET = {k: v for k, v in SESSION.items() if k != "firstUserMessage"}
# The 0.1.1 shape: no sessionType, a workingDirectory.
SESSION_011 = {**{k: v for k, v in SESSION.items() if k != "sessionType"}, "workingDirectory": "/work"}


def rest_error(code: int, message: str, kind: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "type": kind}}


@pytest.fixture
def http() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


def calls(m: aioresponses, method: str, url: str) -> list[Any]:
    return m.requests.get((method, URL(url)), [])


def only_call(m: aioresponses) -> tuple[str, URL, Any]:
    ((method, url), sent), *rest = m.requests.items()
    assert not rest
    assert len(sent) == 1
    return method, url, sent[0]


def body_of(call: Any) -> Any:
    data = call.kwargs["data"]
    return None if data is None else json.loads(data)


# --- core ---------------------------------------------------------------------------------------


async def test_core_defaults_to_localhost_and_sends_no_auth(http: aioresponses) -> None:
    http.get(SESSIONS, payload=[SESSION])
    async with MixCore() as core:
        assert core.server_url == BASE
        assert not core.has_credentials()
        result = await sessions_list(core)
    assert isinstance(result, Ok)
    method, url, call = only_call(http)
    assert (method, str(url)) == ("GET", SESSIONS)
    headers = call.kwargs["headers"]
    assert headers["Accept"] == "application/json"
    assert "Authorization" not in headers
    assert "Content-Type" not in headers
    assert call.kwargs["data"] is None


async def test_server_url_is_positional() -> None:
    async with MixCore("http://127.0.0.1:9/") as core:
        assert core.server_url == "http://127.0.0.1:9"


# --- list ---------------------------------------------------------------------------------------


async def test_list_decodes_bare_array(http: aioresponses) -> None:
    http.get(SESSIONS, payload=[SESSION, SESSION_011])
    async with MixCore() as core:
        result = await sessions_list(core)
    assert isinstance(result, Ok)
    first, second = result.value
    assert first == SessionData(
        id="s-1",
        title="Review",
        session_type=SessionType.MAIN,
        user_message_count=2,
        assistant_message_count=3,
        tool_call_count=4,
        prompt_tokens=100,
        completion_tokens=50,
        cost=0.25,
        created_at=datetime(2025, 9, 9, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        first_user_message="hi",
    )
    assert second.session_type is None
    assert second.working_directory == "/work"


@pytest.mark.parametrize("payload", [None, {"data": None}, {"data": [], "message": "ok"}, []])
async def test_list_reads_null_and_empty_envelopes_as_empty(http: aioresponses, payload: Any) -> None:
    http.get(SESSIONS, body=json.dumps(payload), content_type="application/json")
    async with MixCore() as core:
        result = await sessions_list(core)
    assert result == Ok([])


async def test_list_unwraps_the_011_envelope(http: aioresponses) -> None:
    envelope = {"data": [SESSION_011], "error": {"code": 0, "message": "", "type": "bad_request"}, "message": "m"}
    http.get(SESSIONS, payload=envelope)
    async with MixCore() as core:
        result = await sessions_list(core)
    assert isinstance(result, Ok)
    assert [s.id for s in result.value] == ["s-1"]


@pytest.mark.parametrize(("flag", "query"), [(True, "true"), (False, "false")])
async def test_list_sends_include_subagents_query(http: aioresponses, flag: bool, query: str) -> None:
    url = f"{SESSIONS}?includeSubagents={query}"
    http.get(url, payload=[])
    async with MixCore() as core:
        result = await sessions_list(core, {"include_subagents": flag})
    assert result == Ok([])
    assert len(calls(http, "GET", url)) == 1


async def test_list_keeps_unknown_session_and_subagent_types(http: aioresponses) -> None:
    http.get(SESSIONS, payload=[{**SESSION, "sessionType": "team", "subagentType": "researcher"}])
    async with MixCore() as core:
        result = await sessions_list(core)
    assert isinstance(result, Ok)
    (session,) = result.value
    assert session.session_type == "team"
    assert isinstance(session.session_type, SessionType)
    assert isinstance(session.subagent_type, SubagentType)


# --- create -------------------------------------------------------------------------------------


async def test_create_sends_camel_case_body_without_unset_fields(http: aioresponses) -> None:
    http.post(SESSIONS, status=201, payload=SESSION)
    request = CreateSessionRequest(
        title="Review",
        custom_system_prompt="be brief",
        prompt_mode=PromptMode.APPEND,
        session_type=SessionType.MAIN,
        callbacks=[Callback(tool_name="*", type=CallbackType.BASH_SCRIPT, bash_command="ls", bash_timeout=5)],
    )
    async with MixCore() as core:
        result = await sessions_create(core, request)
    assert isinstance(result, Ok)
    assert result.value.id == "s-1"
    assert result.meta is not None
    assert result.meta.status == 201
    method, url, call = only_call(http)
    assert (method, str(url)) == ("POST", SESSIONS)
    assert call.kwargs["headers"]["Content-Type"] == "application/json"
    assert body_of(call) == {
        "title": "Review",
        "customSystemPrompt": "be brief",
        "promptMode": "append",
        "sessionType": "main",
        "callbacks": [{"toolName": "*", "type": "bash_script", "bashCommand": "ls", "bashTimeout": 5}],
    }


async def test_create_from_a_mapping_with_python_names(http: aioresponses) -> None:
    http.post(SESSIONS, status=201, payload={"data": SESSION_011})
    async with MixCore() as core:
        result = await sessions_create(core, {"title": "t", "working_directory": "/w"})
    assert isinstance(result, Ok)
    assert result.value.working_directory == "/work"
    _, _, call = only_call(http)
    assert body_of(call) == {"title": "t", "workingDirectory": "/w"}


@pytest.mark.parametrize(
    ("request_", "field_path"),
    [({}, "$.title"), ({"title": 3}, "$.title"), ({"title": "t", "callbacks": [{"toolName": "*"}]}, "$.callbacks")],
)
async def test_invalid_create_is_rejected_before_sending(
    http: aioresponses, request_: dict[str, Any], field_path: str
) -> None:
    async with MixCore() as core:
        result = await sessions_create(core, request_)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path.startswith(field_path)
    assert not http.requests


async def test_create_is_not_retried_without_an_idempotency_key(http: aioresponses) -> None:
    http.post(SESSIONS, status=500, payload=rest_error(500, "boom", "internal_error"))
    async with MixCore() as core:
        result = await sessions_create(core, {"title": "t"})
    assert isinstance(result, Err)
    assert isinstance(result.error, RESTResponseInternalServerError)
    assert result.error.attempts == 1


async def test_create_body_missing_a_required_field_is_a_validation_error(http: aioresponses) -> None:
    http.post(SESSIONS, status=201, payload={k: v for k, v in SESSION.items() if k != "createdAt"})
    async with MixCore() as core:
        result = await sessions_create(core, {"title": "t"})
    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    # The core names the attribute for a missing field (cattrs reports Python names).
    assert result.error.field_path in ("$.createdAt", "$.created_at")


# --- get / fork / delete ------------------------------------------------------------------------


async def test_get_percent_encodes_the_id_and_tolerates_missing_optional_fields(http: aioresponses) -> None:
    url = f"{SESSIONS}/a%2Fb%20c"
    http.get(url, payload=SESSION_GET)
    async with MixCore() as core:
        result = await sessions_get(core, {"id": "a/b c"})
    assert isinstance(result, Ok)
    assert result.value.first_user_message is None
    assert result.value.callbacks is None
    assert len(calls(http, "GET", url)) == 1


async def test_get_unwraps_the_011_envelope(http: aioresponses) -> None:
    http.get(f"{SESSIONS}/s-1", payload={"data": SESSION_011, "message": "ok"})
    async with MixCore() as core:
        result = await sessions_get(core, {"id": "s-1"})
    assert isinstance(result, Ok)
    assert result.value.title == "Review"


async def test_get_requires_an_id(http: aioresponses) -> None:
    async with MixCore() as core:
        result = await sessions_get(core, {"id": ""})
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "$.id"
    assert not http.requests


async def test_fork_without_index_or_title_sends_no_body(http: aioresponses) -> None:
    http.post(f"{SESSIONS}/s-1/fork", status=201, payload={"data": SESSION_011})
    async with MixCore() as core:
        result = await sessions_fork(core, {"id": "s-1"})
    assert isinstance(result, Ok)
    _, _, call = only_call(http)
    assert call.kwargs["data"] is None
    assert "Content-Type" not in call.kwargs["headers"]


@pytest.mark.parametrize(
    ("request_", "body"),
    [
        (ForkSessionRequest(id="s-1", message_index=0), {"messageIndex": 0}),
        ({"id": "s-1", "message_index": 4, "title": "branch"}, {"messageIndex": 4, "title": "branch"}),
        ({"id": "s-1", "title": "branch"}, {"title": "branch"}),
    ],
)
async def test_fork_sends_its_body_fields(http: aioresponses, request_: Any, body: dict[str, Any]) -> None:
    http.post(f"{SESSIONS}/s-1/fork", status=201, payload={**SESSION, "sessionType": "forked"})
    async with MixCore() as core:
        result = await sessions_fork(core, request_)
    assert isinstance(result, Ok)
    assert result.value.session_type is SessionType.FORKED
    method, url, call = only_call(http)
    assert (method, str(url)) == ("POST", f"{SESSIONS}/s-1/fork")
    assert body_of(call) == body
    assert call.kwargs["headers"]["Content-Type"] == "application/json"


async def test_fork_rejects_a_negative_index(http: aioresponses) -> None:
    async with MixCore() as core:
        result = await sessions_fork(core, {"id": "s-1", "message_index": -1})
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path.startswith("$")
    assert not http.requests


async def test_delete_returns_none_on_204(http: aioresponses) -> None:
    http.delete(f"{SESSIONS}/s-1", status=204)
    async with MixCore() as core:
        result = await sessions_delete(core, {"id": "s-1"})
    assert result == Ok(None)
    method, _, call = only_call(http)
    assert method == "DELETE"
    assert call.kwargs["data"] is None


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "cls", "generic"),
    [
        (400, "validation_error", RESTResponseBadRequestError, BadRequestError),
        (404, "not_found", RESTResponseNotFoundError, NotFoundError),
        (429, "bad_request", RESTResponseRateLimitError, RateLimitError),
        (500, "internal_error", RESTResponseInternalServerError, InternalServerError),
        (418, "teapot", RESTResponseError, RESTResponseError),
    ],
)
async def test_rest_error_bodies_are_typed(
    http: aioresponses, status: int, kind: str, cls: type[Exception], generic: type[Exception]
) -> None:
    http.get(f"{SESSIONS}/s-1", status=status, payload=rest_error(status, "Session with ID 's-1' not found", kind))
    async with MixCore() as core:
        result = await sessions_get(core, {"id": "s-1"}, options=NO_RETRY)
    assert isinstance(result, Err)
    error = result.error
    assert type(error) is cls
    assert isinstance(error, generic)
    assert isinstance(error, RESTResponseError)
    assert error.status == status
    assert error.code == status
    assert error.error_type == kind
    assert isinstance(error.error_type, ErrorType)
    assert error.error_message == "Session with ID 's-1' not found"
    assert error.server_message == error.error_message
    assert error.operation_id == "mix.sessions.get"


async def test_011_error_envelope_is_a_rest_error(http: aioresponses) -> None:
    body = {"data": None, "error": {"code": 404, "message": "gone", "type": "not_found"}, "message": "m"}
    http.delete(f"{SESSIONS}/s-1", status=404, payload=body)
    async with MixCore() as core:
        result = await sessions_delete(core, {"id": "s-1"})
    assert isinstance(result, Err)
    assert isinstance(result.error, RESTResponseNotFoundError)
    assert result.error.error_type is ErrorType.NOT_FOUND
    assert result.error.error_message == "gone"


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (404, "404 page not found\n", MixDefaultNotFoundError),
        (401, '{"message": "no"}', MixDefaultAuthenticationError),
        (405, "Method Not Allowed", MixDefaultError),
        (502, '{"error": "upstream"}', MixDefaultError),
    ],
)
async def test_other_failures_are_the_default_error(http: aioresponses, status: int, body: str, cls: type) -> None:
    http.get(f"{SESSIONS}/s-1", status=status, body=body)
    async with MixCore() as core:
        result = await sessions_get(core, {"id": "s-1"}, options=NO_RETRY)
    assert isinstance(result, Err)
    assert isinstance(result.error, cls)
    assert isinstance(result.error, MixDefaultError)
    assert not isinstance(result.error, RESTResponseError)
    if status == 401:
        assert isinstance(result.error, AuthenticationError)
    if status == 502:
        assert isinstance(result.error, InternalServerError)
