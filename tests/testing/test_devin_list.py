"""Devin v1 `sessions_list` (offset pages, filters) and `sessions_list_all`, against the fake and a
server that ignores `offset`."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from sessionkit import Err, Ok, ResponseValidationError
from sessionkit.devin import DevinCore, ListSessionsRequest, sessions_list, sessions_list_all
from sessionkit.testing import FakeDevin

KEY = "devin-test-key"


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


async def test_a_page_is_limit_sessions_from_offset_filtered_by_tags() -> None:
    async with FakeDevin(api_key=KEY) as fake, DevinCore(KEY, server_url=fake.url) as core:
        tagged = fake.seed_sessions(5, tags=["team-a", "nightly"])
        fake.seed_sessions(3, tags=["team-a"])
        page = (await sessions_list(core, {"limit": 2, "offset": 1, "tags": ["team-a", "nightly"]})).unwrap()
        both = (await sessions_list(core, {"tags": ["team-a", "nightly"]})).unwrap()
        everything = (await sessions_list(core)).unwrap()
    assert len(page.sessions) == 2
    assert {s.session_id for s in page.sessions} <= {d["session_id"] for d in tagged}
    # Both tags arrived as a repeated parameter: one alone would match all eight.
    assert {s.session_id for s in both.sessions} == {d["session_id"] for d in tagged}
    assert len(everything.sessions) == 8
    assert (fake.requests[0].query["limit"], fake.requests[0].query["offset"]) == ("2", "1")


async def test_list_all_reads_every_page_until_a_short_one() -> None:
    async with FakeDevin(api_key=KEY) as fake, DevinCore(KEY, server_url=fake.url) as core:
        docs = fake.seed_sessions(7)
        results = await collect(sessions_list_all(core, ListSessionsRequest(limit=3)))
    assert all(isinstance(r, Ok) for r in results)
    assert sorted(r.value.session_id for r in results) == sorted(d["session_id"] for d in docs)
    offsets = [r.query.get("offset") for r in fake.requests]
    assert offsets == ["0", "3", "6"] or offsets == [None, "3", "6"]


async def test_list_all_of_a_server_that_ignores_offset_ends_with_an_error() -> None:
    page = {
        "sessions": [
            {"session_id": f"devin-{i}", "status": "running", "created_at": "2026-01-01T00:00:00Z",
             "updated_at": "2026-01-01T00:00:00Z"}
            for i in range(2)
        ]
    }  # fmt: skip

    async def same_page(request: web.Request) -> web.Response:
        return web.json_response(page)

    app = web.Application()
    app.router.add_get("/v1/sessions", same_page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with DevinCore(KEY, server_url=f"http://127.0.0.1:{port}") as core:
            results = await asyncio.wait_for(collect(sessions_list_all(core, {"limit": 2})), 30)
    finally:
        await runner.cleanup()
    assert [type(r) for r in results] == [Ok, Ok, Err]
    error = results[-1].error
    assert isinstance(error, ResponseValidationError)
    assert "repeated offset 0 as offset 2" in error.reason
    assert error.field_path == "sessions"


async def test_a_bad_limit_is_an_invalid_request() -> None:
    async with DevinCore(KEY, server_url="http://127.0.0.1:9") as core:
        result = await sessions_list(core, {"limit": 0})
    assert isinstance(result, Err)
    assert result.error.__class__.__name__ == "InvalidRequestError"
