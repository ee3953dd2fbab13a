"""Mix sessions against Prism mocks of the v0.11.4, v0.10.1 and v0.1.1 documents, request validation on.

Every JSON operation a document has is called once with a valid request and must be accepted and
decode; the file download (binary) is read to its end. The event stream has its own tests
(tests/reliability/test_sse*.py): Prism cannot serve a live event stream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sessionkit import (
    APIError,
    AuthenticationError,
    BadRequestError,
    Err,
    InternalServerError,
    NotFoundError,
    Ok,
    RequestOptions,
)
from sessionkit.mix import (
    OPERATIONS,
    BrowserMode,
    ByteStream,
    Callback,
    CallbackType,
    CreateSessionRequest,
    ErrorType,
    Message,
    MessageAccepted,
    MixCore,
    MixDefaultError,
    PermissionDenied,
    PermissionGranted,
    PromptMode,
    RESTResponseError,
    SessionData,
    SessionType,
    ThinkingLevel,
    Upload,
    messages_history,
    notifications_respond,
    permissions_deny,
    permissions_grant,
    sessions_callbacks_update,
    sessions_cancel,
    sessions_create,
    sessions_delete,
    sessions_export,
    sessions_files_delete,
    sessions_files_download,
    sessions_files_list,
    sessions_files_upload,
    sessions_fork,
    sessions_get,
    sessions_list,
    sessions_messages_list,
    sessions_messages_send,
    sessions_rewind,
)
from tests._support import prism
from tests._support.prism import PrismServer, assert_no_violation, prism_error

pytestmark = pytest.mark.contract

V0114, V0101, V011 = "prism_mix_0114", "prism_mix_0101", "prism_mix_011"
Call = Callable[[MixCore, RequestOptions], Awaitable[Ok[Any] | Err[Any]]]
BROWSER: Any = {"title": "t", "browser_mode": "local-browser-service"}
CALLBACKS: Any = {"id": "s-1", "callbacks": [{"tool_name": "*", "type": "bash_script", "bash_command": "ls"}]}
UPLOAD: Any = {"id": "s-1", "file": Upload(b"hello", filename="a.txt", content_type="text/plain")}

# The calls of 0.10+ documents (0.11.4 and 0.10.1 differ in create and fork only).
CURRENT: dict[str, Call] = {
    "list": lambda c, o: sessions_list(c, options=o),
    "list#subagents": lambda c, o: sessions_list(c, {"include_subagents": True}, options=o),
    "get": lambda c, o: sessions_get(c, {"id": "s-1"}, options=o),
    "delete": lambda c, o: sessions_delete(c, {"id": "s-1"}, options=o),
    "cancel": lambda c, o: sessions_cancel(c, {"id": "s-1"}, options=o),
    "messages.list": lambda c, o: sessions_messages_list(c, {"id": "s-1"}, options=o),
    "messages.send": lambda c, o: sessions_messages_send(c, {"id": "s-1", "text": "hi"}, options=o),
    "rewind": lambda c, o: sessions_rewind(c, {"id": "s-1", "message_id": "m-1"}, options=o),
    "export": lambda c, o: sessions_export(c, {"id": "s-1"}, options=o),
    "callbacks.update": lambda c, o: sessions_callbacks_update(c, CALLBACKS, options=o),
    "callbacks.update#clear": lambda c, o: sessions_callbacks_update(c, {"id": "s-1", "callbacks": []}, options=o),
    "files.list": lambda c, o: sessions_files_list(c, {"id": "s-1"}, options=o),
    "files.upload": lambda c, o: sessions_files_upload(c, UPLOAD, options=o),
    "files.download": lambda c, o: sessions_files_download(c, {"id": "s-1", "filename": "a.txt"}, options=o),
    "files.delete": lambda c, o: sessions_files_delete(c, {"id": "s-1", "filename": "a.txt"}, options=o),
    "permissions.grant": lambda c, o: permissions_grant(c, {"id": "perm-1"}, options=o),
    "permissions.deny": lambda c, o: permissions_deny(c, {"id": "perm 1/x"}, options=o),
    "messages.history": lambda c, o: messages_history(c, options=o),
    "messages.history#paged": lambda c, o: messages_history(c, {"limit": 1000, "offset": 0}, options=o),
}
# Answering a notification: 0.11.1+ only.
NOTIFICATIONS: dict[str, Call] = {
    "notifications.respond": lambda c, o: notifications_respond(c, {"id": "n-1", "type": "acknowledge"}, options=o),
    "notifications.respond#text": lambda c, o: notifications_respond(
        c, {"id": "n-1", "type": "text", "value": "yes, go on"}, options=o
    ),
    "notifications.respond#choice": lambda c, o: notifications_respond(
        c, {"id": "n 1", "type": "choice", "value": "main"}, options=o
    ),
}
# One valid call per operation and document version.
CALLS: dict[str, dict[str, Call]] = {
    V0114: {
        **CURRENT,
        **NOTIFICATIONS,
        "create": lambda c, o: sessions_create(c, BROWSER, options=o),
    },
    V0101: {
        **CURRENT,
        "create": lambda c, o: sessions_create(c, {"title": "t"}, options=o),
        "fork": lambda c, o: sessions_fork(c, {"id": "s-1", "message_index": 0}, options=o),
    },
    V011: {
        "list": lambda c, o: sessions_list(c, options=o),
        "create": lambda c, o: sessions_create(c, {"title": "t", "working_directory": "/w"}, options=o),
        "get": lambda c, o: sessions_get(c, {"id": "s-1"}, options=o),
        "fork": lambda c, o: sessions_fork(c, {"id": "s-1"}, options=o),
        "delete": lambda c, o: sessions_delete(c, {"id": "s-1"}, options=o),
        "cancel": lambda c, o: sessions_cancel(c, {"id": "s-1"}, options=o),
        "messages.list": lambda c, o: sessions_messages_list(c, {"id": "s-1"}, options=o),
        "messages.send": lambda c, o: sessions_messages_send(c, {"id": "s-1", "content": "hi"}, options=o),
        "permissions.grant": lambda c, o: permissions_grant(c, {"id": "perm-1"}, options=o),
        "permissions.deny": lambda c, o: permissions_deny(c, {"id": "perm-1"}, options=o),
        "messages.history": lambda c, o: messages_history(c, {"limit": 5, "offset": 10}, options=o),
    },
}
ALL_CALLS = [pytest.param(v, name, id=f"{v}-{name}") for v, calls in CALLS.items() for name in calls]
RESPONSES = {entry.operation.id: entry.operation.response for entry in OPERATIONS}

# Answering a permission, and the history: every version declares the same errors.
_ANSWER_ERRORS = [
    ("permissions.grant", 401, AuthenticationError),
    ("permissions.grant", 404, NotFoundError),
    ("permissions.grant", 500, InternalServerError),
    ("permissions.deny", 401, AuthenticationError),
    ("permissions.deny", 404, NotFoundError),
    ("permissions.deny", 500, InternalServerError),
    ("messages.history", 401, AuthenticationError),
    ("messages.history", 500, InternalServerError),
]
_CURRENT_ERRORS = [
    ("list", 401, AuthenticationError),
    ("list", 500, InternalServerError),
    ("create", 400, BadRequestError),
    ("get", 404, NotFoundError),
    ("delete", 404, NotFoundError),
    ("cancel", 404, NotFoundError),
    ("messages.list", 404, NotFoundError),
    ("messages.send", 400, BadRequestError),
    ("messages.send", 404, NotFoundError),
    ("rewind", 400, BadRequestError),
    ("rewind", 404, NotFoundError),
    ("export", 404, NotFoundError),
    ("export", 500, InternalServerError),
    ("callbacks.update", 400, BadRequestError),
    ("callbacks.update", 404, NotFoundError),
    ("files.list", 404, NotFoundError),
    ("files.upload", 400, BadRequestError),
    ("files.upload", 404, NotFoundError),
    ("files.upload", 413, APIError),  # 413 has no class of its own
    ("files.download", 400, BadRequestError),
    ("files.download", 404, NotFoundError),
    ("files.delete", 400, BadRequestError),
    ("files.delete", 404, NotFoundError),
    *_ANSWER_ERRORS,
]
# Every error status each document declares for each operation, and the generic class it must also be.
DECLARED_ERRORS = {
    V0114: [
        *_CURRENT_ERRORS,
        ("notifications.respond", 401, AuthenticationError),
        ("notifications.respond", 404, NotFoundError),  # "not found or already responded"
        ("notifications.respond", 500, InternalServerError),
    ],
    V0101: [*_CURRENT_ERRORS, ("fork", 400, BadRequestError), ("fork", 404, NotFoundError)],
    V011: [
        ("list", 401, AuthenticationError),
        ("list", 500, InternalServerError),
        ("create", 400, BadRequestError),
        ("get", 404, NotFoundError),
        ("fork", 404, NotFoundError),
        ("delete", 404, NotFoundError),
        ("cancel", 404, NotFoundError),
        ("messages.list", 404, NotFoundError),
        ("messages.send", 400, BadRequestError),
        ("messages.send", 404, NotFoundError),
        *_ANSWER_ERRORS,
    ],
}
ALL_ERRORS = [
    pytest.param(v, name, status, generic, id=f"{v}-{name}-{status}")
    for v, rows in DECLARED_ERRORS.items()
    for name, status, generic in rows
]
NO_RETRY = RequestOptions(retries=0)


def _op_id(name: str) -> str:
    base = name.split("#")[0]
    if base.startswith(("permissions.", "notifications.")) or base == "messages.history":
        return "mix." + base  # not operations on one session
    return "mix.sessions." + base


def _options(**headers: str) -> RequestOptions:
    return RequestOptions(retries=0, headers=headers)


async def _call(server: PrismServer, version: str, name: str, options: RequestOptions) -> Ok[Any] | Err[Any]:
    """The call's result; a downloaded body is read to its end here (its bytes in `received`)."""
    async with MixCore(server.url) as core:
        result = await CALLS[version][name](core, options)
        if isinstance(result, Ok) and isinstance(result.value, ByteStream):
            async with result.value as body:
                chunks = [chunk async for chunk in body]
            assert all(isinstance(c, Ok) for c in chunks), chunks
        return result


