"""`sessionkit orq sessions ...`: every operation, `list --all` paging, and the env-var key."""

from __future__ import annotations

import json

from sessionkit.testing import FakeOrq, Fault
from tests._support.fake_fixtures import ORQ_API_KEY as ORQ_KEY

from ._run import sessionkit

THREAD = {
    "external_id": "cli-1",
    "duration": 1500,
    "contact_ids": ["c1"],
    "billing": {"input_cost": 0.1, "output_cost": 0.2, "total_cost": 0.3},
    "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
    "traces_count": 2,
    "tags": ["cli"],
}


def conn(fake: FakeOrq) -> list[str]:
    return ["--server-url", fake.url, "--api-key", ORQ_KEY]


async def test_create(fake_orq: FakeOrq) -> None:
    run = await sessionkit("orq", "sessions", "create", "--body", json.dumps(THREAD), *conn(fake_orq))
    assert run.code == 0, run
    thread = run.json()
    assert thread["_id"].startswith("thread_")  # the wire name, not the Python one
    assert thread["external_id"] == "cli-1"
    assert fake_orq.requests[-1].headers["Authorization"] == f"Bearer {ORQ_KEY}"


async def test_get(fake_orq: FakeOrq) -> None:
    [seeded] = fake_orq.seed_sessions(1)
    run = await sessionkit("orq", "sessions", "get", seeded["_id"], *conn(fake_orq))
    assert run.code == 0, run
    assert run.json()["_id"] == seeded["_id"]


async def test_update_sends_the_body_as_request_body(fake_orq: FakeOrq) -> None:
    [seeded] = fake_orq.seed_sessions(1)
    run = await sessionkit(
        "orq", "sessions", "update", seeded["_id"], "--body", '{"tags": ["x", "y"]}', *conn(fake_orq)
    )
    assert run.code == 0, run
    assert run.json()["tags"] == ["x", "y"]
    assert fake_orq.requests[-1].json() == {"tags": ["x", "y"]}


async def test_delete(fake_orq: FakeOrq) -> None:
    [seeded] = fake_orq.seed_sessions(1)
    run = await sessionkit("orq", "sessions", "delete", seeded["_id"], *conn(fake_orq))
    assert run.code == 0, run
    assert run.json() is None
    assert len(fake_orq.sessions) == 0


async def test_list_one_page_with_the_default_query(fake_orq: FakeOrq) -> None:
    fake_orq.seed_sessions(60)
    run = await sessionkit("orq", "sessions", "list", *conn(fake_orq))
    assert run.code == 0, run
    page = run.json()
    assert (len(page["data"]), page["has_more"]) == (50, True)
    assert fake_orq.requests[-1].json() == {"filters": {"interval": "SESSION_INTERVAL_ALL_TIME"}}


async def test_list_all_follows_every_page(fake_orq: FakeOrq) -> None:
    seeded = fake_orq.seed_sessions(120)
    body = '{"filters": {"interval": "SESSION_INTERVAL_ALL_TIME"}, "limit": 50}'
    run = await sessionkit("orq", "sessions", "list", "--all", "--body", body, *conn(fake_orq))
    assert run.code == 0, run
    assert [t["_id"] for t in run.json()] == [t["_id"] for t in seeded]
    assert [r.json()["page"] for r in fake_orq.requests] == [1, 2, 3]


async def test_count(fake_orq: FakeOrq) -> None:
    fake_orq.seed_sessions(7)
    run = await sessionkit("orq", "sessions", "count", *conn(fake_orq))
    assert run.code == 0, run
    assert run.json() == {"count": 7}


async def test_tags_with_the_key_from_the_environment(fake_orq: FakeOrq) -> None:
    fake_orq.seed_sessions(3)  # tags cycle a, b, c
    run = await sessionkit("orq", "sessions", "tags", "--server-url", fake_orq.url, env={"ORQ_API_KEY": ORQ_KEY})
    assert run.code == 0, run
    assert run.json() == ["a", "b", "c"]


async def test_a_missing_thread_is_an_api_error(fake_orq: FakeOrq) -> None:
    run = await sessionkit("orq", "sessions", "get", "thread_missing", *conn(fake_orq))
    assert run.code == 1, run
    error = run.error()
    assert (error["status"], error["operation_id"], error["attempts"]) == (404, "orq.sessions.get", 1)
    assert error["body"]["message"] == "Session not found"


async def test_list_all_stops_at_the_first_failure(fake_orq: FakeOrq) -> None:
    fake_orq.seed_sessions(3)
    fake_orq.faults.push(Fault.status(500), times=None, path="/v2/sessions/query")
    run = await sessionkit("orq", "sessions", "list", "--all", "--retries", "0", *conn(fake_orq))
    assert run.code == 1, run
    assert run.stdout == ""
    assert (run.error()["status"], run.error()["operation_id"]) == (500, "orq.sessions.list")
