"""FakeMix against the Mix 0.10.1 flattened contract (contracts/orq-log10-mix.md section 3b)."""

from __future__ import annotations

import re
from datetime import timedelta, timezone
from typing import Any

import aiohttp
import pytest

from sessionkit.testing import FakeMix
from tests._support.fake_fixtures import fetch

REQUIRED = {
    "id", "title", "sessionType", "userMessageCount", "assistantMessageCount", "toolCallCount",
    "promptTokens", "completionTokens", "cost", "createdAt",
}  # fmt: skip
RFC3339_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")


def error(code: int, message: str, type_: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "type": type_}}


async def create(http: aiohttp.ClientSession, fake: FakeMix, **body: Any) -> dict[str, Any]:
    reply = await fetch(http, "POST", f"{fake.url}/api/sessions", json=body)
    assert reply.status == 201, reply.body
    return reply.json()


async def test_empty_list_is_null_with_newline_and_cors(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    reply = await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions")
    assert (reply.status, reply.body) == (200, b"null\n")
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["Access-Control-Allow-Origin"] == "*"


async def test_create_is_201_bare_session_data(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    reply = await fetch(raw_http, "POST", f"{fake_mix.url}/api/sessions", json={"title": "t", "promptMode": "append"})
    assert reply.status == 201
    assert reply.body.endswith(b"}\n")
    session = reply.json()
    assert set(session) == REQUIRED
    assert (session["title"], session["sessionType"], session["cost"]) == ("t", "main", 0.0)
    assert RFC3339_SECONDS.match(session["createdAt"])
    assert session["createdAt"].endswith("Z")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Validation error for field 'body': EOF"),
        (b'{"title":"t","bogus":1}', "Validation error for field 'body': json: unknown field \"bogus\""),
        (
            b'{"title":"t","workingDirectory":"/tmp"}',
            "Validation error for field 'body': json: unknown field \"workingDirectory\"",
        ),
        (b"{}", "Validation error for field 'title': title is required"),
        (b'{"title":""}', "Validation error for field 'title': title is required"),
        (
            b'{"title":5}',
            "Validation error for field 'body': json: cannot unmarshal number into Go struct field "
            "CreateSessionRequest.title of type string",
        ),
        (
            b'{"title":"t","promptMode":"x"}',
            "Validation error for field 'promptMode': promptMode must be 'default', 'append', or 'replace'",
        ),
        (
            b'{"title":"t","sessionType":"forked"}',
            "Validation error for field 'sessionType': API can only create main sessions. Use /fork endpoint for forked sessions. Subagent sessions are created automatically.",
        ),
        (
            b"[1]",
            "Validation error for field 'body': json: cannot unmarshal array into Go value of type http.CreateSessionRequest",
        ),
    ],
)
async def test_create_validation_errors(
    fake_mix: FakeMix, raw_http: aiohttp.ClientSession, data: bytes, message: str
) -> None:
    reply = await fetch(
        raw_http, "POST", f"{fake_mix.url}/api/sessions", data=data, headers={"Content-Type": "application/json"}
    )
    assert (reply.status, reply.json()) == (400, error(400, message, "validation_error"))
    assert reply.body.endswith(b"\n")
    assert len(fake_mix.sessions) == 0


