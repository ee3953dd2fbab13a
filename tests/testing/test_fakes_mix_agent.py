"""FakeMix's agent at the HTTP level: a scripted turn asks on the event stream and waits; grant, deny
and respond answer it (once); the history of user messages; the export's finishReason."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sessionkit.testing import AskNotification, AskPermission, FailTurn, FakeMix, Say
from tests._support.fake_fixtures import fetch

GUARD = 20.0


def error(code: int, message: str, type_: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "type": type_}}


@pytest.fixture
async def fake() -> AsyncIterator[FakeMix]:
    async with FakeMix(version="0.11.4") as server:
        yield server


class Stream:
    """A raw event stream: each event's (name, data) as it comes."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, name: str) -> dict[str, Any]:
        """The data of the next event called `name` (others are skipped)."""
        event, data = "", ""
        while True:
            line = (await asyncio.wait_for(self.response.content.readline(), GUARD)).decode()
            assert line, "the stream ended"
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: "):
                data = line[6:].strip()
            elif line == "\n" and event == name:
                return json.loads(data)


async def open_stream(http: aiohttp.ClientSession, fake: FakeMix, sid: str) -> tuple[Stream, Any]:
    context = http.get(f"{fake.url}/stream?sessionId={sid}")
    response = await context.__aenter__()
    stream = Stream(response)
    await stream.next("connected")
    return stream, context


