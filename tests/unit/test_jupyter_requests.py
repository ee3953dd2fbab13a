"""Jupyter sessions: the requests each function builds, and how failing statuses become errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aioresponses import aioresponses
from yarl import URL

from sessionkit import (
    APIError,
    BadRequestError,
    ConflictError,
    Err,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    Ok,
    PermissionDeniedError,
    Result,
    SessionkitError,
)
from sessionkit.jupyter import (
    CreateSessionRequest,
    JupyterCore,
    JupyterKernelError,
    KernelRef,
    Session,
    SessionUpdate,
    UpdateSessionRequest,
    sessions_create,
    sessions_delete,
    sessions_get,
    sessions_list,
    sessions_update,
)

BASE = "http://127.0.0.1:8888"
TOKEN = "unit-token"
SESSION_JSON = {
    "id": "3d29b938-3a34-4610-bb35-888c337ca019",
    "path": "nb1.ipynb",
    "name": "nb1.ipynb",
    "type": "notebook",
    "kernel": {
        "id": "99d08f9b-1b2f-42dd-ad34-c69e156f0404",
        "name": "python3",
        "last_activity": "2026-11-22T13:11:04.910908Z",
        "execution_state": "starting",
        "connections": 0,
    },
    "notebook": {"path": "nb1.ipynb", "name": "nb1.ipynb"},
}
SID = SESSION_JSON["id"]

Call = Callable[[JupyterCore], Awaitable[Result[Any, SessionkitError]]]


@pytest.fixture
def http() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


@pytest.fixture
async def core() -> AsyncIterator[JupyterCore]:
    async with JupyterCore(server_url=BASE, token=TOKEN, retries=0) as c:
        yield c


def _only_request(http: aioresponses) -> tuple[str, URL, dict[str, Any]]:
    assert len(http.requests) == 1, http.requests
    (method, url), calls = next(iter(http.requests.items()))
    assert len(calls) == 1
    return method, url, calls[0].kwargs


# --- request building --------------------------------------------------------------------------

# (name, call, method, path as sent, status, response body, expected JSON body or None)
BUILD_TABLE: list[tuple[str, Call, str, str, int, Any, Any]] = [
    (
        "create from a model",
        lambda c: sessions_create(c, CreateSessionRequest(path="nb1.ipynb")),
        "POST",
        "/api/sessions",
        201,
        SESSION_JSON,
        {"path": "nb1.ipynb", "type": "notebook"},
    ),
    (
        "create from a mapping with a kernel",
        lambda c: sessions_create(c, {"path": "c1", "type": "console", "name": "", "kernel": {"name": "python3"}}),
        "POST",
        "/api/sessions",
        201,
        SESSION_JSON,
        {"path": "c1", "type": "console", "name": "", "kernel": {"name": "python3"}},
    ),
    ("list", lambda c: sessions_list(c), "GET", "/api/sessions", 200, [SESSION_JSON], None),
    ("get", lambda c: sessions_get(c, {"session": SID}), "GET", f"/api/sessions/{SID}", 200, SESSION_JSON, None),
    (
        "update path and kernel",
        lambda c: sessions_update(
            c, UpdateSessionRequest(session=SID, model=SessionUpdate(path="x.ipynb", kernel=KernelRef(id="k1")))
        ),
        "PATCH",
        f"/api/sessions/{SID}",
        200,
        SESSION_JSON,
        {"path": "x.ipynb", "kernel": {"id": "k1"}},
    ),
    (
        "update with no changes still sends {}",  # Jupyter answers an empty body with 400
        lambda c: sessions_update(c, {"session": SID}),
        "PATCH",
        f"/api/sessions/{SID}",
        200,
        SESSION_JSON,
        {},
    ),
    ("delete", lambda c: sessions_delete(c, {"session": SID}), "DELETE", f"/api/sessions/{SID}", 204, None, None),
    (
        "ids are one percent-encoded segment",
        lambda c: sessions_get(c, {"session": "../a b/c?d#e%é"}),
        "GET",
        "/api/sessions/..%2Fa%20b%2Fc%3Fd%23e%25%C3%A9",
        200,
        SESSION_JSON,
        None,
    ),
    (
        "delete encodes too",
        lambda c: sessions_delete(c, {"session": "../../api/x"}),
        "DELETE",
        "/api/sessions/..%2F..%2Fapi%2Fx",
        204,
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "call", "method", "path", "status", "reply", "body"), BUILD_TABLE, ids=[c[0] for c in BUILD_TABLE]
)
async def test_request_building(
    http: aioresponses,
    core: JupyterCore,
    case: str,
    call: Call,
    method: str,
    path: str,
    status: int,
    reply: Any,
    body: Any,
) -> None:
    url = URL(BASE + path, encoded=True)
    if reply is None:
        http.add(url, method, status=status, body="")
    else:
        http.add(url, method, status=status, payload=reply)

    result = await call(core)

    assert isinstance(result, Ok), result
    assert result.meta is not None
    assert result.meta.status == status
    sent_method, sent_url, kwargs = _only_request(http)
    assert sent_method == method
    assert sent_url.raw_path == path
    assert str(sent_url) == BASE + path
    headers = kwargs["headers"]
    assert headers["Authorization"] == f"token {TOKEN}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("sessionkit-python/")
    if body is None:
        assert kwargs["data"] is None
        assert "Content-Type" not in headers
    else:
        assert headers["Content-Type"] == "application/json"
        assert json.loads(kwargs["data"]) == body
    if reply is None:
        assert result.value is None
    elif isinstance(reply, list):
        assert [s.id for s in result.value] == [SID]
    else:
        assert isinstance(result.value, Session)
        assert result.value.id == SID
        assert result.value.kernel is not None
        assert result.value.kernel.last_activity is not None
        assert result.value.kernel.last_activity.isoformat() == "2026-11-22T13:11:04.910908+00:00"


# --- status to error ---------------------------------------------------------------------------

HTML_404 = "<!DOCTYPE HTML>\n<html><head><title>Jupyter Server: 404 : Not Found</title></head><body>404</body></html>"

# (status, body, content type, error class, server message)
ERROR_TABLE: list[tuple[int, str, str, type[APIError], str | None]] = [
    (
        400,
        '{"message": "No JSON data provided", "reason": null}',
        "application/json",
        BadRequestError,
        "No JSON data provided",
    ),
    (403, '{"message": "Forbidden", "reason": null}', "application/json", PermissionDeniedError, "Forbidden"),
    (
        404,
        f'{{"message": "Session not found: session_id=\'{SID}\'", "reason": null}}',
        "application/json",
        NotFoundError,
        f"Session not found: session_id='{SID}'",
    ),
    (
        409,
        '{"message": "Kernel already exists", "reason": null}',
        "application/json",
        ConflictError,
        "Kernel already exists",
    ),
    (
        500,
        '{"message": "Unhandled error", "reason": null, "traceback": ""}',
        "application/json",
        InternalServerError,
        "Unhandled error",
    ),
    (
        501,
        '{"message": "The \'nope\' kernel is not available.", "short_message": "nope not found"}',
        "application/json",
        JupyterKernelError,
        "The 'nope' kernel is not available.",
    ),
    (404, HTML_404, "text/html", NotFoundError, None),
]

ERROR_CALLS: list[tuple[str, Call, str, str]] = [
    ("create", lambda c: sessions_create(c, {"path": "p"}), "POST", "/api/sessions"),
    ("get", lambda c: sessions_get(c, {"session": SID}), "GET", f"/api/sessions/{SID}"),
    ("delete", lambda c: sessions_delete(c, {"session": SID}), "DELETE", f"/api/sessions/{SID}"),
]


@pytest.mark.parametrize(("op", "call", "method", "path"), ERROR_CALLS, ids=[c[0] for c in ERROR_CALLS])
@pytest.mark.parametrize(
    ("status", "text", "content_type", "error", "message"),
    ERROR_TABLE,
    ids=[f"{e[0]}-{e[2].split('/')[1]}" for e in ERROR_TABLE],
)
async def test_status_to_error(
    http: aioresponses,
    core: JupyterCore,
    op: str,
    call: Call,
    method: str,
    path: str,
    status: int,
    text: str,
    content_type: str,
    error: type[APIError],
    message: str | None,
) -> None:
    http.add(BASE + path, method, status=status, body=text, content_type=content_type)

    result = await call(core)

    assert isinstance(result, Err)
    err = result.error
    assert type(err) is error
    assert isinstance(err, APIError)
    assert err.status == status
    assert err.server_message == message
    assert err.raw_text == text
    assert err.operation_id == f"jupyter.sessions.{op}"
    assert err.attempts == 1
    if message is None:
        assert err.body is None
        assert "<" not in str(err)  # an HTML page is not pasted into the message
    else:
        assert err.body == json.loads(text)
        assert message in str(err)
    assert TOKEN not in str(err)
    assert TOKEN not in repr(err)


async def test_a_500_is_retried_by_default(http: aioresponses) -> None:
    http.get(BASE + "/api/sessions", status=500, payload={"message": "boom", "reason": None}, repeat=True)
    async with JupyterCore(server_url=BASE, token=TOKEN, retries=1) as c:
        result = await sessions_list(c, options=None)
    assert isinstance(result, Err)
    assert isinstance(result.error, InternalServerError)
    assert result.error.attempts == 2


# --- invalid input -----------------------------------------------------------------------------

INVALID_TABLE: list[tuple[str, Call, str]] = [
    ("path not a string", lambda c: sessions_create(c, {"path": 1}), "$.path"),
    ("path missing", lambda c: sessions_create(c, {"type": "notebook"}), "$.path"),
    ("type null", lambda c: sessions_create(c, {"path": "p", "type": None}), "$.type"),
    ("kernel not an object", lambda c: sessions_create(c, {"path": "p", "kernel": "python3"}), "$.kernel"),
    (
        "nested kernel name",
        lambda c: sessions_update(c, {"session": SID, "model": {"kernel": {"name": 5}}}),
        "$.model.kernel.name",
    ),
    ("model not an object", lambda c: sessions_update(c, {"session": SID, "model": []}), "$.model"),
    ("empty id", lambda c: sessions_get(c, {"session": ""}), "$.session"),
    ("no id", lambda c: sessions_delete(c, {}), "$.session"),
    ("None for a request", lambda c: sessions_get(c, None), "$.session"),  # type: ignore[arg-type]
    ("not a mapping", lambda c: sessions_get(c, ["x"]), "$"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("case", "call", "field_path"), INVALID_TABLE, ids=[c[0] for c in INVALID_TABLE])
async def test_invalid_input_is_reported_and_nothing_is_sent(
    http: aioresponses, core: JupyterCore, case: str, call: Call, field_path: str
) -> None:
    result = await call(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == field_path
    assert field_path in str(result.error)
    assert result.error.attempts == 0
    assert not http.requests


# --- credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "token", "expected"),
    [
        ("env-token", None, "token env-token"),
        ("env-token", "explicit", "token explicit"),
        (None, None, None),
        ("", None, None),  # an empty variable counts as unset
    ],
)
async def test_token_and_jupyter_token_env_fallback(
    http: aioresponses, monkeypatch: pytest.MonkeyPatch, env: str | None, token: str | None, expected: str | None
) -> None:
    if env is None:
        monkeypatch.delenv("JUPYTER_TOKEN", raising=False)
    else:
        monkeypatch.setenv("JUPYTER_TOKEN", env)
    http.get(BASE + "/api/sessions", payload=[])
    async with JupyterCore(server_url=BASE, token=token) as c:
        result = await sessions_list(c)
    assert result == Ok([])
    _, _, kwargs = _only_request(http)
    assert kwargs["headers"].get("Authorization") == expected
