"""Orq differential contract: sessionkit and the official `orq-ai-sdk` must put the same request on the wire.

Orq serves `/v2/sessions` without a public OpenAPI document, so the official Python SDK (4.17.13) is
the oracle. Both clients call one loopback `RecordingServer` with the same inputs; the recorded
method, raw path, query, `Authorization`/`Accept`/`Content-Type` headers and JSON body must match, and
both must decode the answer to the same values. The SDK is a dev dependency and is imported here only.

One deliberate difference is pinned at the end: the SDK leaves `/` unescaped inside a path
parameter, sessionkit escapes it so that an id can never change the path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from sessionkit import Err, Ok
from sessionkit._serde import unstructure
from sessionkit.orq import (
    NotFoundErrorResponse,
    OrqAPIError,
    OrqCore,
    UnauthorizedErrorResponse,
    sessions_count,
    sessions_create,
    sessions_delete,
    sessions_get,
    sessions_list,
    sessions_tags,
    sessions_update,
)
from tests._support.recording_server import RecordedRequest, RecordingServer

orq_ai_sdk = pytest.importorskip("orq_ai_sdk", reason="the official orq-ai-sdk (dev extra) is the oracle")
from orq_ai_sdk import Orq  # noqa: E402
from orq_ai_sdk.models import ErrorResponse as SdkErrorResponse  # noqa: E402

KEY = "orq-differential-key"
COMPARED_HEADERS = ("Authorization", "Accept", "Content-Type")


def thread_json(session_id: str = "s1", **extra: Any) -> dict[str, Any]:
    return {
        "_id": session_id,
        "external_id": f"ext-{session_id}",
        "duration": 1240.5,
        "contact_ids": ["c1", "c2"],
        "billing": {"input_cost": 0.0012, "output_cost": 0.0024, "total_cost": 0.0036},
        "usage": {"prompt_tokens": 480, "completion_tokens": 132, "total_tokens": 612},
        "traces_count": 3,
        "tags": ["support"],
        "project_id": "proj-1",
        "started_at": "2026-01-02T03:04:05.123Z",
        "updated_at": "2026-01-02T05:04:05Z",
        "title": "A title",
        "client": "claude-code",
        "repo": "github.com/org/repo",
        "kind": "THREAD_KIND_CODING_AGENT",
        **extra,
    }


BILLING = {"input_cost": 0.1, "output_cost": 0.2, "total_cost": 0.30000000000000004}
USAGE = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
CREATE_MINIMAL: dict[str, Any] = {
    "external_id": "thread-1",
    "duration": 1240,
    "contact_ids": [],
    "billing": BILLING,
    "usage": USAGE,
    "traces_count": 1,
    "tags": ["support"],
}
CREATE_FULL: dict[str, Any] = {
    **CREATE_MINIMAL,
    "contact_ids": ["c1"],
    "project_id": "proj-1",
    "started_at": datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc),
    "updated_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
    "title": "Title",
    "client": "cursor",
    "repo": "github.com/org/repo",
    "kind": "THREAD_KIND_CONVERSATION",
}
UPDATE_FULL: dict[str, Any] = {
    **{k: v for k, v in CREATE_FULL.items() if k not in ("contact_ids", "tags")},
    "clear_contact_ids": True,
    "clear_tags": True,
    "duration": 99,
}
FILTERS_MINIMAL: dict[str, Any] = {"interval": "SESSION_INTERVAL_ALL_TIME"}
FILTERS_FULL: dict[str, Any] = {
    "interval": "SESSION_INTERVAL_LAST_24_HOURS",
    "project_id": "proj-1",
    "tags": ["a", "b"],
    "start_date": "1767225600000",
    "end_date": "1767312000000",
    "client": "codex",
    "repo": "github.com/org/repo",
    "kind": "THREAD_KIND_CODING_AGENT",
}
PAGE = {"object": "list", "data": [thread_json("s1"), thread_json("s2", project_id=None)], "has_more": True}

SkCall = Callable[[OrqCore], Awaitable[Any]]
SdkCall = Callable[[Any], Awaitable[Any]]


@attrs.frozen
class Case:
    """One operation called the same way through both clients."""

    sk: SkCall
    sdk: SdkCall
    method: str
    path: str
    status: int
    answer: Any


CASES: dict[str, Case] = {
    "create-minimal": Case(
        lambda c: sessions_create(c, CREATE_MINIMAL),
        lambda s: s.create_async(**CREATE_MINIMAL),
        "POST",
        "/v2/sessions",
        200,
        thread_json(),
    ),
    "create-full": Case(
        lambda c: sessions_create(c, CREATE_FULL),
        lambda s: s.create_async(**CREATE_FULL),
        "POST",
        "/v2/sessions",
        200,
        thread_json(kind="THREAD_KIND_CONVERSATION"),
    ),
    "get": Case(
        lambda c: sessions_get(c, {"session_id": "s1"}),
        lambda s: s.get_async(session_id="s1"),
        "GET",
        "/v2/sessions/s1",
        200,
        thread_json(),
    ),
    "get-minimal-thread": Case(
        lambda c: sessions_get(c, {"session_id": "s2"}),
        lambda s: s.get_async(session_id="s2"),
        "GET",
        "/v2/sessions/s2",
        200,
        {k: v for k, v in thread_json("s2").items() if k in ("_id", *CREATE_MINIMAL)},
    ),
    "update-empty": Case(
        lambda c: sessions_update(c, {"session_id": "s1"}),
        lambda s: s.update_async(session_id="s1"),
        "PATCH",
        "/v2/sessions/s1",
        200,
        thread_json(),
    ),
    "update-full": Case(
        lambda c: sessions_update(c, {"session_id": "s1", "request_body": UPDATE_FULL}),
        lambda s: s.update_async(session_id="s1", **UPDATE_FULL),
        "PATCH",
        "/v2/sessions/s1",
        200,
        thread_json(tags=[], contact_ids=[]),
    ),
    "update-lists": Case(
        lambda c: sessions_update(c, {"session_id": "s1", "request_body": {"tags": ["x"], "contact_ids": []}}),
        lambda s: s.update_async(session_id="s1", tags=["x"], contact_ids=[]),
        "PATCH",
        "/v2/sessions/s1",
        200,
        thread_json(tags=["x"]),
    ),
    "delete": Case(
        lambda c: sessions_delete(c, {"session_id": "s1"}),
        lambda s: s.delete_async(session_id="s1"),
        "DELETE",
        "/v2/sessions/s1",
        204,
        None,
    ),
    "list-minimal": Case(
        lambda c: sessions_list(c, {"filters": FILTERS_MINIMAL}),
        lambda s: s.list_async(filters=FILTERS_MINIMAL),
        "POST",
        "/v2/sessions/query",
        200,
        PAGE,
    ),
    "list-full": Case(
        lambda c: sessions_list(c, {"filters": FILTERS_FULL, "limit": 25, "page": 3}),
        lambda s: s.list_async(filters=FILTERS_FULL, limit=25, page=3),
        "POST",
        "/v2/sessions/query",
        200,
        {"object": "list", "data": [], "has_more": False},
    ),
    "count-minimal": Case(
        lambda c: sessions_count(c, {"filters": FILTERS_MINIMAL}),
        lambda s: s.get_count_async(filters=FILTERS_MINIMAL),
        "POST",
        "/v2/sessions/count",
        200,
        {"count": 7},
    ),
    "count-full": Case(
        lambda c: sessions_count(c, {"filters": FILTERS_FULL, "limit": 10, "page": 1}),
        lambda s: s.get_count_async(filters=FILTERS_FULL, limit=10, page=1),
        "POST",
        "/v2/sessions/count",
        200,
        {"count": 0},
    ),
    "tags": Case(
        sessions_tags,
        lambda s: s.list_tags_async(),
        "GET",
        "/v2/sessions/tags",
        200,
        ["support", "billing"],
    ),
}


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    async with RecordingServer() as srv:
        yield srv


async def _record(server: RecordingServer, call: Callable[[], Awaitable[Any]]) -> tuple[RecordedRequest, Any]:
    """Run `call` and return the one request it sent with its outcome (value, or the raised error)."""
    server.requests.clear()
    try:
        outcome: Any = await call()
    except Exception as exc:  # the SDK raises its errors
        outcome = exc
    assert len(server.requests) == 1, server.requests
    return server.requests[0], outcome


async def _both(server: RecordingServer, sk: SkCall, sdk: SdkCall) -> tuple[RecordedRequest, Any, RecordedRequest, Any]:
    async with OrqCore(KEY, server_url=server.url, retries=0) as core:
        sk_request, sk_result = await _record(server, lambda: sk(core))
    async with Orq(api_key=KEY, server_url=server.url) as client:
        sdk_request, sdk_value = await _record(server, lambda: sdk(client.sessions))
    return sk_request, sk_result, sdk_request, sdk_value


def _wire(request: RecordedRequest) -> dict[str, Any]:
    return {
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "headers": {name: request.headers.get(name) for name in COMPARED_HEADERS},
        "json": request.json,  # parsed, so key order and float spelling do not matter
    }


def _decoded(value: Any) -> Any:
    """A JSON-like form of a decoded response of either client, for comparison."""
    if hasattr(value, "model_dump"):
        return _decoded(value.model_dump(by_alias=True))
    if attrs.has(type(value)):
        return _decoded(unstructure(value))
    if isinstance(value, dict):
        return {k: _decoded(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    if isinstance(value, str) and value[:4].isdigit() and "T" in value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


@pytest.mark.parametrize("case", [pytest.param(c, id=name) for name, c in CASES.items()])
async def test_both_clients_send_the_same_request_and_decode_the_same_value(
    server: RecordingServer, case: Case
) -> None:
    server.reply(case.method, case.path, case.status, case.answer)
    sk_request, sk_result, sdk_request, sdk_value = await _both(server, case.sk, case.sdk)

    assert _wire(sk_request) == _wire(sdk_request)
    assert (sk_request.method, sk_request.path, sk_request.query) == (case.method, case.path, "")
    assert sk_request.headers["Authorization"] == f"Bearer {KEY}"

    assert isinstance(sk_result, Ok), sk_result
    assert not isinstance(sdk_value, BaseException), sdk_value
    assert _decoded(sk_result.value) == _decoded(sdk_value)


@pytest.mark.parametrize(
    ("status", "body", "sk_error"),
    [
        pytest.param(401, {"message": "Invalid API key", "code": 16, "details": [{"a": 1}]}, UnauthorizedErrorResponse),
        pytest.param(404, {"message": "Thread not found", "code": 5}, NotFoundErrorResponse),
    ],
)
async def test_both_clients_read_the_error_response_alike(
    server: RecordingServer, status: int, body: dict[str, Any], sk_error: type[OrqAPIError]
) -> None:
    # The SDK declares `ErrorResponse` for get's 401 and 404.
    server.reply("GET", "/v2/sessions/s1", status, body)
    _, sk_result, _, sdk_error = await _both(
        server, lambda c: sessions_get(c, {"session_id": "s1"}), lambda s: s.get_async(session_id="s1")
    )
    assert isinstance(sdk_error, SdkErrorResponse)
    assert isinstance(sk_result, Err)
    error = sk_result.error
    assert isinstance(error, sk_error)
    assert (error.server_message, error.code, error.details) == (
        sdk_error.data.message,
        sdk_error.data.code,
        sdk_error.data.details,
    )


async def test_a_bearer_key_is_not_prefixed_twice_by_either_client(server: RecordingServer) -> None:
    server.reply("GET", "/v2/sessions/tags", 200, [])
    async with OrqCore(f"Bearer {KEY}", server_url=server.url) as core:
        sk_request, _ = await _record(server, lambda: sessions_tags(core))
    async with Orq(api_key=f"Bearer {KEY}", server_url=server.url) as client:
        sdk_request, _ = await _record(server, lambda: client.sessions.list_tags_async())
    assert sk_request.headers["Authorization"] == sdk_request.headers["Authorization"] == f"Bearer {KEY}"


async def test_path_parameter_escaping_is_the_one_deliberate_difference(server: RecordingServer) -> None:
    """The SDK sends `a b/c` as `/v2/sessions/a%20b/c` (two segments); sessionkit sends one segment.

    Escaping `/` keeps an id from reaching another route (`../tags`); for ids without `/` (Orq ids
    are opaque tokens) the two clients agree, as the cases above show.
    """
    server.reply("DELETE", "/v2/sessions/a%20b%2Fc", 204)
    server.reply("DELETE", "/v2/sessions/a%20b/c", 204)
    sk_request, sk_result, sdk_request, _ = await _both(
        server, lambda c: sessions_delete(c, {"session_id": "a b/c"}), lambda s: s.delete_async(session_id="a b/c")
    )
    assert isinstance(sk_result, Ok)
    assert sk_request.path == "/v2/sessions/a%20b%2Fc"
    assert sdk_request.path == "/v2/sessions/a%20b/c"
    assert {**_wire(sk_request), "path": None} == {**_wire(sdk_request), "path": None}