def _check_session(session: SessionData, version: str) -> None:
    assert isinstance(session, SessionData)
    assert isinstance(session.created_at, datetime)
    assert session.created_at.tzinfo is not None
    if version == V011:
        assert session.session_type is None
    else:
        assert isinstance(session.session_type, SessionType)
    if version == V0114:
        assert isinstance(session.browser_mode, BrowserMode)


def _check(value: Any, version: str, name: str) -> None:
    expected = RESPONSES[_op_id(name)]
    if expected is SessionData:
        _check_session(value, version)
    elif expected is ByteStream:
        assert value.received > 0
        assert value.closed
    elif isinstance(value, list):
        assert value, "Prism's example list has one item"
        for item in value:
            assert isinstance(item, expected.__args__[0])
            if isinstance(item, SessionData):
                _check_session(item, version)
    else:
        assert isinstance(value, expected)


@pytest.mark.parametrize(("version", "name"), ALL_CALLS)
async def test_every_operation_is_accepted_and_decodes(request: pytest.FixtureRequest, version: str, name: str) -> None:
    server: PrismServer = request.getfixturevalue(version)
    result = await _call(server, version, name, NO_RETRY)
    assert_no_violation(result)
    assert isinstance(result, Ok), result
    assert result.meta is not None
    if RESPONSES[_op_id(name)] is None:
        assert result.value is None
        assert result.meta.status == 204
    else:
        _check(result.value, version, name)


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


