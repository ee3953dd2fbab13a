"""`sessionkit devin sessions create|get` and `sessionkit log10 sessions create`."""

from __future__ import annotations

from sessionkit.testing import FakeDevin, FakeLog10
from tests._support.fake_fixtures import DEVIN_API_KEY as DEVIN_KEY
from tests._support.fake_fixtures import LOG10_TOKEN

from ._run import sessionkit


async def test_devin_create(fake_devin: FakeDevin) -> None:
    run = await sessionkit(
        "devin", "sessions", "create", "--body", '{"prompt": "fix the tests"}', "--server-url", fake_devin.url,
        "--api-key", DEVIN_KEY,
    )  # fmt: skip
    assert run.code == 0, run
    created = run.json()
    assert created["session_id"].startswith("devin-")
    assert set(created) >= {"session_id", "url"}


async def test_devin_get_with_the_key_from_the_environment(fake_devin: FakeDevin) -> None:
    [seeded] = fake_devin.seed_sessions(1)
    run = await sessionkit(
        "devin",
        "sessions",
        "get",
        seeded["session_id"],
        "--server-url",
        fake_devin.url,
        env={"DEVIN_API_KEY": DEVIN_KEY},
    )
    assert run.code == 0, run
    details = run.json()
    assert details["session_id"] == seeded["session_id"]
    assert "created_at" in details


async def test_log10_create_with_organization(fake_log10: FakeLog10) -> None:
    run = await sessionkit(
        "log10", "sessions", "create", "--server-url", fake_log10.url, "--token", LOG10_TOKEN, "--organization", "org-7"
    )
    assert run.code == 0, run
    assert run.json() in fake_log10.sessions  # the printed id is the one the server stored
    headers = fake_log10.requests[-1].headers
    assert (headers["X-Log10-Token"], headers["X-Log10-Organization"]) == (LOG10_TOKEN, "org-7")


async def test_log10_credentials_from_the_environment(fake_log10: FakeLog10) -> None:
    env = {"LOG10_TOKEN": LOG10_TOKEN, "LOG10_ORG_ID": "org-env"}
    run = await sessionkit("log10", "sessions", "create", "--server-url", fake_log10.url, env=env)
    assert run.code == 0, run
    assert fake_log10.requests[-1].headers["X-Log10-Organization"] == "org-env"


async def test_log10_without_a_token_sends_nothing_and_names_the_variable(fake_log10: FakeLog10) -> None:
    sent_before = len(fake_log10.requests)
    run = await sessionkit("log10", "sessions", "create", "--server-url", fake_log10.url)
    assert run.code == 2, run  # a usage error: nothing was sent
    error = run.error()
    assert error["error"] == "InvalidRequestError"
    assert error["field_path"] == "token"
    assert "LOG10_TOKEN" in error["message"]
    assert len(fake_log10.requests) == sent_before


async def test_log10_create_batch_makes_one_session_per_line(fake_log10: FakeLog10) -> None:
    stdin = '{}\n{"organization": "org-a"}\n{}\n'
    run = await sessionkit(
        "log10", "sessions", "create", "--batch", "--server-url", fake_log10.url, "--token", LOG10_TOKEN, stdin=stdin
    )
    assert run.code == 0, run
    ids = [line["ok"] for line in run.lines()]
    assert len(set(ids)) == 3
    assert [fake_log10.sessions.get(i)["organization"] for i in ids] == [None, "org-a", None]
