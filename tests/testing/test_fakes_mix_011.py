"""FakeMix beyond CRUD, against contracts/mix-current.md: 0.11.4 create and sessions, messages and a
turn on the event stream, cancel, rewind, export, callbacks, files, and the stream's own rules."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sessionkit.testing import FakeMix
from tests._support.fake_fixtures import Reply, fetch

GUARD = 20.0
BROWSER = {"browserMode": "local-browser-service"}


def error(code: int, message: str, type_: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "type": type_}}


@pytest.fixture
async def fake011() -> AsyncIterator[FakeMix]:
    async with FakeMix(version="0.11.4") as fake:
        yield fake


async def create(http: aiohttp.ClientSession, fake: FakeMix, **body: Any) -> dict[str, Any]:
    reply = await fetch(http, "POST", f"{fake.url}/api/sessions", json={"title": "t", **BROWSER, **body})
    assert reply.status == 201, reply.body
    return reply.json()


async def upload(http: aiohttp.ClientSession, url: str, name: str, data: bytes) -> Reply:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return await fetch(http, "POST", url, data=form)


async def read_events(
    http: aiohttp.ClientSession, url: str, count: int, *, until: str = "", **kwargs: Any
) -> list[tuple[str, ...]]:
    """The first `count` events of a stream (or those up to the first `until` event) as
    (id, event, data, retry) tuples (raw wire fields)."""
    events: list[tuple[str, ...]] = []
    async with http.get(url, **kwargs) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        block: dict[str, str] = {}
        while len(events) < count:
            try:
                line = (await asyncio.wait_for(response.content.readline(), GUARD)).decode()
            except aiohttp.ClientPayloadError:  # the fake cut the stream (drop_streams)
                break
            if line == "":
                break
            if line == "\n":
                events.append((block["id"], block["event"], block["data"], block["retry"]))
                if block["event"] == until:
                    break
                block = {}
            else:
                name, _, value = line.rstrip("\n").partition(": ")
                block[name] = value
    return events


# --- 0.11.4 sessions ----------------------------------------------------------------------------------


async def test_011_create_takes_and_returns_the_browser_and_model(
    fake011: FakeMix, raw_http: aiohttp.ClientSession
) -> None:
    body = {"browserMode": "remote-cdp-websocket", "cdpUrl": "wss://x/1", "modelId": "m", "provider": "gemini"}
    session = await create(raw_http, fake011, **body)
    assert {k: session[k] for k in body} == body
    listed = (await fetch(raw_http, "GET", f"{fake011.url}/api/sessions")).json()
    assert listed[0]["browserMode"] == "remote-cdp-websocket"
    [seeded] = fake011.seed_sessions(1)
    assert seeded["browserMode"] == "local-browser-service"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "browserMode", "browserMode is required"),
        ({"browserMode": "x"}, "browserMode", "browserMode must be one of"),
        ({"browserMode": "remote-cdp-websocket"}, "cdpUrl", "cdpUrl is required"),
        ({**BROWSER, "cdpUrl": "http://x"}, "cdpUrl", "cdpUrl must start with 'ws://' or 'wss://'"),
        ({**BROWSER, "modelId": "m"}, "provider", "provider is required when modelId is set"),
    ],
)
async def test_011_create_rules(
    fake011: FakeMix, raw_http: aiohttp.ClientSession, body: dict[str, Any], field: str, message: str
) -> None:
    reply = await fetch(raw_http, "POST", f"{fake011.url}/api/sessions", json={"title": "t", **body})
    assert reply.status == 400
    assert reply.json()["error"]["message"].startswith(f"Validation error for field '{field}': {message}")


async def test_010_refuses_the_011_fields_and_011_has_no_fork(
    fake_mix: FakeMix, fake011: FakeMix, raw_http: aiohttp.ClientSession
) -> None:
    old = await fetch(raw_http, "POST", f"{fake_mix.url}/api/sessions", json={"title": "t", **BROWSER})
    assert old.json() == error(
        400, "Validation error for field 'body': json: unknown field \"browserMode\"", "validation_error"
    )
    session = await create(raw_http, fake011)
    fork = await fetch(raw_http, "POST", f"{fake011.url}/api/sessions/{session['id']}/fork", json={"messageIndex": 0})
    assert fork.status == 404
    assert fork.headers["Content-Type"].startswith("text/plain")


def test_an_unknown_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        FakeMix(version="0.12.0")  # pyright: ignore[reportArgumentType]


# --- messages, the turn, cancel ------------------------------------------------------------------------


async def test_send_is_202_and_the_turn_is_streamed_then_stored(
    fake011: FakeMix, raw_http: aiohttp.ClientSession
) -> None:
    session = await create(raw_http, fake011)
    sid = session["id"]
    assert (await fetch(raw_http, "GET", f"{fake011.url}/api/sessions/{sid}/messages")).body == b"null\n"
    reader = asyncio.create_task(read_events(raw_http, f"{fake011.url}/stream?sessionId={sid}", 50, until="complete"))
    await asyncio.wait_for(fake011.wait_for_streams(sid), GUARD)
    sent = await fetch(
        raw_http, "POST", f"{fake011.url}/api/sessions/{sid}/messages", json={"text": "hi", "max_steps": 2}
    )
    assert (sent.status, sent.json()) == (202, {"status": "processing", "sessionId": sid})
    events = await asyncio.wait_for(reader, GUARD)
    kinds = [e[1] for e in events]
    assert kinds[0] == "connected"
    assert kinds[1] == "user_message_created"
    assert kinds[-1] == "complete"
    assert {"thinking", "tool_use_start", "tool_use_parameter_delta", "tool_execution_complete", "content"} <= set(
        kinds
    )
    assert [e[0] for e in events] == [str(i) for i in range(1, len(events) + 1)]
    listed = (await fetch(raw_http, "GET", f"{fake011.url}/api/sessions/{sid}/messages")).json()
    assert [(m["role"], m["sessionId"]) for m in listed] == [("user", sid), ("assistant", sid)]
    assert listed[0]["userInput"] == "hi"
    assert listed[1]["assistantResponse"] == "You said: hi"
    got = (await fetch(raw_http, "GET", f"{fake011.url}/api/sessions/{sid}")).json()
    assert (got["userMessageCount"], got["assistantMessageCount"], got["toolCallCount"]) == (1, 1, 1)


@pytest.mark.parametrize(
    ("version", "body", "message"),
    [
        ("0.11.4", {}, "Validation error for field 'text': text is required"),
        ("0.11.4", {"text": "x", "max_steps": 0}, "Validation error for field 'max_steps': max_steps must be >= 1"),
        ("0.11.4", {"text": "x", "thinking_level": "huge"}, "Validation error for field 'thinking_level'"),
        (
            "0.10.1",
            {"text": "x", "max_steps": 2},
            "Validation error for field 'body': json: unknown field \"max_steps\"",
        ),
    ],
)
async def test_send_validation(
    raw_http: aiohttp.ClientSession, version: Any, body: dict[str, Any], message: str
) -> None:
    async with FakeMix(version=version) as fake:
        [session] = fake.seed_sessions(1)
        reply = await fetch(raw_http, "POST", f"{fake.url}/api/sessions/{session['id']}/messages", json=body)
    assert reply.status == 400
    assert reply.json()["error"]["message"].startswith(message)


async def test_cancel_stops_a_running_turn(raw_http: aiohttp.ClientSession) -> None:
    async with FakeMix(version="0.11.4", turn_pause=0.05) as fake:
        [session] = fake.seed_sessions(1)
        base = f"{fake.url}/api/sessions/{session['id']}"
        idle = await fetch(raw_http, "POST", f"{base}/cancel")
        assert idle.json() == {"cancelled": False}
        await fetch(raw_http, "POST", f"{base}/messages", json={"text": "long job"})
        busy = await fetch(raw_http, "POST", f"{base}/messages", json={"text": "again"})
        assert busy.status == 400
        cancelled = await fetch(raw_http, "POST", f"{base}/cancel")
        assert cancelled.json() == {"cancelled": True}
        unknown = await fetch(raw_http, "POST", f"{fake.url}/api/sessions/nope/cancel")
        assert unknown.status == 404


async def test_rewind_keeps_up_to_a_message_and_cleans_newer_media(
    fake011: FakeMix, raw_http: aiohttp.ClientSession
) -> None:
    session = await create(raw_http, fake011)
    sid, base = session["id"], f"{fake011.url}/api/sessions/{session['id']}"
    first = fake011.add_message(sid, "user", "q1")
    fake011.add_message(sid, "assistant", "a1")
    assert (await upload(raw_http, f"{base}/files/upload", "new.png", b"png")).status == 201
    os.utime(fake011.storage / sid / "new.png")  # made after the message kept
    missing = await fetch(raw_http, "POST", f"{base}/rewind", json={})
    assert missing.json() == error(
        400, "Validation error for field 'messageId': messageId is required", "validation_error"
    )
    unknown = await fetch(raw_http, "POST", f"{base}/rewind", json={"messageId": "nope"})
    assert unknown.json() == error(404, "Session or message not found", "not_found")
    rewound = await fetch(raw_http, "POST", f"{base}/rewind", json={"messageId": first})
    assert rewound.status == 200
    assert (rewound.json()["userMessageCount"], rewound.json()["assistantMessageCount"]) == (1, 0)
    assert (await fetch(raw_http, "GET", f"{base}/files")).body == b"null\n"


async def test_export_and_callbacks(fake011: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    session = await create(raw_http, fake011)
    sid, base = session["id"], f"{fake011.url}/api/sessions/{session['id']}"
    fake011.add_message(sid, "user", "hello")
    exported = await fetch(raw_http, "GET", f"{base}/export")
    assert exported.headers["Content-Disposition"] == f"attachment; filename=session_{sid}_transcript.json"
    body = exported.json()
    assert (body["id"], body["title"], body["userMessageCount"]) == (sid, "t", 1)
    assert set(body["messages"][0]) == {"id", "role", "content", "createdAt", "updatedAt"}
    callbacks = [{"toolName": "*", "type": "bash_script", "bashCommand": "ls"}]
    updated = await fetch(raw_http, "PATCH", f"{base}/callbacks", json={"callbacks": callbacks})
    assert updated.json()["callbacks"] == callbacks
    cleared = await fetch(raw_http, "PATCH", f"{base}/callbacks", json={"callbacks": []})
    assert "callbacks" not in cleared.json()
    assert (await fetch(raw_http, "PATCH", f"{base}/callbacks", json={})).status == 400


# --- files --------------------------------------------------------------------------------------------


async def test_files_up_list_down_and_delete(fake011: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    session = await create(raw_http, fake011)
    base = f"{fake011.url}/api/sessions/{session['id']}/files"
    assert (await fetch(raw_http, "GET", base)).body == b"null\n"
    up = await upload(raw_http, f"{base}/upload", "notes.txt", b"hello")
    assert up.status == 201
    info = up.json()
    assert (info["name"], info["size"], info["isDir"]) == ("notes.txt", 5, False)
    assert isinstance(info["modified"], int)
    assert (await fetch(raw_http, "GET", base)).json() == [info]
    down = await fetch(raw_http, "GET", f"{base}/notes.txt?thumb=w100&time=1.5")
    assert (down.status, down.body) == (200, b"hello")
    assert down.headers["Content-Type"].startswith("text/plain")
    for query, status in (("thumb=x1", 400), ("time=-1", 400), ("time=90000", 400)):
        assert (await fetch(raw_http, "GET", f"{base}/notes.txt?{query}")).status == status
    assert (await fetch(raw_http, "GET", f"{base}/missing.txt")).json() == error(404, "File not found", "not_found")
    assert (await fetch(raw_http, "DELETE", f"{base}/notes.txt")).status == 204
    assert (await fetch(raw_http, "DELETE", f"{base}/notes.txt")).status == 404
    assert (await fetch(raw_http, "GET", f"{base}/..")).status in (400, 404)


async def test_upload_limits_and_bad_forms(raw_http: aiohttp.ClientSession) -> None:
    async with FakeMix(version="0.11.4", max_upload_bytes=1000) as fake:
        [session] = fake.seed_sessions(1)
        url = f"{fake.url}/api/sessions/{session['id']}/files/upload"
        big = await upload(raw_http, url, "big.bin", b"x" * 1001)
        assert big.json() == error(413, "File too large (max 0MB)", "bad_request")
        assert list((fake.storage / session["id"]).iterdir()) == []
        form = aiohttp.MultipartWriter("form-data")
        form.append("value").set_content_disposition("form-data", name="other")
        assert (await fetch(raw_http, "POST", url, data=form)).json() == error(400, "No file provided", "bad_request")
        assert (await fetch(raw_http, "POST", url, json={"file": "x"})).status == 400
        assert (await upload(raw_http, f"{fake.url}/api/sessions/nope/files/upload", "a", b"a")).status == 404
        assert [r.body for r in fake.requests if r.path.endswith("/upload")] == [b""] * 4  # streamed, not kept


# --- the stream ---------------------------------------------------------------------------------------


async def test_stream_ids_restart_per_connection_and_last_event_id_is_ignored(
    fake011: FakeMix, raw_http: aiohttp.ClientSession
) -> None:
    [session] = fake011.seed_sessions(1)
    url = f"{fake011.url}/stream?sessionId={session['id']}"
    fake011.heartbeat = 0.01
    first = await read_events(raw_http, url, 3)
    again = await read_events(raw_http, url, 2, headers={"Last-Event-ID": "3"})
    assert [e[:2] for e in first] == [("1", "connected"), ("2", "heartbeat"), ("3", "heartbeat")]
    assert [e[:2] for e in again] == [("1", "connected"), ("2", "heartbeat")]
    assert first[0][3] == "30000"
    assert first[1][2:] == ('{"type":"ping"}', "45000")
    assert fake011.requests[-1].headers["Last-Event-ID"] == "3"


async def test_stream_of_nothing_or_of_an_unknown_session(fake011: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    missing = await fetch(raw_http, "GET", f"{fake011.url}/stream")
    assert (missing.status, missing.body) == (400, b"")
    unknown = await fetch(raw_http, "GET", f"{fake011.url}/stream?sessionId=nope")
    assert unknown.status == 200
    assert unknown.body == b'id: 1\nevent: error\ndata: {"error":"Invalid session ID: nope"}\nretry: 30000\n\n'