async def test_prompt_size_limit(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    body = {"title": "t", "promptMode": "append", "customSystemPrompt": "x" * 60_000}
    reply = await fetch(raw_http, "POST", f"{fake_mix.url}/api/sessions", json=body)
    assert reply.status == 400
    assert "exceeds append mode limit of 50KB" in reply.json()["error"]["message"]


async def test_get_list_and_the_first_user_message_quirk(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    a = await create(raw_http, fake_mix, title="a")
    fake_mix.add_message(a["id"], "user", "hello")
    got = (await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions/{a['id']}")).json()
    assert got["userMessageCount"] == 1
    assert "firstUserMessage" not in got
    listed = (await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions")).json()
    assert listed == [{**got, "firstUserMessage": "hello"}]


async def test_get_unknown_is_404_not_found(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    reply = await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions/nope")
    assert (reply.status, reply.json()) == (404, error(404, "Session with ID 'nope' not found", "not_found"))


async def test_subagents_hidden_unless_asked(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    fake_mix.seed_sessions(1)
    fake_mix.seed_sessions(1, session_type="subagent", subagentType="general-purpose")
    default = (await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions")).json()
    everything = (await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions?includeSubagents=true")).json()
    assert [s["sessionType"] for s in default] == ["main"]
    assert [s["sessionType"] for s in everything] == ["main", "subagent"]


async def test_fork_with_and_without_body(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    source = await create(raw_http, fake_mix, title="src")
    for role, text in (("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")):
        fake_mix.add_message(source["id"], role, text)
    url = f"{fake_mix.url}/api/sessions/{source['id']}/fork"
    partial = await fetch(raw_http, "POST", url, json={"messageIndex": 1, "title": "branch"})
    assert partial.status == 201
    fork = partial.json()
    assert set(fork) == REQUIRED | {"parentSessionId"}
    assert (fork["title"], fork["sessionType"], fork["parentSessionId"]) == ("branch", "forked", source["id"])
    assert (fork["userMessageCount"], fork["assistantMessageCount"]) == (1, 1)  # 0-based: messages 0 and 1
    whole = await fetch(raw_http, "POST", url)
    assert whole.status == 201
    assert (whole.json()["title"], whole.json()["userMessageCount"]) == ("Forked Session", 2)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messageIndex": -1}, "Validation error for field 'messageIndex': message index must be >= 0"),
        ({"messageIndex": 0, "extra": True}, "Validation error for field 'body': json: unknown field \"extra\""),
    ],
)
async def test_fork_validation(fake_mix: FakeMix, raw_http: aiohttp.ClientSession, body: Any, message: str) -> None:
    source = await create(raw_http, fake_mix, title="src")
    reply = await fetch(raw_http, "POST", f"{fake_mix.url}/api/sessions/{source['id']}/fork", json=body)
    assert (reply.status, reply.json()) == (400, error(400, message, "validation_error"))


async def test_fork_or_delete_of_unknown_is_500_internal_error(
    fake_mix: FakeMix, raw_http: aiohttp.ClientSession
) -> None:
    fork = await fetch(raw_http, "POST", f"{fake_mix.url}/api/sessions/nope/fork", json={"messageIndex": 0})
    assert (fork.status, fork.json()) == (
        500,
        error(500, "Internal error during forking session: session not found", "internal_error"),
    )
    delete = await fetch(raw_http, "DELETE", f"{fake_mix.url}/api/sessions/nope")
    assert (delete.status, delete.json()["error"]["type"]) == (500, "internal_error")


async def test_delete_is_204(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    s = await create(raw_http, fake_mix, title="d")
    reply = await fetch(raw_http, "DELETE", f"{fake_mix.url}/api/sessions/{s['id']}")
    assert (reply.status, reply.body) == (204, b"")
    assert (await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions/{s['id']}")).status == 404


async def test_options_preflight_and_unknown_route(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    reply = await fetch(raw_http, "OPTIONS", f"{fake_mix.url}/api/sessions")
    assert reply.status == 200
    assert reply.headers["Access-Control-Max-Age"] == "86400"
    missing = await fetch(raw_http, "GET", f"{fake_mix.url}/api/nothing")
    assert missing.status == 404
    assert missing.headers["Content-Type"].startswith("text/plain")


async def test_created_at_uses_the_server_zone(raw_http: aiohttp.ClientSession) -> None:
    async with FakeMix(tz=timezone(timedelta(hours=5, minutes=30))) as fake:
        reply = await fetch(raw_http, "POST", f"{fake.url}/api/sessions", json={"title": "t"})
        assert reply.json()["createdAt"].endswith("+05:30")


async def test_populate(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    fake_mix.populate(2_000)
    listed = (await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions")).json()
    assert len(listed) == 2_000
    assert set(listed[0]) == REQUIRED
    one = await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions/{listed[5]['id']}")
    assert one.json() == listed[5]
