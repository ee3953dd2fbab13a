"""Mix 0.11 fields and the operations beyond CRUD: what goes on the wire, how each generation's
reply decodes, and what is refused before sending (aioresponses: no server)."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from sessionkit import Err, InvalidRequestError, Ok, RequestOptions, ResponseValidationError, RetryConfig
from sessionkit.mix import (
    BrowserMode,
    CallbackType,
    ForkSessionRequest,
    MessageRole,
    MixCore,
    RESTResponseNotFoundError,
    SendMessageRequest,
    Upload,
    UploadFileRequest,
    sessions_callbacks_update,
    sessions_cancel,
    sessions_create,
    sessions_files_download,
    sessions_files_upload,
    sessions_fork,
    sessions_get,
    sessions_messages_list,
    sessions_messages_send,
    sessions_rewind,
)
from sessionkit.testing import FakeClock
from tests.unit.test_all_operations_requests import rendered_payload

BASE = "http://localhost:8088"
S1 = f"{BASE}/api/sessions/s-1"
SESSION = {
    "id": "s-1",
    "title": "Review",
    "sessionType": "main",
    "browserMode": "local-browser-service",
    "modelId": "gemini-3-flash-preview",
    "provider": "gemini",
    "userMessageCount": 0,
    "assistantMessageCount": 0,
    "toolCallCount": 0,
    "promptTokens": 0,
    "completionTokens": 0,
    "cost": 0.0,
    "createdAt": "2026-02-17T10:00:00Z",
}
BACKEND_MESSAGE = {
    "id": "m-2",
    "sessionId": "s-1",
    "role": "assistant",
    "userInput": "",
    "assistantResponse": "done",
    "toolCalls": [
        {
            "id": "t1",
            "name": "Bash",
            "input": '{"cmd":"ls"}',
            "type": "tool_use",
            "finished": True,
            "screenshotUrls": [],
        }
    ],
    "callbackResults": [{"tool_call_id": "t1", "tool_name": "Bash", "callback_type": "bash_script", "success": True}],
    "cost": 0.01,
    "model": "claude-sonnet-4",
    "inputTokens": 10,
    "outputTokens": 5,
    "cacheCreationTokens": 1,
    "cacheReadTokens": 2,
}
FILE_INFO = {"name": "a.txt", "size": 5, "modified": 1_771_322_400, "isDir": False, "url": "/files/s-1/a.txt"}
QUICK = RetryConfig(max_retries=2, initial_wait=0.01, jitter=False)


@pytest.fixture
def http() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def sent(m: aioresponses) -> list[Any]:
    return [call for calls in m.requests.values() for call in calls]


def body_of(call: Any) -> Any:
    return json.loads(call.kwargs["data"])


# --- 0.11 sessions ------------------------------------------------------------------------------------


async def test_011_session_fields_decode_and_unknown_modes_are_kept(http: aioresponses) -> None:
    http.get(S1, payload={**SESSION, "browserMode": "future-browser", "cdpUrl": "wss://x"})
    async with MixCore() as core:
        result = await sessions_get(core, {"id": "s-1"})
    assert isinstance(result, Ok), result
    session = result.value
    assert (session.model_id, session.provider, session.cdp_url) == ("gemini-3-flash-preview", "gemini", "wss://x")
    assert session.browser_mode == "future-browser"
    assert isinstance(session.browser_mode, BrowserMode)


async def test_create_sends_the_011_fields(http: aioresponses) -> None:
    http.post(f"{BASE}/api/sessions", status=201, payload=SESSION)
    request: Any = {
        "title": "t",
        "browser_mode": "remote-cdp-websocket",
        "cdp_url": "wss://cdp.example/1",
        "model_id": "m",
        "provider": "gemini",
    }
    async with MixCore() as core:
        result = await sessions_create(core, request)
    assert isinstance(result, Ok), result
    [call] = sent(http)
    assert body_of(call) == {
        "title": "t",
        "browserMode": "remote-cdp-websocket",
        "cdpUrl": "wss://cdp.example/1",
        "modelId": "m",
        "provider": "gemini",
    }


@pytest.mark.parametrize(
    ("request_", "field_path"),
    [
        ({"title": "t", "browser_mode": "remote-cdp-websocket"}, "$.cdp_url"),
        ({"title": "t", "browser_mode": "local-browser-service", "cdp_url": "https://x"}, "$.cdp_url"),
        ({"title": "t", "browser_mode": "local-browser-service", "model_id": "m"}, "$.provider"),
        ({"title": "t", "browser_mode": "flying"}, "$.browser_mode"),
    ],
)
async def test_create_rules_of_011_are_checked_before_sending(
    http: aioresponses, request_: dict[str, Any], field_path: str
) -> None:
    async with MixCore() as core:
        result = await sessions_create(core, request_)  # pyright: ignore[reportArgumentType]
    if field_path == "$.browser_mode":  # an open enum: an unknown mode goes to the server
        assert len(sent(http)) == 1
        return
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == field_path
    assert not http.requests


# --- messages ------------------------------------------------------------------------------------------


async def test_messages_list_decodes_backend_messages(http: aioresponses) -> None:
    http.get(f"{S1}/messages", payload=[BACKEND_MESSAGE, {"id": "m-3", "sessionId": "s-1", "role": "tool"}])
    async with MixCore() as core:
        result = await sessions_messages_list(core, {"id": "s-1"})
    assert isinstance(result, Ok), result
    first, second = result.value
    assert first.role is MessageRole.ASSISTANT
    assert first.tool_calls is not None
    assert first.tool_calls[0].finished
    assert first.callback_results is not None
    assert first.callback_results[0].callback_type is CallbackType.BASH_SCRIPT
    assert (first.input_tokens, first.output_tokens, first.cache_read_tokens) == (10, 5, 2)
    assert second.role is MessageRole.TOOL
    assert second.user_input is None


@pytest.mark.parametrize("body", [None, {"data": None}, {"data": [], "message": "ok"}])
async def test_messages_list_reads_null_and_empty_envelopes_as_empty(http: aioresponses, body: Any) -> None:
    http.get(f"{S1}/messages", body=json.dumps(body), content_type="application/json")
    async with MixCore() as core:
        assert await sessions_messages_list(core, {"id": "s-1"}) == Ok([])


async def test_messages_list_unwraps_011_message_data(http: aioresponses) -> None:
    old = {"id": "m-1", "sessionId": "s-1", "role": "user", "content": "hi", "response": "hello"}
    http.get(f"{S1}/messages", payload={"data": [old]})
    async with MixCore() as core:
        result = await sessions_messages_list(core, {"id": "s-1"})
    assert isinstance(result, Ok), result
    [message] = result.value
    assert (message.content, message.response, message.user_input) == ("hi", "hello", None)


async def test_send_is_202_and_not_retried(http: aioresponses) -> None:
    http.post(f"{S1}/messages", status=503)
    async with MixCore(retries=QUICK) as core:
        failed = await sessions_messages_send(core, {"id": "s-1", "text": "hi"})
        assert isinstance(failed, Err)
        assert failed.error.attempts == 1  # a POST that would post the message twice
        http.post(f"{S1}/messages", status=202, payload={"status": "processing", "sessionId": "s-1"})
        request = SendMessageRequest(id="s-1", text="plan", plan_mode=True, thinking_level=None, max_steps=4)
        result = await sessions_messages_send(core, request)
    assert isinstance(result, Ok), result
    assert (result.value.status, result.value.session_id, result.value.message) == ("processing", "s-1", None)
    assert result.meta is not None
    assert result.meta.status == 202
    assert body_of(sent(http)[-1]) == {"text": "plan", "plan_mode": True, "max_steps": 4}


async def test_send_to_an_011_server_returns_the_message(http: aioresponses) -> None:
    reply = {"data": {"id": "m-1", "sessionId": "s-1", "role": "assistant", "content": "hi", "response": "ok"}}
    http.post(f"{S1}/messages", status=200, payload=reply)
    async with MixCore() as core:
        result = await sessions_messages_send(core, {"id": "s-1", "content": "hi"})
    assert isinstance(result, Ok), result
    assert result.value.status is None
    assert result.value.session_id == "s-1"
    assert result.value.message is not None
    assert result.value.message.response == "ok"
    assert body_of(sent(http)[0]) == {"content": "hi"}


@pytest.mark.parametrize(
    ("request_", "field_path"),
    [
        ({"id": "s-1"}, "$.text"),
        ({"id": "s-1", "text": "a", "content": "b"}, "$.text"),
        ({"id": "s-1", "text": "a", "max_steps": 0}, "$.max_steps"),
        ({"id": "s-1", "text": "a", "thinking_level": 3}, "$.thinking_level"),
    ],
)
async def test_bad_sends_are_refused_before_sending(
    http: aioresponses, request_: dict[str, Any], field_path: str
) -> None:
    async with MixCore() as core:
        result = await sessions_messages_send(core, request_)  # pyright: ignore[reportArgumentType]
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == field_path
    assert not http.requests


async def test_cancel_decodes_both_generations(http: aioresponses) -> None:
    http.post(f"{S1}/cancel", payload={"cancelled": True})
    http.post(f"{S1}/cancel", payload={"data": {"cancelled": False}})
    async with MixCore() as core:
        first = await sessions_cancel(core, {"id": "s-1"})
        second = await sessions_cancel(core, {"id": "s-1"})
    assert isinstance(first, Ok)
    assert isinstance(second, Ok)
    assert (first.value.cancelled, second.value.cancelled) == (True, False)
    assert all(call.kwargs["data"] is None for call in sent(http))


async def test_rewind_and_callbacks_are_retried_as_idempotent(http: aioresponses) -> None:
    clock = FakeClock()
    for url, method in ((f"{S1}/rewind", "POST"), (f"{S1}/callbacks", "PATCH")):
        http.add(url, method, status=503)
        http.add(url, method, payload=SESSION)
    async with MixCore(retries=QUICK, clock=clock) as core:
        rewound = await sessions_rewind(core, {"id": "s-1", "message_id": "m-1"})
        cleared = await sessions_callbacks_update(core, {"id": "s-1", "callbacks": []})
    for result in (rewound, cleared):
        assert isinstance(result, Ok), result
        assert result.meta is not None
        assert result.meta.attempts == 2
    bodies = [body_of(call) for call in sent(http)]
    assert bodies == [{"messageId": "m-1"}] * 2 + [{"callbacks": []}] * 2


# --- files ------------------------------------------------------------------------------------------------


async def test_upload_from_a_path_streams_a_multipart_file_part(http: aioresponses, tmp_path: Path) -> None:
    path = tmp_path / "report é.txt"
    path.write_bytes(b"contents")
    http.post(f"{S1}/files/upload", status=201, payload=FILE_INFO)
    async with MixCore() as core:
        result = await sessions_files_upload(core, {"id": "s-1", "file": str(path)})
    assert isinstance(result, Ok), result
    assert result.value.is_dir is False
    [call] = sent(http)
    assert call.kwargs["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert isinstance(call.kwargs["data"], aiohttp.MultipartWriter)


async def test_an_upload_writes_one_file_part_with_its_name() -> None:
    upload = UploadFileRequest(id="s-1", file=Upload(b"abc", filename='q"uote.bin', content_type="image/png"))
    from sessionkit._operation import _prepare  # pyright: ignore[reportPrivateUsage]
    from sessionkit.mix.sessions import UPLOAD_FILE

    body = _prepare(UPLOAD_FILE, upload)[4]
    assert body is not None
    assert not isinstance(body, bytes)
    data = await rendered_payload(body.open())
    body.release()
    assert b'Content-Disposition: form-data; name="file"; filename="q\\"uote.bin"' in data
    assert b"Content-Type: image/png" in data
    assert b"\r\n\r\nabc\r\n" in data


@pytest.mark.parametrize(
    ("file", "reason"),
    [("missing.txt", "cannot read the file"), (".", "not a regular file"), (b"abc", "needs a filename"), (3, "path")],
)
async def test_unsendable_uploads_are_refused_before_sending(
    http: aioresponses, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: Any, reason: str
) -> None:
    monkeypatch.chdir(tmp_path)
    async with MixCore() as core:
        result = await sessions_files_upload(core, {"id": "s-1", "file": file})
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError)
    assert reason in result.error.reason
    assert not http.requests


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_an_async_source_is_sent_once_and_a_path_is_retried(http: aioresponses, tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"x")
    url = f"{S1}/files/upload"
    for _ in range(3):
        http.post(url, status=503)
    http.post(url, status=201, payload=FILE_INFO)
    async with MixCore(retries=QUICK, clock=FakeClock()) as core:
        once = await sessions_files_upload(core, {"id": "s-1", "file": Upload(chunks(b"a"), filename="a.bin")})
        retried = await sessions_files_upload(core, {"id": "s-1", "file": path})
    assert isinstance(once, Err)
    assert once.error.attempts == 1
    assert isinstance(retried, Ok), retried
    assert retried.meta is not None
    assert retried.meta.attempts == 3


async def test_download_to_a_file(http: aioresponses, tmp_path: Path) -> None:
    url = URL(f"{S1}/files/a%2Fb.bin", encoded=True)
    http.get(url, body=b"0123456789" * 1000, headers={"Content-Type": "application/octet-stream"})
    target = tmp_path / "out.bin"
    async with MixCore() as core:
        result = await sessions_files_download(core, {"id": "s-1", "filename": "a/b.bin"}, to=target)
    assert isinstance(result, Ok), result
    assert target.read_bytes() == b"0123456789" * 1000
    assert (result.value.received, result.value.saved_to, result.value.closed) == (10_000, target, True)
    assert result.value.content_type == "application/octet-stream"
    assert files_in(tmp_path) == [target]


async def test_a_download_over_its_cap_is_a_validation_error_and_leaves_no_file(
    http: aioresponses, tmp_path: Path
) -> None:
    http.get(f"{S1}/files/big", body=b"x" * 5000)
    target = tmp_path / "big"
    async with MixCore() as core:
        result = await sessions_files_download(core, {"id": "s-1", "filename": "big"}, to=target, max_bytes=4096)
    assert isinstance(result, Err), result
    assert isinstance(result.error, ResponseValidationError)
    assert "max_bytes (4096 bytes)" in result.error.message
    assert files_in(tmp_path) == []


async def test_a_gzipped_download_is_inflated_and_capped_after_inflating(http: aioresponses) -> None:
    packed = gzip.compress(b"z" * 100_000)
    for _ in range(2):
        http.get(f"{S1}/files/z", body=packed, headers={"Content-Encoding": "gzip"})
    async with MixCore() as core:
        result = await sessions_files_download(core, {"id": "s-1", "filename": "z"})
        assert isinstance(result, Ok), result
        async with result.value as body:
            pieces = [chunk async for chunk in body]
        capped = await sessions_files_download(core, {"id": "s-1", "filename": "z"}, max_bytes=50_000)
        assert isinstance(capped, Ok), capped
        outcome = [chunk async for chunk in capped.value]
    assert b"".join(p.unwrap() for p in pieces) == b"z" * 100_000
    assert isinstance(outcome[-1], Err)
    assert isinstance(outcome[-1].error, ResponseValidationError)
    assert capped.value.closed


@pytest.mark.parametrize(
    ("request_", "field_path"),
    [
        ({"thumb": "x100"}, "$.thumb"),
        ({"thumb": "100px"}, "$.thumb"),
        ({"time": -0.5}, "$.time"),
        ({"time": 86400.5}, "$.time"),
    ],
)
async def test_bad_thumbnail_options_are_refused_before_sending(
    http: aioresponses, request_: dict[str, Any], field_path: str
) -> None:
    async with MixCore() as core:
        result = await sessions_files_download(core, {"id": "s-1", "filename": "f", **request_})
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == field_path
    assert not http.requests


async def test_hand_built_requests_are_checked_too(http: aioresponses) -> None:
    async with MixCore() as core:
        send = await sessions_messages_send(core, SendMessageRequest(id="s-1", text="a", max_steps=0))
        fork = await sessions_fork(core, ForkSessionRequest(id="s-1", message_index=-1))
    for result, field_path in ((send, "$.max_steps"), (fork, "$.message_index")):
        assert isinstance(result, Err)
        assert isinstance(result.error, InvalidRequestError)
        assert result.error.field_path == field_path
    assert not http.requests


async def test_a_destination_that_is_no_path_is_refused(http: aioresponses) -> None:
    async with MixCore() as core:
        result = await sessions_files_download(core, {"id": "s-1", "filename": "f"}, to=3)  # pyright: ignore[reportArgumentType]
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "to"
    assert not http.requests


@pytest.mark.parametrize("max_bytes", [0, -1, True, 1.5])
async def test_a_bad_cap_is_refused(http: aioresponses, max_bytes: Any) -> None:
    async with MixCore() as core:
        result = await sessions_files_download(core, {"id": "s-1", "filename": "f"}, max_bytes=max_bytes)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "max_bytes"
    assert not http.requests


async def test_a_missing_file_is_a_typed_error_and_writes_nothing(http: aioresponses, tmp_path: Path) -> None:
    error = {"error": {"code": 404, "message": "file not found", "type": "not_found"}}
    http.get(f"{S1}/files/nope", status=404, payload=error)
    async with MixCore() as core:
        result = await sessions_files_download(
            core, {"id": "s-1", "filename": "nope"}, to=tmp_path / "nope", options=RequestOptions(retries=0)
        )
    assert isinstance(result, Err)
    assert isinstance(result.error, RESTResponseNotFoundError)
    assert result.error.error_message == "file not found"
    assert files_in(tmp_path) == []


async def test_a_stream_is_read_once(http: aioresponses, tmp_path: Path) -> None:
    http.get(f"{S1}/files/f", body=b"abc")
    async with MixCore() as core:
        result = await sessions_files_download(core, {"id": "s-1", "filename": "f"})
        assert isinstance(result, Ok)
        body = result.value
        assert [c.unwrap() async for c in body] == [b"abc"]
        assert [c async for c in body] == []
        again = await body.save(tmp_path / "f")
    assert isinstance(again, Err)
    assert "already read" in again.error.message
    assert files_in(tmp_path) == []