async def test_create_with_every_0114_field_is_accepted(prism_mix_0114: PrismServer) -> None:
    request = CreateSessionRequest(
        title="review",
        browser_mode=BrowserMode.REMOTE_CDP_WEBSOCKET,
        cdp_url="wss://connect.example/v1/sessions/abc",
        model_id="gemini-3-flash-preview",
        provider="gemini",
        custom_system_prompt="Be brief.",
        prompt_mode=PromptMode.REPLACE,
        session_type=SessionType.MAIN,
        callbacks=[Callback(tool_name="*", type=CallbackType.SEND_MESSAGE, message_content="go on")],
    )
    async with MixCore(prism_mix_0114.url) as core:
        result = await sessions_create(core, request, options=NO_RETRY)
    assert_no_violation(result)
    assert isinstance(result, Ok), result
    assert isinstance(result.value.browser_mode, BrowserMode)


async def test_every_optional_field_of_send_rewind_and_download_is_accepted(prism_mix_0114: PrismServer) -> None:
    send = {"id": "s-1", "text": "plan it", "plan_mode": True, "thinking_level": ThinkingLevel.MAXIMUM, "max_steps": 25}
    async with MixCore(prism_mix_0114.url) as core:
        sent = await sessions_messages_send(core, send, options=NO_RETRY)
        rewound = await sessions_rewind(
            core, {"id": "s-1", "message_id": "m-1", "cleanup_media": False}, options=NO_RETRY
        )
        for thumb, time in [("100", None), ("w100", 1.5), ("h64", 86400.0)]:
            request: Any = {"id": "s-1", "filename": "v.mp4", "thumb": thumb, "time": time}
            got = await sessions_files_download(core, request, options=NO_RETRY)
            assert_no_violation(got)
            assert isinstance(got, Ok), got
            await got.value.aclose()
    for result in (sent, rewound):
        assert_no_violation(result)
        assert isinstance(result, Ok), result
    assert isinstance(sent.value, MessageAccepted)
    assert sent.value.status == "processing"


