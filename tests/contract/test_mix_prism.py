"""Mix sessions against Prism mocks of the v0.10.1 and v0.1.1 documents, request validation on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sessionkit import (
    AuthenticationError,
    BadRequestError,
    Err,
    InternalServerError,
    NotFoundError,
    Ok,
    RequestOptions,
)
from sessionkit.mix import (
    Callback,
    CallbackType,
    CreateSessionRequest,
    ErrorType,
    MixCore,
    MixDefaultError,
    PromptMode,
    RESTResponseError,
    SessionData,
    SessionType,
    sessions_create,
    sessions_delete,
    sessions_fork,
    sessions_get,
    sessions_list,
)
from tests._support import prism
from tests._support.prism import PrismServer, assert_no_violation, prism_error

pytestmark = pytest.mark.contract

V0101, V011 = "prism_mix_0101", "prism_mix_011"
Call = Callable[[MixCore, RequestOptions], Awaitable[Ok[Any] | Err[Any]]]

# One valid call per operation and document version.
CALLS: dict[str, dict[str, Call]] = {
    V0101: {
        "list": lambda c, o: sessions_list(c, options=o),
        "list_subagents": lambda c, o: sessions_list(c, {"include_subagents": True}, options=o),
        "create": lambda c, o: sessions_create(c, {"title": "t"}, options=o),
        "get": lambda c, o: sessions_get(c, {"id": "s-1"}, options=o),
        "fork": lambda c, o: sessions_fork(c, {"id": "s-1", "message_index": 0}, options=o),
        "delete": lambda c, o: sessions_delete(c, {"id": "s-1"}, options=o),
    },
    V011: {
        "list": lambda c, o: sessions_list(c, options=o),
        "create": lambda c, o: sessions_create(c, {"title": "t", "working_directory": "/w"}, options=o),
        "get": lambda c, o: sessions_get(c, {"id": "s-1"}, options=o),
        "fork": lambda c, o: sessions_fork(c, {"id": "s-1"}, options=o),
        "delete": lambda c, o: sessions_delete(c, {"id": "s-1"}, options=o),
    },
}
ALL_CALLS = [pytest.param(v, name, id=f"{v}-{name}") for v, calls in CALLS.items() for name in calls]

# Every error status each document declares for each operation, and the generic class it must also be.
DECLARED_ERRORS = {
    V0101: [
        ("list", 401, AuthenticationError),
        ("list", 500, InternalServerError),
        ("create", 400, BadRequestError),
        ("get", 404, NotFoundError),
        ("fork", 400, BadRequestError),
        ("fork", 404, NotFoundError),
        ("delete", 404, NotFoundError),
    ],
    V011: [
        ("list", 401, AuthenticationError),
        ("list", 500, InternalServerError),
        ("create", 400, BadRequestError),
        ("get", 404, NotFoundError),
        ("fork", 404, NotFoundError),
        ("delete", 404, NotFoundError),
    ],
}
ALL_ERRORS = [
    pytest.param(v, name, status, generic, id=f"{v}-{name}-{status}")
    for v, rows in DECLARED_ERRORS.items()
    for name, status, generic in rows
]
NO_RETRY = RequestOptions(retries=0)


def _options(**headers: str) -> RequestOptions:
    return RequestOptions(retries=0, headers=headers)


async def _call(server: PrismServer, version: str, name: str, options: RequestOptions) -> Ok[Any] | Err[Any]:
    async with MixCore(server.url) as core:
        return await CALLS[version][name](core, options)


def _check_session(session: SessionData, version: str) -> None:
    assert isinstance(session, SessionData)
    assert isinstance(session.created_at, datetime)
    assert session.created_at.tzinfo is not None
    if version == V0101:
        assert isinstance(session.session_type, SessionType)
    else:
        assert session.session_type is None


@pytest.mark.parametrize(("version", "name"), ALL_CALLS)
async def test_every_operation_is_accepted_and_decodes(request: pytest.FixtureRequest, version: str, name: str) -> None:
    server: PrismServer = request.getfixturevalue(version)
    result = await _call(server, version, name, NO_RETRY)
    assert_no_violation(result)
    assert isinstance(result, Ok), result
    value: Any = result.value
    if name == "delete":
        assert value is None
        assert result.meta is not None
        assert result.meta.status == 204
    elif name.startswith("list"):
        assert isinstance(value, list)
        assert value, "Prism's example list has one session"
        for session in value:
            _check_session(session, version)
    else:
        _check_session(value, version)


@pytest.mark.parametrize(("version", "name"), ALL_CALLS)
async def test_dynamic_bodies_decode(request: pytest.FixtureRequest, version: str, name: str) -> None:
    server: PrismServer = request.getfixturevalue(version)
    for _ in range(8):
        result = await _call(server, version, name, _options(Prefer="dynamic=true"))
        assert_no_violation(result)
        assert isinstance(result, Ok), result


async def test_example_values_decode_into_the_model(prism_mix_0101: PrismServer) -> None:
    async with MixCore(prism_mix_0101.url) as core:
        result = await sessions_get(core, {"id": "s-1"}, options=NO_RETRY)
    assert isinstance(result, Ok), result
    session = result.value
    assert session.session_type is SessionType.MAIN
    assert session.created_at == datetime.fromisoformat("2019-08-24T14:15:22+00:00")
    assert session.callbacks is not None
    assert session.callbacks[0].type is CallbackType.BASH_SCRIPT
    assert session.callbacks[0].tool_name == "*"


async def test_v011_envelope_is_unwrapped(prism_mix_011: PrismServer) -> None:
    async with MixCore(prism_mix_011.url) as core:
        result = await sessions_get(core, {"id": "s-1"}, options=NO_RETRY)
    assert isinstance(result, Ok), result
    assert result.value.working_directory == "string"
    assert result.value.title == "string"


async def test_create_with_every_field_is_accepted(prism_mix_0101: PrismServer) -> None:
    request = CreateSessionRequest(
        title="review",
        custom_system_prompt="Be brief about $<domain>.",
        prompt_mode=PromptMode.APPEND,
        session_type=SessionType.MAIN,
        callbacks=[
            Callback(tool_name="*", type=CallbackType.BASH_SCRIPT, bash_command="echo hi", bash_timeout=1000),
            Callback(tool_name="Write", type=CallbackType.SEND_MESSAGE, message_content="run the tests", name="n"),
            Callback(
                tool_name="Bash",
                type=CallbackType.SUB_AGENT,
                sub_agent_prompt="check",
                sub_agent_type="general-purpose",
                exclude_from_context=True,
                include_full_history=False,
            ),
        ],
    )
    async with MixCore(prism_mix_0101.url) as core:
        result = await sessions_create(core, request, options=NO_RETRY)
    assert_no_violation(result)
    assert isinstance(result, Ok), result


async def test_fork_with_title_is_accepted(prism_mix_0101: PrismServer) -> None:
    async with MixCore(prism_mix_0101.url) as core:
        result = await sessions_fork(core, {"id": "s 1/x", "message_index": 3, "title": "branch"}, options=NO_RETRY)
    assert_no_violation(result)
    assert isinstance(result, Ok), result


async def test_a_request_the_document_rejects_is_caught(prism_mix_0101: PrismServer) -> None:
    # 0.10.1 requires a fork body; without message_index none is sent. The harness must notice.
    async with MixCore(prism_mix_0101.url) as core:
        result = await sessions_fork(core, {"id": "s-1"}, options=NO_RETRY)
    assert isinstance(result, Err)
    with pytest.raises(AssertionError, match="violates the document"):
        assert_no_violation(result)


@pytest.mark.parametrize(("version", "name", "status", "generic"), ALL_ERRORS)
async def test_declared_errors_are_typed(
    request: pytest.FixtureRequest, version: str, name: str, status: int, generic: type[Exception]
) -> None:
    server: PrismServer = request.getfixturevalue(version)
    result = await _call(server, version, name, _options(Prefer=f"code={status}"))
    assert_no_violation(result)
    assert isinstance(result, Err), result
    error = result.error
    assert isinstance(error, RESTResponseError)
    assert isinstance(error, generic)
    assert error.status == status
    wire_error = error.body["error"]  # Prism's example: the first named one, else generated from the schema
    assert error.code == wire_error["code"]
    assert isinstance(error.code, int)
    assert error.error_type == ErrorType(wire_error["type"])
    assert error.error_message == wire_error["message"]
    assert error.server_message == wire_error["message"]
    assert error.operation_id == f"mix.sessions.{name.split('_')[0]}"


@pytest.mark.parametrize("version", [V0101, V011])
async def test_dynamic_error_bodies_are_typed(request: pytest.FixtureRequest, version: str) -> None:
    server: PrismServer = request.getfixturevalue(version)
    for _ in range(5):
        result = await _call(server, version, "get", _options(Prefer="code=404, dynamic=true"))
        assert_no_violation(result)
        assert isinstance(result, Err), result
        assert isinstance(result.error, RESTResponseError)
        assert isinstance(result.error, NotFoundError)
        assert isinstance(result.error.error_message, str)


@pytest.mark.parametrize("version", [V0101, V011])
async def test_undeclared_status_is_the_default_error(request: pytest.FixtureRequest, version: str) -> None:
    # get declares no 500: Prism answers with its own problem+json 404, which carries no RESTError.
    server: PrismServer = request.getfixturevalue(version)
    result = await _call(server, version, "get", _options(Prefer="code=500"))
    assert_no_violation(result, allow=("NOT_FOUND",))
    assert isinstance(result, Err), result
    error = result.error
    assert prism_error(error.body) == "NOT_FOUND"
    assert isinstance(error, MixDefaultError)
    assert isinstance(error, NotFoundError)
    assert not isinstance(error, RESTResponseError)


def test_missing_prism_fails_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(prism, "PRISM_BIN", tmp_path / "node_modules" / ".bin" / "prism")
    with pytest.raises(pytest.fail.Exception, match="npm ci"):
        prism.start_prism(tmp_path / "spec.yaml")


def test_missing_specs_dir_skips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SESSIONKIT_SPECS_DIR", str(tmp_path / "absent"))
    assert prism.specs_dir() is None
    with pytest.raises(pytest.skip.Exception, match="SESSIONKIT_SPECS_DIR"):
        prism.spec_path("mix/out.openapi.v0.10.1.yaml")
