"""Bad bytes and lone surrogates from argv, a body file, stdin or a server never end in a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from sessionkit.testing import FakeJupyter, FakeMix, Fault
from tests._support.fake_fixtures import JUPYTER_TOKEN, ORQ_API_KEY

from ._run import CliRun, sessionkit

UNDECODABLE = "\udcff"  # what Python makes of the argv byte 0xff (surrogateescape)


def usage_error(run: CliRun, needle: str) -> None:
    assert run.code == 2, run
    assert "Traceback" not in run.stderr
    error = run.error()
    assert error["error"] == "UsageError", error
    assert needle in error["message"]


async def test_an_undecodable_id_is_a_usage_error(fake_mix: FakeMix) -> None:
    run = await sessionkit("mix", "sessions", "get", UNDECODABLE, "--server-url", fake_mix.url)
    usage_error(run, "the session id is not valid UTF-8 text")
    assert fake_mix.requests == []


async def test_an_undecodable_credential_is_a_usage_error_that_does_not_echo_it() -> None:
    run = await sessionkit("orq", "sessions", "tags", "--api-key", f"{ORQ_API_KEY}{UNDECODABLE}")
    usage_error(run, "--api-key is not valid UTF-8 text")
    assert ORQ_API_KEY not in run.stderr


async def test_a_body_file_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    body = tmp_path / "body.bin"
    body.write_bytes(b'{"title": "\xff\xfe"}')
    run = await sessionkit("mix", "sessions", "create", "--body", f"@{body}")
    usage_error(run, "is not UTF-8 text (byte 12 is invalid)")


async def test_a_body_on_stdin_that_is_not_utf8_is_a_usage_error() -> None:
    run = await sessionkit("mix", "sessions", "create", "--body", "-", stdin=b'{"title": "\xff"}')
    usage_error(run, "the body read from stdin is not UTF-8 text")


async def test_a_lone_surrogate_escape_in_a_body_is_a_usage_error(fake_mix: FakeMix) -> None:
    body = '{"title": "ok", "callbacks": [{"url": "\\ud800"}]}'
    run = await sessionkit("mix", "sessions", "create", "--body", body, "--server-url", fake_mix.url)
    usage_error(run, "not valid Unicode (a lone surrogate) at $.callbacks[0].url")
    assert fake_mix.requests == []


async def test_lone_surrogate_ids_in_a_batch_fail_their_own_line(fake_jupyter: FakeJupyter) -> None:
    [seeded] = fake_jupyter.seed_sessions(1)
    stdin = f'"\\ud800"\n{{"session": "\\udcff"}}\n{json.dumps(seeded["id"])}\n'
    args = ["jupyter", "sessions", "get", "--batch", "--server-url", fake_jupyter.url, "--token", JUPYTER_TOKEN]
    run = await sessionkit(*args, stdin=stdin)
    assert run.code == 1, run
    assert "Traceback" not in run.stderr
    out = run.lines()
    assert [line["error"]["error"] for line in out[:2]] == ["InvalidRequestError", "InvalidRequestError"]
    assert "input line 1 holds text that is not valid Unicode" in out[0]["error"]["message"]
    assert "at $.session" in out[1]["error"]["message"]
    assert out[2]["ok"]["id"] == seeded["id"]
    assert len(fake_jupyter.requests) == 1


async def test_a_lone_surrogate_from_the_server_is_printed_escaped(fake_mix: FakeMix) -> None:
    [seeded] = fake_mix.seed_sessions(1)
    fake_mix.faults.push(Fault.status(200, body={**seeded, "title": "\ud800"}))
    run = await sessionkit("mix", "sessions", "get", seeded["id"], "--server-url", fake_mix.url)
    assert run.code == 0, run
    assert "\\ud800" in run.stdout
    assert run.json()["title"] == "\ud800"


async def test_bare_sessionkit_prints_the_help_and_exits_2() -> None:
    run = await sessionkit()
    assert run.code == 2, run
    assert run.stdout == ""
    assert run.stderr.startswith("usage: sessionkit")
    assert "{demo,fake,jupyter,orq,mix,devin,devin-v3,log10}" in run.stderr
    assert "exit codes:" in run.stderr
