"""`sessionkit mix sessions ...`: every operation (Mix has no auth)."""

from __future__ import annotations

from sessionkit.testing import FakeMix

from ._run import sessionkit


async def test_list(fake_mix: FakeMix) -> None:
    seeded = fake_mix.seed_sessions(2)
    run = await sessionkit("mix", "sessions", "list", "--server-url", fake_mix.url)
    assert run.code == 0, run
    assert [s["id"] for s in run.json()] == [s["id"] for s in seeded]


async def test_create(fake_mix: FakeMix) -> None:
    run = await sessionkit(
        "mix", "sessions", "create", "--body", '{"title": "from the cli"}', "--server-url", fake_mix.url
    )
    assert run.code == 0, run
    session = run.json()
    assert session["title"] == "from the cli"
    assert "createdAt" in session  # camelCase wire names


async def test_get(fake_mix: FakeMix) -> None:
    [seeded] = fake_mix.seed_sessions(1)
    run = await sessionkit("mix", "sessions", "get", seeded["id"], "--server-url", fake_mix.url)
    assert run.code == 0, run
    assert run.json()["id"] == seeded["id"]


async def test_fork_merges_the_body_with_the_id(fake_mix: FakeMix) -> None:
    [seeded] = fake_mix.seed_sessions(1)
    fake_mix.add_message(seeded["id"], "user", "hello")
    body = '{"message_index": 0, "title": "forked"}'
    run = await sessionkit("mix", "sessions", "fork", seeded["id"], "--body", body, "--server-url", fake_mix.url)
    assert run.code == 0, run
    fork = run.json()
    assert (fork["title"], fork["parentSessionId"]) == ("forked", seeded["id"])
    request = fake_mix.requests[-1]
    assert request.path == f"/api/sessions/{seeded['id']}/fork"
    assert request.json() == {"messageIndex": 0, "title": "forked"}


async def test_delete(fake_mix: FakeMix) -> None:
    [seeded] = fake_mix.seed_sessions(1)
    run = await sessionkit("mix", "sessions", "delete", seeded["id"], "--server-url", fake_mix.url)
    assert run.code == 0, run
    assert len(fake_mix.sessions) == 0


async def test_fork_of_a_missing_session_is_the_servers_500(fake_mix: FakeMix) -> None:
    run = await sessionkit("mix", "sessions", "fork", "nope", "--server-url", fake_mix.url, "--retries", "0")
    assert run.code == 1, run
    error = run.error()
    assert (error["status"], error["body"]["error"]["type"]) == (500, "internal_error")
