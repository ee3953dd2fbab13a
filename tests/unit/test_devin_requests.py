"""Devin `/v1/sessions`: what goes on the wire, the retry rule for creates, decoding and typed errors.

These run against the loopback `RecordingServer` rather than aioresponses: aioresponses 0.7.9 cannot
build responses with aiohttp >= 3.14 (pnuckowski/aioresponses#289, the `stream_writer` argument).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sessionkit import (
    AuthenticationError,
    Err,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    Ok,
    ResponseValidationError,
    RetryConfig,
    UnprocessableEntityError,
)
from sessionkit.batch import batch
from sessionkit.devin import (
    CreateSessionRequest,
    CreateSessionResponse,
    DevinAPIError,
    DevinAuthenticationError,
    DevinCore,
    DevinUnprocessableEntityError,
    PullRequest,
    Session,
    SessionSecret,
    SessionStatus,
    sessions_create,
    sessions_get,
)
from tests._support.recording_server import RecordingServer

CREATE = "/v1/sessions"
FAST_RETRY = RetryConfig(max_retries=2, initial_wait=0.001, max_wait=0.001, jitter=False)
CREATED = {"session_id": "devin-abc", "url": "https://app.devin.ai/sessions/abc"}


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    async with RecordingServer() as srv:
        yield srv


def devin(server: RecordingServer, api_key: str | None = "k", **kwargs: Any) -> DevinCore:
    return DevinCore(api_key, server_url=server.url, **kwargs)


def test_default_server_url() -> None:
    assert DevinCore("k").server_url == "https://api.devin.ai"


async def test_create_sends_every_field_with_its_wire_name(server: RecordingServer) -> None:
    request = CreateSessionRequest(
        prompt="Fix the flaky test",
        snapshot_id="snap-1",
        playbook_id="pb-1",
        unlisted=True,
        idempotent=True,
        max_acu_limit=5,
        secret_ids=["s1"],
        knowledge_ids=[],
        tags=["ci", "flaky"],
        title="Flaky test",
        session_secrets=[SessionSecret(key="TOKEN", value="hunter2", sensitive=True)],
        structured_output_schema={"type": "object", "properties": {"ok": {"type": "boolean"}}},
    )
    server.reply("POST", CREATE, 200, {**CREATED, "is_new_session": True})
    async with devin(server, "apk_user_secret") as core:
        result = await sessions_create(core, request)
    assert result == Ok(CreateSessionResponse(session_id="devin-abc", url=CREATED["url"], is_new_session=True))
    assert isinstance(result, Ok)
    assert result.meta is not None
    assert result.meta.status == 200
    (sent,) = server.requests
    assert (sent.method, sent.path, sent.query) == ("POST", CREATE, "")
    assert sent.headers["Authorization"] == "Bearer apk_user_secret"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json == {
        "prompt": "Fix the flaky test",
        "snapshot_id": "snap-1",
        "playbook_id": "pb-1",
        "unlisted": True,
        "idempotent": True,
        "max_acu_limit": 5,
        "secret_ids": ["s1"],
        "knowledge_ids": [],
        "tags": ["ci", "flaky"],
        "title": "Flaky test",
        "session_secrets": [{"key": "TOKEN", "value": "hunter2", "sensitive": True}],
        "structured_output_schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
    }


async def test_create_omits_unset_fields_so_absent_secret_ids_mean_all(server: RecordingServer) -> None:
    server.reply("POST", CREATE, 200, CREATED)
    async with devin(server) as core:
        result = await sessions_create(core, {"prompt": "p", "secret_ids": []})
    assert isinstance(result, Ok)
    assert result.value.is_new_session is None
    (sent,) = server.requests
    # `[]` (no secrets) is sent; every field left unset is absent, not null.
    assert sent.json == {"prompt": "p", "secret_ids": []}


async def test_api_key_falls_back_to_env_and_is_not_in_repr(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVIN_API_KEY", "apk_from_env")
    server.reply("POST", CREATE, 200, CREATED)
    async with devin(server, None) as core:
        assert "apk_from_env" not in repr(core)
        await sessions_create(core, CreateSessionRequest(prompt="p"))
    (sent,) = server.requests
    assert sent.headers["Authorization"] == "Bearer apk_from_env"


def test_session_secret_value_is_not_in_repr() -> None:
    request = CreateSessionRequest(prompt="p", session_secrets=[SessionSecret(key="k", value="hunter2")])
    assert "hunter2" not in repr(request)


@pytest.mark.parametrize(
    ("request_", "field_path"),
    [
        (CreateSessionRequest(prompt="p", max_acu_limit=0), "$.max_acu_limit"),
        ({"prompt": "p", "max_acu_limit": -3}, "$.max_acu_limit"),
        ({"prompt": "p", "max_acu_limit": "ten"}, "$.max_acu_limit"),
        ({"max_acu_limit": 1}, "$.prompt"),
        ({"prompt": "p", "session_secrets": [{"key": "k"}]}, "$.session_secrets[0].value"),
    ],
)
async def test_invalid_create_is_rejected_before_sending(
    server: RecordingServer, request_: Any, field_path: str
) -> None:
    async with devin(server) as core:
        result = await sessions_create(core, request_)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == field_path
    assert result.error.operation_id == "devin.sessions.create"
    assert server.requests == []


@pytest.mark.parametrize(("idempotent", "attempts"), [(None, 1), (False, 1), (True, 3)])
async def test_create_is_retried_only_when_idempotent(
    server: RecordingServer, idempotent: bool | None, attempts: int
) -> None:
    server.reply("POST", CREATE, 503, {"detail": "Something went wrong"})
    async with devin(server, retries=FAST_RETRY) as core:
        result = await sessions_create(core, CreateSessionRequest(prompt="p", idempotent=idempotent))
    assert isinstance(result, Err)
    assert isinstance(result.error, InternalServerError)
    assert isinstance(result.error, DevinAPIError)
    assert result.error.detail == "Something went wrong"
    assert result.error.attempts == attempts
    assert len(server.requests) == attempts


async def test_idempotent_create_recovers_after_a_503(server: RecordingServer) -> None:
    server.reply("POST", CREATE, 503, {"detail": "Something went wrong"})
    server.reply("POST", CREATE, 200, {**CREATED, "is_new_session": False})
    async with devin(server, retries=FAST_RETRY) as core:
        result = await sessions_create(core, {"prompt": "p", "idempotent": True})
    assert isinstance(result, Ok)
    assert result.value.is_new_session is False
    assert result.meta is not None
    assert result.meta.attempts == 2


async def test_get_is_retried_without_any_flag(server: RecordingServer) -> None:
    server.reply("GET", "/v1/sessions/devin-x", 502, {"detail": "bad gateway"})
    server.reply("GET", "/v1/sessions/devin-x", 200, FULL_SESSION)
    async with devin(server, retries=FAST_RETRY) as core:
        result = await sessions_get(core, {"session_id": "devin-x"})
    assert isinstance(result, Ok)
    assert len(server.requests) == 2


FULL_SESSION: dict[str, Any] = {
    "session_id": "devin-abc123def456",
    "status": "running",
    "title": None,
    "created_at": "2024-01-01T00:00:00.000000+00:00",
    "updated_at": "2024-01-01T00:05:00Z",
    "snapshot_id": None,
    "playbook_id": None,
    "tags": None,
    "pull_request": {"url": "https://github.com/o/r/pull/1"},
    "structured_output": {"progress": [1, 2], "done": False},
    "status_enum": "working",
    "messages": [
        {
            "type": "initial_user_message",
            "event_id": "e1",
            "message": "do it",
            "timestamp": "2024-01-01T00:00:01Z",
            "username": "ana",
            "origin": "web",
            "user_id": "u1",
        },
        {"type": "devin_message", "event_id": "e2", "message": "on it", "timestamp": "2024-01-01T00:00:02Z"},
    ],
    "some_future_field": {"nested": True},
}


async def test_get_sends_the_id_in_the_path_and_decodes_every_field(server: RecordingServer) -> None:
    server.reply("GET", "/v1/sessions/devin-abc123def456", 200, FULL_SESSION)
    async with devin(server) as core:
        result = await sessions_get(core, {"session_id": "devin-abc123def456"})
    (sent,) = server.requests
    assert (sent.method, sent.path, sent.body) == ("GET", "/v1/sessions/devin-abc123def456", b"")
    assert sent.headers["Authorization"] == "Bearer k"
    assert "Content-Type" not in sent.headers
    assert isinstance(result, Ok)
    session = result.value
    assert isinstance(session, Session)
    assert (session.title, session.snapshot_id, session.playbook_id, session.tags) == (None, None, None, None)
    assert session.created_at.isoformat() == "2024-01-01T00:00:00+00:00"
    assert session.updated_at.isoformat() == "2024-01-01T00:05:00+00:00"
    assert session.pull_request == PullRequest(url="https://github.com/o/r/pull/1")
    assert session.structured_output == {"progress": [1, 2], "done": False}
    assert session.status_enum is SessionStatus.WORKING
    assert not session.is_terminal
    assert [msg.event_id for msg in session.messages] == ["e1", "e2"]
    assert session.messages[0].username == "ana"
    assert session.messages[1].username is None


async def test_get_percent_encodes_the_session_id(server: RecordingServer) -> None:
    server.reply("GET", "/v1/sessions/a%2Fb%20c%3F", 200, {**FULL_SESSION, "session_id": "a/b c?"})
    async with devin(server) as core:
        result = await sessions_get(core, {"session_id": "a/b c?"})
    assert isinstance(result, Ok)
    assert result.value.session_id == "a/b c?"
    assert server.requests[0].path == "/v1/sessions/a%2Fb%20c%3F"


async def test_get_keeps_an_unknown_status_enum_and_defaults_messages(server: RecordingServer) -> None:
    minimal = {
        "session_id": "devin-x",
        "status": "blocked",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "status_enum": "hibernating",
        "pull_request": None,
        "structured_output": None,
    }
    server.reply("GET", "/v1/sessions/devin-x", 200, minimal)
    async with devin(server) as core:
        result = await sessions_get(core, {"session_id": "devin-x"})
    assert isinstance(result, Ok)
    status = result.value.status_enum
    assert isinstance(status, SessionStatus)
    assert status == "hibernating"
    assert status.value == "hibernating"
    assert result.value.messages == []
    assert result.value.pull_request is None


def test_status_enum_has_every_documented_value() -> None:
    assert {s.value for s in SessionStatus} == {
        "working",
        "blocked",
        "expired",
        "finished",
        "suspend_requested",
        "suspend_requested_frontend",
        "resume_requested",
        "resume_requested_frontend",
        "resumed",
    }


@pytest.mark.parametrize(
    ("patch", "field_path"),
    [
        ({"messages": [{"type": "devin_message", "message": 42}]}, "$.messages[0].message"),
        ({"created_at": 1704067200}, "$.created_at"),
        ({"pull_request": {"url": None}}, "$.pull_request.url"),
        ({"tags": "ci"}, "$.tags"),
        ({"messages": {"type": "devin_message"}}, "$.messages"),
    ],
)
async def test_get_with_a_wrong_type_is_a_response_validation_error(
    server: RecordingServer, patch: dict[str, Any], field_path: str
) -> None:
    server.reply("GET", "/v1/sessions/devin-x", 200, {**FULL_SESSION, **patch})
    async with devin(server) as core:
        result = await sessions_get(core, {"session_id": "devin-x"})
    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert result.error.field_path == field_path
    assert result.error.operation_id == "devin.sessions.get"
    assert "devin-abc123def456" in result.error.raw_text


async def test_422_is_a_typed_unprocessable_entity_error_with_detail(server: RecordingServer) -> None:
    detail = [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]
    server.reply("POST", CREATE, 422, {"detail": detail})
    async with devin(server) as core:
        result = await sessions_create(core, {"prompt": "p"})
    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, DevinUnprocessableEntityError)
    assert isinstance(error, UnprocessableEntityError)
    assert error.status == 422
    assert error.detail == detail
    assert error.server_message == "body.prompt: Field required"


async def test_401_is_a_typed_authentication_error_with_detail(server: RecordingServer) -> None:
    body = {"detail": "Missing or invalid Authorization header"}
    server.reply("GET", "/v1/sessions/devin-x", 401, body, headers={"x-request-id": "req-1"})
    async with devin(server, "apk_bad_key") as core:
        result = await sessions_get(core, {"session_id": "devin-x"})
    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, DevinAuthenticationError)
    assert isinstance(error, AuthenticationError)
    assert error.detail == "Missing or invalid Authorization header"
    assert error.server_message == error.detail
    assert error.request_id == "req-1"
    assert "apk_bad_key" not in str(error)
    assert error.attempts == 1


async def test_undocumented_status_keeps_the_generic_type_and_an_empty_body_has_no_detail(
    server: RecordingServer,
) -> None:
    server.reply("GET", "/v1/sessions/devin-x", 404)
    async with devin(server) as core:
        result = await sessions_get(core, {"session_id": "devin-x"})
    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert isinstance(result.error, DevinAPIError)
    assert result.error.detail is None
    assert result.error.server_message is None


async def test_batch_of_creates_returns_one_result_per_request_in_order(server: RecordingServer) -> None:
    server.reply("POST", CREATE, 200, CREATED)
    requests = [CreateSessionRequest(prompt=f"task {i}") for i in range(12)]
    async with devin(server) as core:
        results = await batch(functools.partial(sessions_create, core), requests, concurrency=4)
    assert [type(r) for r in results] == [Ok] * 12
    assert sorted(r.json["prompt"] for r in server.requests) == sorted(f"task {i}" for i in range(12))
