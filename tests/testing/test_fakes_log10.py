"""FakeLog10 against contracts/orq-log10-mix.md section 1."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from sessionkit.testing import FakeLog10
from tests._support.fake_fixtures import LOG10_ORG, LOG10_TOKEN, fetch


@pytest.mark.parametrize(
    ("headers", "kwargs"),
    [
        ({"X-Log10-Token": LOG10_TOKEN, "X-Log10-Organization": LOG10_ORG}, {}),  # what log10ts sends: no body
        ({"X-Log10-Token": LOG10_TOKEN, "X-Log10-Organization": ""}, {}),  # empty org header
        ({"X-Log10-Token": LOG10_TOKEN}, {"json": {"organization_id": LOG10_ORG}}),  # legacy client body
    ],
)
async def test_create_is_201_session_id(
    fake_log10: FakeLog10, raw_http: aiohttp.ClientSession, headers: dict[str, str], kwargs: dict[str, object]
) -> None:
    reply = await fetch(raw_http, "POST", f"{fake_log10.url}/api/v1/sessions", headers=headers, **kwargs)
    assert reply.status == 201
    assert reply.headers["Content-Type"] == "application/json"
    body = reply.json()
    assert set(body) == {"session"}
    assert set(body["session"]) == {"id"}
    uuid.UUID(body["session"]["id"])
    stored = fake_log10.sessions.get(body["session"]["id"])
    assert stored is not None
    assert stored["organization"] == (headers.get("X-Log10-Organization") or None)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Log10-Token": "wrong"},
        {"Authorization": f"Bearer {LOG10_TOKEN}"},
        {"X-Log10-Token": f"Bearer {LOG10_TOKEN}"},
    ],
)
async def test_bad_token_is_401(
    fake_log10: FakeLog10, raw_http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    reply = await fetch(raw_http, "POST", f"{fake_log10.url}/api/v1/sessions", headers=headers)
    assert (reply.status, reply.json()) == (401, {"message": "Unauthorized"})
    assert len(fake_log10.sessions) == 0


async def test_other_organization_is_403(fake_log10: FakeLog10, raw_http: aiohttp.ClientSession) -> None:
    headers = {"X-Log10-Token": LOG10_TOKEN, "X-Log10-Organization": "someone-else"}
    reply = await fetch(raw_http, "POST", f"{fake_log10.url}/api/v1/sessions", headers=headers)
    assert (reply.status, reply.json()) == (403, {"message": "Forbidden"})


async def test_each_create_is_a_new_session(fake_log10: FakeLog10, raw_http: aiohttp.ClientSession) -> None:
    headers = {"X-Log10-Token": LOG10_TOKEN}
    ids = {
        (await fetch(raw_http, "POST", f"{fake_log10.url}/api/v1/sessions", headers=headers)).json()["session"]["id"]
        for _ in range(3)
    }
    assert len(ids) == 3 == len(fake_log10.sessions)
