"""FakeDevin against the Devin v1 contract tables (contracts/devin-jupyter.md part 1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp
import pytest

from sessionkit.testing import FakeDevin
from tests._support.fake_fixtures import DEVIN_API_KEY, fetch

AUTH = {"Authorization": f"Bearer {DEVIN_API_KEY}"}
GET_FIELDS = {
    "session_id", "status", "status_enum", "title", "created_at", "updated_at", "snapshot_id", "playbook_id",
    "tags", "pull_request", "structured_output", "messages",
}  # fmt: skip


async def create(http: aiohttp.ClientSession, fake: FakeDevin, body: Any) -> dict[str, Any]:
    reply = await fetch(http, "POST", f"{fake.url}/v1/sessions", json=body, headers=AUTH)
    assert reply.status == 200, reply.body  # 200, not 201
    assert reply.headers["Content-Type"] == "application/json"
    return reply.json()


async def test_create_returns_id_and_url_only(fake_devin: FakeDevin, raw_http: aiohttp.ClientSession) -> None:
    created = await create(raw_http, fake_devin, {"prompt": "fix the bug"})
    assert set(created) == {"session_id", "url"}
    assert created["session_id"].startswith("devin-")
    assert created["url"] == f"https://app.devin.ai/sessions/{created['session_id'].removeprefix('devin-')}"


async def test_idempotent_create_returns_the_same_session(
    fake_devin: FakeDevin, raw_http: aiohttp.ClientSession
) -> None:
    first = await create(raw_http, fake_devin, {"prompt": "p", "idempotent": True})
    second = await create(raw_http, fake_devin, {"prompt": "p", "idempotent": True})
    other = await create(raw_http, fake_devin, {"prompt": "q", "idempotent": True})
    assert first["is_new_session"] is True
    assert second["is_new_session"] is False
    assert second["session_id"] == first["session_id"] != other["session_id"]
    plain = await create(raw_http, fake_devin, {"prompt": "p"})
    assert plain["session_id"] != first["session_id"]
    assert "is_new_session" not in plain
    assert len(fake_devin.sessions) == 3


async def test_get_returns_every_documented_field(fake_devin: FakeDevin, raw_http: aiohttp.ClientSession) -> None:
    body = {"prompt": "build it", "title": "Build", "tags": ["x"], "snapshot_id": "snap", "max_acu_limit": 5,
            "unlisted": True, "secret_ids": [], "session_secrets": [{"key": "k", "value": "v", "sensitive": True}],
            "structured_output_schema": {"type": "object"}}  # fmt: skip
    created = await create(raw_http, fake_devin, body)
    reply = await fetch(raw_http, "GET", f"{fake_devin.url}/v1/sessions/{created['session_id']}", headers=AUTH)
    assert reply.status == 200
    session = reply.json()
    assert set(session) == GET_FIELDS
    assert (session["status"], session["status_enum"]) == ("running", "working")
    assert (session["title"], session["tags"], session["snapshot_id"], session["playbook_id"]) == (
        "Build",
        ["x"],
        "snap",
        None,
    )
    assert session["pull_request"] is None
    assert session["structured_output"] is None
    assert datetime.fromisoformat(session["created_at"]).tzinfo is not None
    [message] = session["messages"]
    assert (message["type"], message["message"]) == ("initial_user_message", "build it")


async def test_set_status_drives_polling(fake_devin: FakeDevin, raw_http: aiohttp.ClientSession) -> None:
    created = await create(raw_http, fake_devin, {"prompt": "p"})
    fake_devin.set_status(
        created["session_id"], "finished", structured_output={"ok": True}, pull_request={"url": "https://x/pr/1"}
    )
    session = (
        await fetch(raw_http, "GET", f"{fake_devin.url}/v1/sessions/{created['session_id']}", headers=AUTH)
    ).json()
    assert (session["status_enum"], session["status"], session["structured_output"]) == (
        "finished",
        "finished",
        {"ok": True},
    )
    assert session["pull_request"] == {"url": "https://x/pr/1"}
    with pytest.raises(KeyError):
        fake_devin.set_status("devin-missing", "finished")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": DEVIN_API_KEY}])
async def test_bad_auth_is_401_detail(
    fake_devin: FakeDevin, raw_http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    for method, path in (("POST", "/v1/sessions"), ("GET", "/v1/sessions/devin-x")):
        reply = await fetch(raw_http, method, f"{fake_devin.url}{path}", json={"prompt": "p"}, headers=headers)
        assert (reply.status, reply.json()) == (401, {"detail": "Missing or invalid Authorization header"})
    assert len(fake_devin.sessions) == 0


async def test_unknown_session_is_404_detail(fake_devin: FakeDevin, raw_http: aiohttp.ClientSession) -> None:
    reply = await fetch(raw_http, "GET", f"{fake_devin.url}/v1/sessions/devin-nope", headers=AUTH)
    assert (reply.status, reply.json()) == (404, {"detail": "Session not found"})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]),
        (b"{}", [{"type": "missing", "loc": ["body", "prompt"], "msg": "Field required", "input": {}}]),
        (
            b'{"prompt": 1}',
            [{"type": "string_type", "loc": ["body", "prompt"], "msg": "Input should be a valid string", "input": 1}],
        ),
        (
            b'{"prompt": "p", "max_acu_limit": 0, "unlisted": "maybe"}',
            [
                {
                    "type": "bool_type",
                    "loc": ["body", "unlisted"],
                    "msg": "Input should be a valid boolean",
                    "input": "maybe",
                },
                {
                    "type": "greater_than",
                    "loc": ["body", "max_acu_limit"],
                    "msg": "Input should be greater than 0",
                    "input": 0,
                    "ctx": {"gt": 0},
                },
            ],
        ),
        (
            b'{"prompt": "p", "tags": "x"}',
            [{"type": "list_type", "loc": ["body", "tags"], "msg": "Input should be a valid list", "input": "x"}],
        ),
    ],
)
async def test_validation_errors_are_fastapi_422(
    fake_devin: FakeDevin, raw_http: aiohttp.ClientSession, data: bytes, expected: list[dict[str, Any]]
) -> None:
    reply = await fetch(
        raw_http,
        "POST",
        f"{fake_devin.url}/v1/sessions",
        data=data,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert (reply.status, reply.json()) == (422, {"detail": expected})


async def test_invalid_json_is_422_json_invalid(fake_devin: FakeDevin, raw_http: aiohttp.ClientSession) -> None:
    reply = await fetch(
        raw_http,
        "POST",
        f"{fake_devin.url}/v1/sessions",
        data=b"{nope",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert reply.status == 422
    [detail] = reply.json()["detail"]
    assert (detail["type"], detail["msg"]) == ("json_invalid", "JSON decode error")


async def test_unknown_fields_are_ignored(fake_devin: FakeDevin, raw_http: aiohttp.ClientSession) -> None:
    created = await create(raw_http, fake_devin, {"prompt": "p", "planning_mode": "auto_confirm"})
    assert created["session_id"] in fake_devin.sessions


async def test_seed_and_populate(fake_devin: FakeDevin, raw_http: aiohttp.ClientSession) -> None:
    [seeded] = fake_devin.seed_sessions(1, status_enum="blocked")
    fake_devin.populate(10_000)
    got = (await fetch(raw_http, "GET", f"{fake_devin.url}/v1/sessions/{seeded['session_id']}", headers=AUTH)).json()
    assert got["status_enum"] == "blocked"
    lazy = (await fetch(raw_http, "GET", f"{fake_devin.url}/v1/sessions/devin-pop000000009999", headers=AUTH)).json()
    assert lazy["messages"][0]["message"] == "Populated task 9999"
    assert len(fake_devin.sessions) == 10_001
