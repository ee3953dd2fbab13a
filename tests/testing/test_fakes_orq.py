"""FakeOrq against contracts/orq-live.md, at the HTTP level and through the official `orq-ai-sdk`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import httpx
import pytest
from orq_ai_sdk import Orq, models  # the official SDK (a dev dependency) is the oracle of the wire shapes

from sessionkit.testing import FakeOrq
from tests._support.fake_fixtures import ORQ_API_KEY, fetch

AUTH = {"Authorization": f"Bearer {ORQ_API_KEY}"}
THREAD = {
    "external_id": "ext-1",
    "duration": 1240,
    "contact_ids": [],
    "billing": {"input_cost": 0.0012, "output_cost": 0.0024, "total_cost": 0.0036},
    "usage": {"prompt_tokens": 480, "completion_tokens": 132, "total_tokens": 612},
    "traces_count": 1,
    "tags": ["support"],
}
ALL_TIME = {"interval": "SESSION_INTERVAL_ALL_TIME"}


async def post(http: aiohttp.ClientSession, fake: FakeOrq, path: str, body: Any) -> Any:
    reply = await fetch(http, "POST", f"{fake.url}{path}", json=body, headers=AUTH)
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"] == "application/json"
    return reply.json()


# -- HTTP level -------------------------------------------------------------------------------------


async def test_create_get_update_delete(fake_orq: FakeOrq, raw_http: aiohttp.ClientSession) -> None:
    thread = await post(
        raw_http, fake_orq, "/v2/sessions", {**THREAD, "project_id": "p1", "kind": "THREAD_KIND_CUSTOM"}
    )
    assert thread["_id"].startswith("thread_")
    assert len(thread["_id"]) == 33
    assert {k: thread[k] for k in THREAD} == THREAD
    assert (thread["project_id"], thread["kind"]) == ("p1", "THREAD_KIND_CUSTOM")  # kind is an open enum
    assert thread["started_at"].endswith("Z")
    assert thread["updated_at"] == thread["started_at"]
    url = f"{fake_orq.url}/v2/sessions/{thread['_id']}"
    got = await fetch(raw_http, "GET", url, headers=AUTH)
    assert (got.status, got.json()) == (200, thread)
    patched = await fetch(
        raw_http, "PATCH", url, json={"title": "t", "tags": ["x"], "clear_contact_ids": True}, headers=AUTH
    )
    assert patched.status == 200
    assert (patched.json()["title"], patched.json()["tags"], patched.json()["external_id"]) == ("t", ["x"], "ext-1")
    cleared = await fetch(raw_http, "PATCH", url, json={"clear_tags": True}, headers=AUTH)
    assert cleared.json()["tags"] == []
    deleted = await fetch(raw_http, "DELETE", url, headers=AUTH)
    assert (deleted.status, deleted.body) == (204, b"")
    gone = await fetch(raw_http, "GET", url, headers=AUTH)
    assert (gone.status, gone.json()) == (404, {"message": "Session not found", "code": 5})
    assert (await fetch(raw_http, "DELETE", url, headers=AUTH)).status == 404
    assert (await fetch(raw_http, "PATCH", url, json={}, headers=AUTH)).status == 404


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": ORQ_API_KEY}])
async def test_bad_auth_is_401_error_response(
    fake_orq: FakeOrq, raw_http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    for method, path in (("GET", "/v2/sessions/x"), ("POST", "/v2/sessions"), ("GET", "/v2/sessions/tags")):
        reply = await fetch(raw_http, method, f"{fake_orq.url}{path}", json=THREAD, headers=headers)
        assert reply.status == 401
        assert reply.json() == {"message": "Invalid or missing API key", "code": 16}
    assert len(fake_orq.sessions) == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "Request body must be a JSON object"),
        ({k: v for k, v in THREAD.items() if k != "external_id"}, "external_id: Required"),
        ({**THREAD, "duration": "long"}, "duration: Invalid value"),
        ({**THREAD, "usage": {"prompt_tokens": 1}}, "usage: Invalid value"),
        ({**THREAD, "tags": [1]}, "tags: Invalid value"),
    ],
)
async def test_create_validation_is_400(
    fake_orq: FakeOrq, raw_http: aiohttp.ClientSession, body: Any, message: str
) -> None:
    reply = await fetch(raw_http, "POST", f"{fake_orq.url}/v2/sessions", json=body, headers=AUTH)
    assert (reply.status, reply.json()) == (400, {"message": message, "code": 3})


async def test_query_paginates_by_page_with_has_more(fake_orq: FakeOrq, raw_http: aiohttp.ClientSession) -> None:
    seeded = fake_orq.seed_sessions(120)
    pages: list[dict[str, Any]] = []
    for page in (1, 2, 3):
        pages.append(await post(raw_http, fake_orq, "/v2/sessions/query", {"filters": ALL_TIME, "page": page}))
    assert [len(p["data"]) for p in pages] == [50, 50, 20]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert all(p["object"] == "list" for p in pages)
    assert [t["_id"] for p in pages for t in p["data"]] == [t["_id"] for t in seeded]
    small = await post(raw_http, fake_orq, "/v2/sessions/query", {"filters": ALL_TIME, "limit": 120})
    assert (len(small["data"]), small["has_more"]) == (120, False)
    past = await post(raw_http, fake_orq, "/v2/sessions/query", {"filters": ALL_TIME, "page": 9})
    assert (past["data"], past["has_more"]) == ([], False)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "filters: Required"),
        ({"filters": {}}, "filters.interval: Required"),
        ({"filters": ALL_TIME, "page": 0}, "page: must be an integer >= 1"),
        ({"filters": ALL_TIME, "limit": 0}, "limit: must be an integer from 1 to 1000"),
    ],
)
async def test_query_validation(fake_orq: FakeOrq, raw_http: aiohttp.ClientSession, body: Any, message: str) -> None:
    reply = await fetch(raw_http, "POST", f"{fake_orq.url}/v2/sessions/query", json=body, headers=AUTH)
    assert (reply.status, reply.json()["message"]) == (400, message)


async def test_filters_count_and_tags(fake_orq: FakeOrq, raw_http: aiohttp.ClientSession) -> None:
    old = datetime.now(timezone.utc) - timedelta(days=10)
    fake_orq.seed_sessions(6)
    fake_orq.seed_sessions(2, project_id="p9", client="cli", started_at=old.isoformat())
    count = await post(raw_http, fake_orq, "/v2/sessions/count", {"filters": ALL_TIME})
    assert count == {"count": 8}

    async def count_of(**filters: Any) -> int:
        return (await post(raw_http, fake_orq, "/v2/sessions/count", {"filters": {**ALL_TIME, **filters}}))["count"]

    assert await count_of(tags=["a", "b"]) == 6  # any of; the 8 seeds cycle a, b, c
    assert await count_of(tags=["c"]) == 2
    assert await count_of(project_id="p9") == 2
    assert await count_of(client="cli") == 2
    assert await count_of(interval="SESSION_INTERVAL_LAST_24_HOURS") == 6
    assert await count_of(end_date=(old + timedelta(days=1)).isoformat()) == 2
    assert await count_of(start_date=str(int((old + timedelta(days=1)).timestamp() * 1000))) == 6  # epoch millis
    listed = await post(raw_http, fake_orq, "/v2/sessions/query", {"filters": {**ALL_TIME, "tags": ["c"]}})
    assert {t["tags"][0] for t in listed["data"]} == {"c"}
    tags = await fetch(raw_http, "GET", f"{fake_orq.url}/v2/sessions/tags", headers=AUTH)
    assert (tags.status, tags.json()) == (200, ["a", "b", "c"])


async def test_populate_serves_a_large_population_cheaply(fake_orq: FakeOrq, raw_http: aiohttp.ClientSession) -> None:
    fake_orq.populate(1_000_000)
    assert await post(raw_http, fake_orq, "/v2/sessions/count", {"filters": ALL_TIME}) == {"count": 1_000_000}
    last = await post(raw_http, fake_orq, "/v2/sessions/query", {"filters": ALL_TIME, "page": 20_000, "limit": 50})
    assert (len(last["data"]), last["has_more"]) == (50, False)
    assert last["data"][-1]["_id"] == "thread_pop_000000999999"
    one = await fetch(raw_http, "GET", f"{fake_orq.url}/v2/sessions/thread_pop_000000000007", headers=AUTH)
    assert one.json()["external_id"] == "seed-7"
    await fetch(
        raw_http, "PATCH", f"{fake_orq.url}/v2/sessions/thread_pop_000000000007", json={"title": "kept"}, headers=AUTH
    )
    assert (await fetch(raw_http, "GET", f"{fake_orq.url}/v2/sessions/thread_pop_000000000007", headers=AUTH)).json()[
        "title"
    ] == "kept"
    assert (
        await fetch(raw_http, "DELETE", f"{fake_orq.url}/v2/sessions/thread_pop_000000000000", headers=AUTH)
    ).status == 204
    assert await post(raw_http, fake_orq, "/v2/sessions/count", {"filters": ALL_TIME}) == {"count": 999_999}
    first = await post(raw_http, fake_orq, "/v2/sessions/query", {"filters": ALL_TIME, "limit": 1})
    assert first["data"][0]["_id"] == "thread_pop_000000000001"


# -- through the official SDK ------------------------------------------------------------------------


@pytest.fixture
async def orq(fake_orq: FakeOrq) -> AsyncIterator[Orq]:
    async with httpx.AsyncClient() as client:
        yield Orq(api_key=ORQ_API_KEY, server_url=fake_orq.url, async_client=client)


async def test_official_sdk_decodes_every_response(fake_orq: FakeOrq, orq: Orq) -> None:
    created = await orq.sessions.create_async(**THREAD, title="first", kind="THREAD_KIND_CONVERSATION")
    assert isinstance(created, models.Thread)
    assert (created.external_id, created.title, created.billing.total_cost) == ("ext-1", "first", 0.0036)
    assert created.started_at is not None
    assert created.started_at.tzinfo is not None
    got = await orq.sessions.get_async(session_id=created.id)
    assert got == created
    updated = await orq.sessions.update_async(session_id=created.id, tags=["x", "y"], clear_contact_ids=True)
    assert updated.tags == ["x", "y"]
    assert updated.id == created.id
    fake_orq.seed_sessions(3)
    page = await orq.sessions.list_async(filters={"interval": "SESSION_INTERVAL_ALL_TIME"}, limit=2, page=1)
    assert isinstance(page, models.ListThreadsResponse)
    assert (len(page.data), page.has_more, page.data[0].id) == (2, True, created.id)
    count = await orq.sessions.get_count_async(filters={"interval": "SESSION_INTERVAL_LAST_1_HOUR"})
    assert count.count == 4
    assert await orq.sessions.list_tags_async() == ["a", "b", "c", "x", "y"]
    assert await orq.sessions.delete_async(session_id=created.id) is None
    assert [r.path for r in fake_orq.requests][-1] == f"/v2/sessions/{created.id}"


async def test_official_sdk_maps_errors(fake_orq: FakeOrq) -> None:
    async with httpx.AsyncClient() as client:
        bad = Orq(api_key="wrong", server_url=fake_orq.url, async_client=client)
        with pytest.raises(models.ErrorResponse) as unauthorized:
            await bad.sessions.list_tags_async()
        assert unauthorized.value.data.code == 16
        good = Orq(api_key=ORQ_API_KEY, server_url=fake_orq.url, async_client=client)
        with pytest.raises(models.ErrorResponse) as missing:
            await good.sessions.get_async(session_id="thread_missing")
        assert missing.value.data.message == "Session not found"
        with pytest.raises(models.APIDefaultError) as invalid:
            await good.sessions.list_async(filters={"interval": "SESSION_INTERVAL_ALL_TIME"}, page=0)
        assert invalid.value.status_code == 400


async def test_official_sdk_reads_populated_threads(fake_orq: FakeOrq, orq: Orq) -> None:
    fake_orq.populate(500, kind="THREAD_KIND_CODING_AGENT", title="populated")
    page = await orq.sessions.list_async(filters={"interval": "SESSION_INTERVAL_ALL_TIME"}, limit=100, page=5)
    assert (len(page.data), page.has_more) == (100, False)
    assert {t.kind for t in page.data} == {"THREAD_KIND_CODING_AGENT"}
