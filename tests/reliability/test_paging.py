"""Paging that never ends: `orq.sessions_list_all` against loopback servers that break the contract.

| server                                            | outcome                                               |
| ------------------------------------------------- | ----------------------------------------------------- |
| ignores `page`: the same page, `has_more` true    | its items once, then Err(ResponseValidationError)     |
| cycles between two pages                          | both pages' items once, then the same Err             |
| new ids on every page, `has_more` always true     | `max_pages` pages of items, then the same Err         |
| overlapping pages (an offset shifted by a create) | every page yielded, repeats included, no Err          |
| a last page (no `has_more`) of repeats            | yielded, then the end, no Err                         |
| a normal listing (also one of exactly max_pages)  | every item once, in order, no Err                     |

Each call that looped forever before the guard runs under `asyncio.wait_for(..., 30)`, so a
regression fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sessionkit import Err, InvalidRequestError, Ok, ResponseValidationError
from sessionkit._paging import _SeenIds
from sessionkit.orq import OrqCore, sessions_list_all
from tests.cli._run import sessionkit

KEY = "orq-paging-key"
ALL_TIME = {"interval": "SESSION_INTERVAL_ALL_TIME"}
GUARD = 30.0  # seconds: only a hang reaches it

# (page, limit) -> (ids on that page, has_more)
Pager = Callable[[int, int], tuple[list[str], bool]]


def thread_json(session_id: str) -> dict[str, Any]:
    return {
        "_id": session_id,
        "external_id": f"ext-{session_id}",
        "duration": 10,
        "contact_ids": [],
        "billing": {"input_cost": 0, "output_cost": 0, "total_cost": 0},
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "traces_count": 0,
        "tags": [],
    }


class PagingServer:
    """`POST /v2/sessions/query` on 127.0.0.1, answered by `pager`; records the pages asked for."""

    def __init__(self, pager: Pager) -> None:
        self.pager = pager
        self.pages: list[int] = []
        app = web.Application()
        app.router.add_post("/v2/sessions/query", self._query)
        self.server = TestServer(app)

    async def _query(self, request: web.Request) -> web.Response:
        body = await request.json()
        page, limit = body.get("page", 1), body.get("limit", 50)
        self.pages.append(page)
        ids, has_more = self.pager(page, limit)
        return web.json_response({"object": "list", "data": [thread_json(i) for i in ids], "has_more": has_more})

    @property
    def url(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")


ServeFactory = Callable[[Pager], Any]


@pytest.fixture
async def serve() -> AsyncIterator[ServeFactory]:
    started: list[PagingServer] = []

    async def start(pager: Pager) -> PagingServer:
        server = PagingServer(pager)
        await server.server.start_server()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.server.close()


async def list_all(server: PagingServer, request: dict[str, Any], **kwargs: Any) -> list[Any]:
    async def collect() -> list[Any]:
        async with OrqCore(KEY, server_url=server.url, retries=0) as core:
            return [r async for r in sessions_list_all(core, request, **kwargs)]

    return await asyncio.wait_for(collect(), GUARD)


def ok_ids(results: list[Any]) -> list[str]:
    return [r.value.id for r in results if isinstance(r, Ok)]


def final_error(results: list[Any]) -> Any:
    assert results, "nothing yielded"
    assert all(isinstance(r, Ok) for r in results[:-1]), results
    last = results[-1]
    assert isinstance(last, Err), last
    return last.error


async def test_a_server_that_ignores_page_ends_with_a_validation_error(serve: ServeFactory) -> None:
    server = await serve(lambda page, limit: (["a", "b"], True))
    results = await list_all(server, {"filters": ALL_TIME, "limit": 2})
    assert ok_ids(results) == ["a", "b"]  # the repeated page is not yielded a second time
    error = final_error(results)
    assert isinstance(error, ResponseValidationError)
    assert "repeated page 1 as page 2" in error.reason
    assert (error.operation_id, error.status, error.field_path) == ("orq.sessions.list", 200, "data")
    assert server.pages == [1, 2]


async def test_a_server_that_ignores_a_start_page_names_the_pages_it_was_asked_for(serve: ServeFactory) -> None:
    server = await serve(lambda page, limit: (["a"], True))
    results = await list_all(server, {"filters": ALL_TIME, "page": 7})
    assert ok_ids(results) == ["a"]
    assert "repeated page 7 as page 8" in final_error(results).reason
    assert server.pages == [7, 8]


async def test_a_server_that_cycles_between_two_pages_ends_with_a_validation_error(serve: ServeFactory) -> None:
    server = await serve(lambda page, limit: ((["a", "b"] if page % 2 else ["c", "d"]), True))
    results = await list_all(server, {"filters": ALL_TIME, "limit": 2})
    assert ok_ids(results) == ["a", "b", "c", "d"]
    error = final_error(results)
    assert isinstance(error, ResponseValidationError)
    assert "page 3 only repeats sessions of earlier pages" in error.reason
    assert server.pages == [1, 2, 3]


async def test_a_server_that_never_ends_stops_at_max_pages(serve: ServeFactory) -> None:
    server = await serve(lambda page, limit: ([f"p{page}-{i}" for i in range(limit)], True))
    results = await list_all(server, {"filters": ALL_TIME, "limit": 3}, max_pages=5)
    assert ok_ids(results) == [f"p{p}-{i}" for p in range(1, 6) for i in range(3)]
    error = final_error(results)
    assert isinstance(error, ResponseValidationError)
    assert "max_pages=5" in error.reason
    assert "page 5 still says there is more" in error.reason
    assert server.pages == [1, 2, 3, 4, 5]  # no request past the bound


async def test_max_pages_counts_pages_from_the_start_page(serve: ServeFactory) -> None:
    server = await serve(lambda page, limit: ([f"p{page}"], True))
    results = await list_all(server, {"filters": ALL_TIME, "page": 10}, max_pages=2)
    assert ok_ids(results) == ["p10", "p11"]
    assert "max_pages=2" in final_error(results).reason
    assert server.pages == [10, 11]


def test_max_pages_is_keyword_only_with_a_finite_default() -> None:
    parameter = inspect.signature(sessions_list_all).parameters["max_pages"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default == 10_000
    assert "max_pages" in (sessions_list_all.__doc__ or "")


@pytest.mark.parametrize("bad", [0, -1, True, 2.5])
async def test_a_bad_max_pages_is_an_invalid_request_and_sends_nothing(serve: ServeFactory, bad: Any) -> None:
    server = await serve(lambda page, limit: (["a"], False))
    results = await list_all(server, {"filters": ALL_TIME}, max_pages=bad)
    assert len(results) == 1
    error = final_error(results)
    assert isinstance(error, InvalidRequestError)
    assert error.field_path == "max_pages"
    assert server.pages == []


def offset_pager(ids: list[str]) -> Pager:
    """An honest offset-paged server over `ids`."""

    def pager(page: int, limit: int) -> tuple[list[str], bool]:
        start = (page - 1) * limit
        return ids[start : start + limit], start + limit < len(ids)

    return pager


async def test_a_normal_multi_page_listing_reads_every_page(serve: ServeFactory) -> None:
    ids = [f"s{i:02}" for i in range(7)]
    server = await serve(offset_pager(ids))
    results = await list_all(server, {"filters": ALL_TIME, "limit": 3})
    assert all(isinstance(r, Ok) for r in results)
    assert ok_ids(results) == ids
    assert server.pages == [1, 2, 3]


async def test_a_listing_of_exactly_max_pages_is_not_an_error(serve: ServeFactory) -> None:
    ids = [f"s{i}" for i in range(6)]
    server = await serve(offset_pager(ids))
    results = await list_all(server, {"filters": ALL_TIME, "limit": 2}, max_pages=3)
    assert all(isinstance(r, Ok) for r in results)
    assert ok_ids(results) == ids


async def test_overlapping_pages_are_yielded_whole_and_are_not_an_error(serve: ServeFactory) -> None:
    # A session created at the top while paging shifts every offset page by one: the last item of
    # a page comes again first on the next. That is the server working, not looping.
    pages = {1: ["a", "b", "c"], 2: ["c", "d", "e"], 3: ["e", "f"]}
    server = await serve(lambda page, limit: (pages[page], page < 3))
    results = await list_all(server, {"filters": ALL_TIME, "limit": 3})
    assert all(isinstance(r, Ok) for r in results)
    assert ok_ids(results) == ["a", "b", "c", "c", "d", "e", "e", "f"]


async def test_a_last_page_of_repeats_is_yielded_and_ends_without_an_error(serve: ServeFactory) -> None:
    # It cannot loop (no `has_more`); with a page size of 1, one create while paging does this.
    pages = {1: ["a"], 2: ["a"]}
    server = await serve(lambda page, limit: (pages[page], page < 2))
    results = await list_all(server, {"filters": ALL_TIME, "limit": 1})
    assert all(isinstance(r, Ok) for r in results)
    assert ok_ids(results) == ["a", "a"]


async def test_the_cli_list_all_exits_with_the_error_instead_of_looping(serve: ServeFactory) -> None:
    server = await serve(lambda page, limit: (["a", "b"], True))
    body = json.dumps({"filters": ALL_TIME, "limit": 2})
    run = await sessionkit(
        "orq", "sessions", "list", "--all", "--body", body, "--server-url", server.url, "--api-key", KEY, timeout=GUARD
    )
    assert run.code == 1, run
    error = run.error()
    assert (error["error"], error["operation_id"], error["status"]) == (
        "ResponseValidationError",
        "orq.sessions.list",
        200,
    )
    assert "repeated page 1 as page 2" in error["message"]
    assert server.pages == [1, 2]


def test_the_seen_window_is_bounded() -> None:
    # 200 pages of 300 fresh ids through a 1,000-id window: it never holds more than the cap plus
    # one page, yet the previous page is always remembered whole.
    seen = _SeenIds(1_000)
    for page in range(200):
        ids = frozenset(hash(f"{page}-{i}") for i in range(300))
        seen.add(ids)
        assert len(seen._counts) <= 1_000 + 300
        assert seen.previous == ids
        assert seen.all_seen(ids)
    big = frozenset(range(5_000))  # a page larger than the cap is still kept, alone
    seen.add(big)
    assert len(seen._counts) == 5_000
    assert seen.all_seen(big)
