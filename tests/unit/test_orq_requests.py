"""Orq `/v2/sessions`: what goes on the wire, decoding, typed errors and the all-pages iterator.

These run against the loopback `RecordingServer` rather than aioresponses: aioresponses 0.7.9 cannot
build responses with aiohttp >= 3.14 (pnuckowski/aioresponses#289, the `stream_writer` argument).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
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
)
from sessionkit.orq import (
    CreateThreadRequest,
    ErrorResponse,
    GetThreadCountResponse,
    ListThreadsRequest,
    ListThreadsResponse,
    NotFoundErrorResponse,
    OrqCore,
    SessionInterval,
    Thread,
    ThreadBilling,
    ThreadFilters,
    ThreadKind,
    ThreadUsage,
    UnauthorizedErrorResponse,
    UpdateSessionRequest,
    UpdateThreadRequest,
    sessions_count,
    sessions_create,
    sessions_delete,
    sessions_get,
    sessions_list,
    sessions_list_all,
    sessions_tags,
    sessions_update,
)
from tests._support.recording_server import RecordingServer

KEY = "orq-secret-key"
ALL_TIME = {"interval": "SESSION_INTERVAL_ALL_TIME"}
QUERY = "/v2/sessions/query"


def thread_json(session_id: str = "s1", **extra: Any) -> dict[str, Any]:
    return {
        "_id": session_id,
        "external_id": f"ext-{session_id}",
        "duration": 1240,
        "contact_ids": ["c1"],
        "billing": {"input_cost": 0.0012, "output_cost": 0.0024, "total_cost": 0.0036},
        "usage": {"prompt_tokens": 480, "completion_tokens": 132, "total_tokens": 612},
        "traces_count": 1,
        "tags": ["support"],
        **extra,
    }


def page_json(ids: list[str], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": [thread_json(i) for i in ids], "has_more": has_more}


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    async with RecordingServer() as srv:
        yield srv


@pytest.fixture
async def core(server: RecordingServer) -> AsyncIterator[OrqCore]:
    async with OrqCore(KEY, server_url=server.url, retries=0) as c:
        yield c


CREATE_BODY = {
    "external_id": "thread-1",
    "duration": 1240.0,
    "contact_ids": [],
    "billing": {"input_cost": 0.0012, "output_cost": 0.0024, "total_cost": 0.0036},
    "usage": {"prompt_tokens": 480, "completion_tokens": 132, "total_tokens": 612},
    "traces_count": 1,
    "tags": ["support"],
    "project_id": "proj-1",
    "started_at": "2026-01-02T03:04:05Z",
    "kind": "THREAD_KIND_CODING_AGENT",
}
CREATE_MODEL = CreateThreadRequest(
    external_id="thread-1",
    duration=1240,
    contact_ids=[],
    billing=ThreadBilling(input_cost=0.0012, output_cost=0.0024, total_cost=0.0036),
    usage=ThreadUsage(prompt_tokens=480, completion_tokens=132, total_tokens=612),
    traces_count=1,
    tags=["support"],
    project_id="proj-1",
    started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    kind=ThreadKind.THREAD_KIND_CODING_AGENT,
)

Call = Callable[[OrqCore], Awaitable[Any]]

# (name, call, method, path, status, response JSON, expected request JSON body, expected Ok value)
WIRE_CASES: list[tuple[str, Call, str, str, int, Any, Any, Any]] = [
    (
        "create",
        lambda c: sessions_create(c, CREATE_MODEL),
        "POST",
        "/v2/sessions",
        200,
        thread_json(),
        CREATE_BODY,
        None,
    ),
    ("get", lambda c: sessions_get(c, {"session_id": "s1"}), "GET", "/v2/sessions/s1", 200, thread_json(), None, None),
    (
        "update",
        lambda c: sessions_update(
            c,
            UpdateSessionRequest(
                session_id="s1", request_body=UpdateThreadRequest(title="Renamed", clear_tags=True, duration=5)
            ),
        ),
        "PATCH",
        "/v2/sessions/s1",
        200,
        thread_json(title="Renamed"),
        {"title": "Renamed", "clear_tags": True, "duration": 5.0},
        None,
    ),
    ("delete", lambda c: sessions_delete(c, {"session_id": "s1"}), "DELETE", "/v2/sessions/s1", 204, None, None, None),
    (
        "list",
        lambda c: sessions_list(c, {"filters": {**ALL_TIME, "tags": ["a"]}, "limit": 10, "page": 2}),
        "POST",
        "/v2/sessions/query",
        200,
        page_json(["s1", "s2"], has_more=True),
        {"filters": {"interval": "SESSION_INTERVAL_ALL_TIME", "tags": ["a"]}, "limit": 10, "page": 2},
        None,
    ),
    (
        "count",
        lambda c: sessions_count(
            c, {"filters": {"interval": "SESSION_INTERVAL_LAST_7_DAYS", "kind": "THREAD_KIND_CONVERSATION"}}
        ),
        "POST",
        "/v2/sessions/count",
        200,
        {"count": 42},
        {"filters": {"interval": "SESSION_INTERVAL_LAST_7_DAYS", "kind": "THREAD_KIND_CONVERSATION"}},
        GetThreadCountResponse(count=42),
    ),
    ("tags", sessions_tags, "GET", "/v2/sessions/tags", 200, ["support", "billing"], None, ["support", "billing"]),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "status", "response", "expected_body", "expected_value"),
    [pytest.param(*case[1:], id=case[0]) for case in WIRE_CASES],
)
async def test_each_operation_sends_its_method_path_headers_and_body(
    server: RecordingServer,
    core: OrqCore,
    call: Call,
    method: str,
    path: str,
    status: int,
    response: Any,
    expected_body: Any,
    expected_value: Any,
) -> None:
    server.reply(method, path, status, response)
    result = await call(core)
    assert isinstance(result, Ok), result
    (request,) = server.requests
    assert (request.method, request.path, request.query) == (method, path, "")
    headers = request.headers
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Accept"] == "application/json"
    assert request.json == expected_body
    assert ("Content-Type" in headers) == (expected_body is not None)
    if expected_body is not None:
        assert headers["Content-Type"] == "application/json"
    if expected_value is not None:
        assert result.value == expected_value


async def test_thread_decodes_wire_names_dates_enums_and_ignores_unknown_fields(
    server: RecordingServer, core: OrqCore
) -> None:
    body = thread_json(
        project_id=None,
        started_at="2026-01-02T03:04:05.5Z",
        updated_at="2026-01-02T04:00:00+02:00",
        kind="THREAD_KIND_FUTURE",
        title="t",
        client="cursor",
        repo="github.com/o/r",
        workspace_id="ignored",
    )
    server.reply("GET", "/v2/sessions/s1", 200, body)
    result = await sessions_get(core, {"session_id": "s1"})
    thread = result.unwrap()
    assert isinstance(thread, Thread)
    assert thread.id == "s1"
    assert thread.duration == 1240.0
    assert thread.billing == ThreadBilling(input_cost=0.0012, output_cost=0.0024, total_cost=0.0036)
    assert thread.usage.total_tokens == 612
    assert thread.project_id is None
    assert thread.started_at == datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=timezone.utc)
    assert thread.updated_at == datetime(2026, 1, 2, 2, 0, tzinfo=timezone.utc)
    assert thread.kind == "THREAD_KIND_FUTURE"
    assert isinstance(thread.kind, ThreadKind)
    assert (thread.title, thread.client, thread.repo) == ("t", "cursor", "github.com/o/r")


async def test_a_thread_missing_a_required_field_is_a_response_validation_error(
    server: RecordingServer, core: OrqCore
) -> None:
    body = thread_json()
    del body["billing"]
    server.reply("GET", "/v2/sessions/s1", 200, body)
    result = await sessions_get(core, {"session_id": "s1"})
    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert "billing" in result.error.field_path


async def test_path_parameter_is_percent_encoded_as_one_segment(server: RecordingServer, core: OrqCore) -> None:
    server.reply("DELETE", "/v2/sessions/a%2Fb%20c%3Fd", 204)
    result = await sessions_delete(core, {"session_id": "a/b c?d"})
    assert isinstance(result, Ok), result
    assert [(r.path, r.query) for r in server.requests] == [("/v2/sessions/a%2Fb%20c%3Fd", "")]


async def test_update_with_no_fields_sends_an_empty_object(server: RecordingServer, core: OrqCore) -> None:
    server.reply("PATCH", "/v2/sessions/s1", 200, thread_json())
    assert isinstance(await sessions_update(core, {"session_id": "s1"}), Ok)
    (request,) = server.requests
    assert request.json == {}


async def test_list_filters_take_plain_strings_and_keep_unknown_intervals(
    server: RecordingServer, core: OrqCore
) -> None:
    request = ListThreadsRequest(filters=ThreadFilters(interval="SESSION_INTERVAL_NEXT_CENTURY", kind="X"), limit=5)
    server.reply("POST", QUERY, 200, page_json([], has_more=False))
    result = await sessions_list(core, request)
    assert result.unwrap() == ListThreadsResponse(object="list", data=[], has_more=False)
    (call,) = server.requests
    assert call.json == {"filters": {"interval": "SESSION_INTERVAL_NEXT_CENTURY", "kind": "X"}, "limit": 5}
    # A hand-built model keeps what it was given (the type checker flags a plain string there);
    # the wire form is the same either way.
    assert request.filters.interval == "SESSION_INTERVAL_NEXT_CENTURY"


def test_session_interval_lists_every_value_of_the_sdk() -> None:
    assert {i.value for i in SessionInterval} == {
        "SESSION_INTERVAL_ALL_TIME",
        "SESSION_INTERVAL_LAST_30_MINUTES",
        "SESSION_INTERVAL_LAST_1_HOUR",
        "SESSION_INTERVAL_LAST_6_HOURS",
        "SESSION_INTERVAL_LAST_24_HOURS",
        "SESSION_INTERVAL_LAST_3_DAYS",
        "SESSION_INTERVAL_LAST_7_DAYS",
        "SESSION_INTERVAL_LAST_14_DAYS",
        "SESSION_INTERVAL_LAST_1_MONTH",
        "SESSION_INTERVAL_LAST_3_MONTHS",
    }


@pytest.mark.parametrize(
    ("call", "path"),
    [
        pytest.param(lambda c: sessions_list(c, {"limit": 5}), "$.filters", id="list-without-filters"),
        pytest.param(lambda c: sessions_count(c, {"filters": {}}), "$.filters.interval", id="count-without-interval"),
        pytest.param(lambda c: sessions_get(c, {}), "$.session_id", id="get-without-id"),
        pytest.param(lambda c: sessions_create(c, {"external_id": "x"}), "$.duration", id="create-missing-fields"),
        pytest.param(lambda c: sessions_get(c, {"session_id": ""}), "$.session_id", id="empty-id"),
    ],
)
async def test_bad_input_is_an_invalid_request_and_nothing_is_sent(
    server: RecordingServer, core: OrqCore, call: Call, path: str
) -> None:
    result = await call(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == path
    assert server.requests == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(["a", "b"], id="bare-list"),
        pytest.param({"tags": ["a", "b"]}, id="tags-envelope"),
        pytest.param({"data": ["a", "b"]}, id="data-envelope"),
    ],
)
async def test_tags_accepts_a_list_or_a_simple_envelope(server: RecordingServer, core: OrqCore, body: Any) -> None:
    server.reply("GET", "/v2/sessions/tags", 200, body)
    result = await sessions_tags(core)
    assert result.unwrap() == ["a", "b"]


# --- errors ------------------------------------------------------------------------------------


async def test_401_error_response_is_a_typed_authentication_error(server: RecordingServer, core: OrqCore) -> None:
    body = {"message": "Invalid API key", "code": 16, "details": [{"reason": "expired"}]}
    server.reply("GET", "/v2/sessions/s1", 401, body)
    result = await sessions_get(core, {"session_id": "s1"})
    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, ErrorResponse)
    assert isinstance(error, AuthenticationError)
    assert (error.status, error.code, error.details) == (401, 16, [{"reason": "expired"}])
    assert error.server_message == "Invalid API key"
    assert "Invalid API key" in error.message
    assert error.operation_id == "orq.sessions.get"
    assert KEY not in f"{error.message} {error!r} {error.headers}"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param({"message": "Session not found", "code": "404"}, "404", id="hono-string-code"),
        pytest.param({"message": "Session not found", "code": 5}, 5, id="grpc-int-code"),
        pytest.param({"message": "Session not found"}, None, id="no-code"),
    ],
)
async def test_a_404_on_get_is_the_sdks_error_response(
    server: RecordingServer, core: OrqCore, body: Any, code: Any
) -> None:
    server.reply("GET", "/v2/sessions/gone", 404, body)
    result = await sessions_get(core, {"session_id": "gone"})
    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundErrorResponse)
    assert isinstance(result.error, NotFoundError)
    assert result.error.code == code
    assert result.error.details is None
    assert result.error.server_message == "Session not found"


async def test_a_404_elsewhere_is_a_plain_not_found_as_in_the_live_sdk(server: RecordingServer, core: OrqCore) -> None:
    server.reply("DELETE", "/v2/sessions/gone", 404, {"message": "Session not found"})
    result = await sessions_delete(core, {"session_id": "gone"})
    assert isinstance(result, Err)
    assert type(result.error) is NotFoundError


def test_the_2025_names_are_deprecated_aliases() -> None:
    with pytest.warns(DeprecationWarning, match="use NotFoundErrorResponse"):
        from sessionkit.orq import HonoApiError
    with pytest.warns(DeprecationWarning, match="use UnauthorizedErrorResponse"):
        from sessionkit.orq.errors import OrqAuthenticationError
    assert HonoApiError is NotFoundErrorResponse
    assert OrqAuthenticationError is UnauthorizedErrorResponse


async def test_a_non_json_401_is_still_typed_without_code(server: RecordingServer, core: OrqCore) -> None:
    server.reply("GET", "/v2/sessions/tags", 401, text="nope")
    result = await sessions_tags(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, ErrorResponse)
    assert (result.error.code, result.error.details, result.error.raw_text) == (None, None, "nope")


async def test_other_statuses_get_the_generic_errors(server: RecordingServer, core: OrqCore) -> None:
    server.reply("POST", "/v2/sessions/count", 503, {"message": "down"})
    result = await sessions_count(core, {"filters": ALL_TIME})
    assert isinstance(result, Err)
    assert type(result.error) is InternalServerError
    assert result.error.status == 503


# --- the core ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "header"),
    [
        pytest.param("abc", "Bearer abc", id="plain"),
        pytest.param("Bearer abc", "Bearer abc", id="already-prefixed"),
        pytest.param("bearer abc", "bearer abc", id="prefix-any-case"),
        pytest.param("Bearerabc", "Bearer Bearerabc", id="not-a-prefix"),
    ],
)
async def test_bearer_prefix_is_not_doubled(key: str, header: str) -> None:
    async with OrqCore(key) as core:
        assert core.auth_headers() == {"Authorization": header}


async def test_api_key_falls_back_to_env_and_server_to_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORQ_API_KEY", "from-env")
    async with OrqCore() as core:
        assert core.server_url == "https://my.orq.ai"
        assert core.auth_headers() == {"Authorization": "Bearer from-env"}
        assert "from-env" not in repr(core)
        assert "redacted" in repr(core)
    monkeypatch.setenv("ORQ_API_KEY", "")
    async with OrqCore() as core:
        assert core.auth_headers() == {}
    async with OrqCore("explicit") as core:
        assert core.auth_headers() == {"Authorization": "Bearer explicit"}


# --- sessions_list_all -------------------------------------------------------------------------


async def _collect(core: OrqCore, request: Any) -> list[Any]:
    return [r async for r in sessions_list_all(core, request)]


def _pages_sent(server: RecordingServer) -> list[Any]:
    assert all((r.method, r.path) == ("POST", QUERY) for r in server.requests)
    return [r.json["page"] for r in server.requests]


def _queue_pages(server: RecordingServer, *pages: tuple[int, Any]) -> None:
    for status, body in pages:
        server.reply("POST", QUERY, status, body)


async def test_list_all_pages_until_has_more_is_false(server: RecordingServer, core: OrqCore) -> None:
    _queue_pages(
        server,
        (200, page_json(["a", "b"], has_more=True)),
        (200, page_json(["c", "d"], has_more=True)),
        (200, page_json(["e"], has_more=False)),
        (200, page_json(["never"], has_more=False)),
    )
    results = await _collect(core, {"filters": ALL_TIME, "limit": 2})
    assert all(isinstance(r, Ok) for r in results)
    assert [r.value.id for r in results] == ["a", "b", "c", "d", "e"]
    assert _pages_sent(server) == [1, 2, 3]
    assert all(r.json == {"filters": ALL_TIME, "limit": 2, "page": r.json["page"]} for r in server.requests)


async def test_list_all_starts_at_the_requested_page_of_a_model(server: RecordingServer, core: OrqCore) -> None:
    request = ListThreadsRequest(filters=ThreadFilters(interval=SessionInterval.SESSION_INTERVAL_LAST_1_HOUR), page=5)
    _queue_pages(server, (200, page_json(["a"], has_more=True)), (200, page_json(["b"], has_more=False)))
    results = await _collect(core, request)
    assert [r.value.id for r in results] == ["a", "b"]
    assert _pages_sent(server) == [5, 6]
    assert request.page == 5  # the caller's model is not mutated


async def test_list_all_yields_the_error_once_and_stops(server: RecordingServer, core: OrqCore) -> None:
    _queue_pages(
        server,
        (200, page_json(["a"], has_more=True)),
        (500, {"message": "boom"}),
        (200, page_json(["never"], has_more=False)),
    )
    results = await _collect(core, {"filters": ALL_TIME})
    assert [type(r) for r in results] == [Ok, Err]
    assert isinstance(results[1].error, InternalServerError)
    assert _pages_sent(server) == [1, 2]


async def test_list_all_stops_on_an_empty_page_that_claims_more(server: RecordingServer, core: OrqCore) -> None:
    # The last queued reply is served forever: without the guard this would never end.
    _queue_pages(server, (200, page_json(["a"], has_more=True)), (200, page_json([], has_more=True)))
    results = await _collect(core, {"filters": ALL_TIME})
    assert [r.value.id for r in results] == ["a"]
    assert _pages_sent(server) == [1, 2]


async def test_list_all_with_a_bad_request_yields_one_invalid_request(server: RecordingServer, core: OrqCore) -> None:
    results = await _collect(core, {"limit": 3})
    assert len(results) == 1
    assert isinstance(results[0], Err)
    assert isinstance(results[0].error, InvalidRequestError)
    assert server.requests == []


async def test_list_all_ok_values_carry_the_page_metadata(server: RecordingServer, core: OrqCore) -> None:
    server.reply("POST", QUERY, 200, page_json(["a"], has_more=False))
    (result,) = await _collect(core, {"filters": ALL_TIME})
    assert isinstance(result, Ok)
    assert result.meta is not None
    assert (result.meta.operation_id, result.meta.status) == ("orq.sessions.list", 200)
