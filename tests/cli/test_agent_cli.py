"""The CLI of agents: `sessionkit mix sessions run ID --message ... --grant-all|--deny-all`, the
answers and the history; Devin's attachments and insights (`devin-v3`) and v1's upload."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from sessionkit.testing import AskNotification, AskPermission, FailTurn, FakeDevin, FakeDevinV3, FakeMix, Pause, Say
from tests._support.fake_fixtures import DEVIN_API_KEY, fetch
from tests.cli._run import sessionkit

V3_KEY, V3_ORG = "cog_cli-key", "org-cli"


@pytest.fixture
async def mix() -> AsyncIterator[FakeMix]:
    async with FakeMix(version="0.11.4") as fake:
        yield fake


@pytest.fixture
async def devin_v3() -> AsyncIterator[FakeDevinV3]:
    async with FakeDevinV3(api_key=V3_KEY, org_id=V3_ORG) as fake:
        yield fake


def v3_args(fake: FakeDevinV3) -> list[str]:
    return ["--server-url", fake.url, "--api-key", V3_KEY, "--org-id", V3_ORG]


async def test_run_with_grant_all_answers_every_permission(mix: FakeMix) -> None:
    [session] = mix.seed_sessions(1)
    sid = session["id"]
    mix.script_turn(sid, AskPermission("Bash"), AskPermission("Write"), AskNotification(), Say("Done."))
    run = await sessionkit(
        "mix", "sessions", "run", sid, "--message", "tidy up", "--grant-all", "--server-url", mix.url
    )
    assert run.code == 0, run
    turn = run.json()
    assert (turn["ended"], turn["text"], turn["sessionId"] if "sessionId" in turn else turn["session_id"]) == (
        "complete",
        "Done.",
        sid,
    )
    assert [(q["kind"], q["answer"], q["by"]) for q in turn["questions"]] == [
        ("permission", "grant", "callback"),
        ("permission", "grant", "callback"),
        ("notification", "acknowledge", "default"),
    ]
    assert [a["answer"] for a in mix.answers] == ["grant", "grant", "acknowledge"]
    assert [t["name"] for t in turn["tool_uses"]] == ["Bash", "Write"]


async def test_run_denies_by_default(mix: FakeMix) -> None:
    [session] = mix.seed_sessions(1)
    mix.script_turn(session["id"], AskPermission(), Say("Refused."))
    run = await sessionkit("mix", "sessions", "run", session["id"], "--message", "go", "--server-url", mix.url)
    assert run.code == 0, run
    assert [q["answer"] for q in run.json()["questions"]] == ["deny"]
    assert [a["answer"] for a in mix.answers] == ["deny"]


async def test_run_exit_codes_say_how_the_turn_ended(mix: FakeMix) -> None:
    failing, slow = mix.seed_sessions(2)
    mix.script_turn(failing["id"], FailTurn("the provider is down"))
    mix.script_turn(slow["id"], Pause(60))
    failed = await sessionkit("mix", "sessions", "run", failing["id"], "--message", "go", "--server-url", mix.url)
    late = await sessionkit(
        "mix", "sessions", "run", slow["id"], "--message", "go", "--turn-timeout", "1", "--server-url", mix.url
    )
    assert failed.code == 1, failed
    assert (failed.json()["ended"], failed.json()["error"]) == ("error", "the provider is down")
    assert late.code == 3, late
    assert (late.json()["ended"], late.json()["cancelled_on_server"]) == ("deadline", True)


@pytest.mark.parametrize(
    "extra",
    [[], ["--message", "go", "--grant-all", "--deny-all"], ["--message", "go", "--turn-timeout", "0"]],
)
async def test_run_usage_errors_send_nothing(mix: FakeMix, extra: list[str]) -> None:
    [session] = mix.seed_sessions(1)
    run = await sessionkit("mix", "sessions", "run", session["id"], *extra, "--server-url", mix.url)
    assert run.code == 2, run
    assert mix.requests == []


async def test_answer_a_permission_and_read_the_history(mix: FakeMix) -> None:
    [session] = mix.seed_sessions(1)
    sid = session["id"]
    mix.script_turn(sid, AskPermission())
    async with aiohttp.ClientSession() as http:
        await fetch(http, "POST", f"{mix.url}/api/sessions/{sid}/messages", json={"text": "asks first"})
    for _ in range(2000):  # the turn asks right after the 202
        if mix.pending_questions():
            break
        await asyncio.sleep(0.005)
    [question] = mix.pending_questions()
    granted = await sessionkit("mix", "sessions", "permissions-grant", question, "--server-url", mix.url)
    assert granted.code == 0, granted
    assert granted.json() == {"granted": True}
    again = await sessionkit("mix", "sessions", "permissions-deny", question, "--server-url", mix.url)
    assert again.code == 1, again
    assert again.error()["status"] == 404
    gone = await sessionkit(
        "mix", "sessions", "notifications-respond", "nope", "--body", '{"type": "acknowledge"}', "--server-url", mix.url
    )
    assert (gone.code, gone.error()["status"]) == (1, 404)
    history = await sessionkit("mix", "sessions", "messages-history", "--body", '{"limit": 1}', "--server-url", mix.url)
    assert history.code == 0, history
    assert [m["userInput"] for m in history.json()] == ["asks first"]


async def test_devin_v3_attachments_and_insights(devin_v3: FakeDevinV3, tmp_path: Path) -> None:
    source = tmp_path / "plan.md"
    source.write_text("# the plan\n" * 1000)
    up = await sessionkit(
        "devin-v3", "sessions", "attachments-upload", "--body", json.dumps({"file": str(source)}), *v3_args(devin_v3)
    )
    assert up.code == 0, up
    attachment = up.json()
    assert attachment["name"] == "plan.md"
    body = json.dumps({"name": "plan.md"})
    down = await sessionkit(
        "devin-v3", "sessions", "attachments-download", attachment["attachment_id"], "--body", body, *v3_args(devin_v3)
    )
    assert down.code == 0, down
    assert down.stdout == "# the plan\n" * 1000
    created = await sessionkit(
        "devin-v3", "sessions", "create", "--body", json.dumps({"prompt": "follow it", "attachment_urls": [attachment["url"]]}),
        *v3_args(devin_v3),
    )  # fmt: skip
    sid = created.json()["session_id"]
    listed = await sessionkit("devin-v3", "sessions", "attachments-list", sid, *v3_args(devin_v3))
    assert [a["name"] for a in listed.json()] == ["plan.md"]
    generated = await sessionkit("devin-v3", "sessions", "insights-generate", sid, *v3_args(devin_v3))
    assert generated.json()["status"] == "started"
    insights = await sessionkit("devin-v3", "sessions", "insights-get", sid, *v3_args(devin_v3))
    assert insights.json()["analysis"]["suggested_prompt"]["original_prompt"] == "follow it"
    every = await sessionkit("devin-v3", "sessions", "insights-list", "--all", *v3_args(devin_v3))
    assert [s["session_id"] for s in every.json()] == [sid]
    assert V3_KEY not in up.stdout + up.stderr + down.stderr + every.stdout


async def test_devin_v1_upload_prints_the_url(tmp_path: Path) -> None:
    source = tmp_path / "log.txt"
    source.write_text("boom\n")
    async with FakeDevin(api_key=DEVIN_API_KEY) as fake:
        run = await sessionkit(
            "devin", "sessions", "attachments-upload", "--body", json.dumps({"file": str(source)}),
            "--server-url", fake.url, "--api-key", DEVIN_API_KEY,
        )  # fmt: skip
        assert run.code == 0, run
        assert run.json().startswith(fake.url + "/v1/attachments/")