async def test_upload_from_a_path_and_from_an_async_source_is_accepted(
    prism_mix_0114: PrismServer, tmp_path: Path
) -> None:
    path = tmp_path / "notes é.txt"
    path.write_bytes(b"x" * 200_000)

    async def chunks() -> Any:
        for _ in range(4):
            yield b"y" * 50_000

    async with MixCore(prism_mix_0114.url) as core:
        from_path = await sessions_files_upload(core, {"id": "s-1", "file": str(path)}, options=NO_RETRY)
        streamed = Upload(chunks(), filename="stream.bin")
        from_iterator = await sessions_files_upload(core, {"id": "s-1", "file": streamed}, options=NO_RETRY)
    for result in (from_path, from_iterator):
        assert_no_violation(result)
        assert isinstance(result, Ok), result


async def test_0114_requires_browser_mode_on_create(prism_mix_0114: PrismServer) -> None:
    async with MixCore(prism_mix_0114.url) as core:
        result = await sessions_create(core, {"title": "t"}, options=NO_RETRY)
    with pytest.raises(AssertionError, match="browserMode"):
        assert_no_violation(result)


async def test_0114_has_no_fork(prism_mix_0114: PrismServer) -> None:
    async with MixCore(prism_mix_0114.url) as core:
        result = await sessions_fork(core, {"id": "s-1", "message_index": 0}, options=NO_RETRY)
    assert isinstance(result, Err)
    assert isinstance(result.error, MixDefaultError)
    assert prism_error(result.error.body) == "NO_PATH_MATCHED_ERROR"


async def test_011_send_answers_with_the_message(prism_mix_011: PrismServer) -> None:
    async with MixCore(prism_mix_011.url) as core:
        result = await sessions_messages_send(core, {"id": "s-1", "content": "hi"}, options=NO_RETRY)
    assert isinstance(result, Ok), result
    assert result.value.status is None
    assert isinstance(result.value.message, Message)
    assert result.value.session_id == result.value.message.session_id


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
    assert error.operation_id == _op_id(name)


@pytest.mark.parametrize("version", [V0114, V0101, V011])
async def test_dynamic_error_bodies_are_typed(request: pytest.FixtureRequest, version: str) -> None:
    server: PrismServer = request.getfixturevalue(version)
    for _ in range(5):
        result = await _call(server, version, "get", _options(Prefer="code=404, dynamic=true"))
        assert_no_violation(result)
        assert isinstance(result, Err), result
        assert isinstance(result.error, RESTResponseError)
        assert isinstance(result.error, NotFoundError)
        assert isinstance(result.error.error_message, str)


@pytest.mark.parametrize("version", [V0114, V0101, V011])
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


@pytest.mark.parametrize("version", [V0114, V0101, V011])
async def test_a_permission_answer_decodes_as_what_the_server_recorded(
    request: pytest.FixtureRequest, version: str
) -> None:
    server: PrismServer = request.getfixturevalue(version)
    async with MixCore(server.url) as core:
        granted = await permissions_grant(core, {"id": "perm-1"}, options=NO_RETRY)
        denied = await permissions_deny(core, {"id": "perm-1"}, options=NO_RETRY)
    for result in (granted, denied):
        assert_no_violation(result)
        assert isinstance(result, Ok), result
    assert isinstance(granted.value, PermissionGranted)
    assert isinstance(denied.value, PermissionDenied)
    assert isinstance(granted.value.granted, bool)  # the 0.1.1 envelope's `data` is unwrapped too
    assert isinstance(denied.value.denied, bool)


async def test_a_text_answer_without_its_value_is_refused_before_sending(prism_mix_0114: PrismServer) -> None:
    async with MixCore(prism_mix_0114.url) as core:
        text_without_value = await notifications_respond(core, {"id": "n-1", "type": "text"}, options=NO_RETRY)
        unknown_type = await notifications_respond(core, {"id": "n-1", "type": "shout"}, options=NO_RETRY)
    assert isinstance(text_without_value, Err)
    assert text_without_value.error.field_path == "$.value"
    # An unknown type is kept (open enum) and sent: the document refuses it, and the harness sees that.
    with pytest.raises(AssertionError, match="must be equal to one of the allowed values"):
        assert_no_violation(unknown_type)


async def test_history_outside_its_bounds_is_refused_before_sending(prism_mix_0114: PrismServer) -> None:
    async with MixCore(prism_mix_0114.url) as core:
        too_many = await messages_history(core, {"limit": 1001}, options=NO_RETRY)
        negative = await messages_history(core, {"offset": -1}, options=NO_RETRY)
    assert isinstance(too_many, Err)
    assert too_many.error.field_path == "$.limit"
    assert isinstance(negative, Err)
    assert negative.error.field_path == "$.offset"