async def test_a_scripted_turn_waits_for_each_answer(fake: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    [session] = fake.seed_sessions(1)
    sid = session["id"]
    fake.script_turn(
        sid,
        AskPermission("Write", action="write", path="/tmp/x", params={"mode": "w"}),
        AskNotification(title="Branch?", message="Which one?", response_type="choice", choices=("main", "dev")),
        Say("Done."),
    )
    stream, context = await open_stream(raw_http, fake, sid)
    try:
        sent = await fetch(raw_http, "POST", f"{fake.url}/api/sessions/{sid}/messages", json={"text": "go"})
        assert sent.status == 202
        permission = await stream.next("permission")
        assert {k: permission[k] for k in ("type", "sessionId", "toolName", "action", "path", "params")} == {
            "type": "permission", "sessionId": sid, "toolName": "Write", "action": "write", "path": "/tmp/x",
            "params": {"mode": "w"},
        }  # fmt: skip
        assert fake.pending_questions(sid) == [permission["id"]]
        grant = f"{fake.url}/api/permissions/{permission['id']}/grant"
        first = await fetch(raw_http, "POST", grant)
        assert (first.status, first.json()) == (200, {"granted": True})
        again = await fetch(raw_http, "POST", f"{fake.url}/api/permissions/{permission['id']}/deny")
        assert (again.status, again.json()) == (404, error(404, "Permission not found", "not_found"))
        ran = await stream.next("tool_execution_complete")
        assert ran["success"] is True
        notification = await stream.next("notification")
        assert (notification["responseType"], notification["choices"], notification["notificationType"]) == (
            "choice", ["main", "dev"], "question",
        )  # fmt: skip
        respond = f"{fake.url}/api/notifications/{notification['id']}/respond"
        bad = await fetch(raw_http, "POST", respond, json={"type": "shout"})
        assert bad.status == 400
        unknown = await fetch(raw_http, "POST", respond, json={"type": "text", "value": "x", "extra": 1})
        assert unknown.json()["error"]["message"].endswith('json: unknown field "extra"')
        answered = await fetch(raw_http, "POST", respond, json={"type": "choice", "value": "dev"})
        assert (answered.status, answered.body) == (204, b"")
        twice = await fetch(raw_http, "POST", respond, json={"type": "acknowledge"})
        assert twice.json() == error(404, "Notification not found or already responded", "not_found")
        complete = await stream.next("complete")
        assert complete["content"] == "(You answered: dev) Done."
    finally:
        await context.__aexit__(None, None, None)
    assert fake.answers == [
        {"kind": "permission", "id": permission["id"], "session_id": sid, "answer": "grant"},
        {"kind": "notification", "id": notification["id"], "session_id": sid, "answer": "choice", "value": "dev"},
    ]
    exported = (await fetch(raw_http, "GET", f"{fake.url}/api/sessions/{sid}/export")).json()
    last = exported["messages"][-1]
    assert (last["role"], last["finishReason"], last["toolCalls"][0]["name"]) == ("assistant", "end_turn", "Write")
    listed = (await fetch(raw_http, "GET", f"{fake.url}/api/sessions/{sid}/messages")).json()
    assert listed[-1]["toolCalls"][0]["result"] == "ok"


async def test_a_denied_tool_does_not_run_and_a_failed_turn_ends_with_an_error(
    fake: FakeMix, raw_http: aiohttp.ClientSession
) -> None:
    [session] = fake.seed_sessions(1)
    sid = session["id"]
    fake.script_turn(sid, AskPermission(), FailTurn("the provider is down"))
    stream, context = await open_stream(raw_http, fake, sid)
    try:
        await fetch(raw_http, "POST", f"{fake.url}/api/sessions/{sid}/messages", json={"text": "go"})
        permission = await stream.next("permission")
        denied = await fetch(raw_http, "POST", f"{fake.url}/api/permissions/{permission['id']}/deny")
        assert denied.json() == {"denied": True}
        ran = await stream.next("tool_execution_complete")
        assert (ran["success"], ran["progress"]) == (False, "denied")
        failed = await stream.next("error")
        assert failed == {"type": "error", "error": "the provider is down"}
    finally:
        await context.__aexit__(None, None, None)
    exported = (await fetch(raw_http, "GET", f"{fake.url}/api/sessions/{sid}/export")).json()
    assert exported["messages"][-1]["finishReason"] == "error"


async def test_a_notification_nobody_answers_times_out(fake: FakeMix) -> None:
    [session] = fake.seed_sessions(1)
    sid = session["id"]
    fake.script_turn(sid, AskNotification(timeout=0), Say("went on"))  # a zero-second question
    async with aiohttp.ClientSession() as http:
        stream, context = await open_stream(http, fake, sid)
        try:
            await fetch(http, "POST", f"{fake.url}/api/sessions/{sid}/messages", json={"text": "go"})
            complete = await stream.next("complete")
        finally:
            await context.__aexit__(None, None, None)
    assert complete["content"] == "went on"
    assert fake.answers == []


async def test_unknown_questions_are_404s(fake: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    for path in ("permissions/nope/grant", "permissions/nope/deny"):
        reply = await fetch(raw_http, "POST", f"{fake.url}/api/{path}")
        assert (reply.status, reply.json()) == (404, error(404, "Permission not found", "not_found"))
    reply = await fetch(raw_http, "POST", f"{fake.url}/api/notifications/nope/respond", json={"type": "acknowledge"})
    assert reply.status == 404


async def test_0101_has_no_notifications(raw_http: aiohttp.ClientSession) -> None:
    async with FakeMix(version="0.10.1") as old:
        [session] = old.seed_sessions(1)
        with pytest.raises(ValueError, match=r"notifications are 0\.11\.2\+"):
            old.script_turn(session["id"], AskNotification())
        reply = await fetch(raw_http, "POST", f"{old.url}/api/notifications/n/respond", json={"type": "acknowledge"})
    assert reply.status == 404
    assert reply.headers["Content-Type"].startswith("text/plain")  # the mux's own 404


async def test_history_lists_user_messages_newest_first(fake: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    empty = await fetch(raw_http, "GET", f"{fake.url}/api/messages/history")
    assert empty.body == b"null\n"
    first, second = fake.seed_sessions(2)
    for i in range(3):
        fake.add_message(first["id"], "user", f"a{i}")
        fake.add_message(first["id"], "assistant", f"reply {i}")
        fake.add_message(second["id"], "user", f"b{i}")
    every = (await fetch(raw_http, "GET", f"{fake.url}/api/messages/history")).json()
    assert [m["userInput"] for m in every] == ["b2", "a2", "b1", "a1", "b0", "a0"]
    assert {m["role"] for m in every} == {"user"}
    page = (await fetch(raw_http, "GET", f"{fake.url}/api/messages/history?limit=2&offset=1")).json()
    assert [m["userInput"] for m in page] == ["a2", "b1"]
    lenient = (await fetch(raw_http, "GET", f"{fake.url}/api/messages/history?limit=zero&offset=-3")).json()
    assert len(lenient) == 6  # bad numbers fall back to the defaults, as the server parses them


async def test_a_stopped_fake_stops_its_turns(raw_http: aiohttp.ClientSession) -> None:
    fake = FakeMix(version="0.11.4")
    await fake.start()
    [session] = fake.seed_sessions(1)
    fake.script_turn(session["id"], AskPermission())
    await fetch(raw_http, "POST", f"{fake.url}/api/sessions/{session['id']}/messages", json={"text": "go"})
    await asyncio.sleep(0.05)
    assert fake.pending_questions()
    await fake.stop()
    assert fake.pending_questions() == []
