"""`sessionkit mix sessions ...` for the operations beyond CRUD: the event stream as NDJSON until
interrupted, a download to stdout, an upload from a path, a message."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from sessionkit.testing import FakeMix
from tests.cli._run import sessionkit, start

GUARD = 30.0


async def test_stream_prints_ndjson_events_until_interrupted(fake_mix: FakeMix) -> None:
    [session] = fake_mix.seed_sessions(1)
    sid = session["id"]
    cli = await start("mix", "sessions", "stream", sid, "--server-url", fake_mix.url, stdin=b"")
    await cli.wait_for(lambda: len(cli.out) >= 1, GUARD)
    fake_mix.emit(sid, "content", {"type": "content", "content": "caf\u00e9\u2028ok"})
    fake_mix.emit(sid, "rate_limit_error", {"type": "rate_limit_error", "error": "slow down", "retryAfter": 60})
    await cli.wait_for(lambda: len(cli.out) >= 3, GUARD)
    cli.send_signal(signal.SIGINT)
    run = await cli.finish(GUARD)
    assert run.code == 130, run
    connected, content, unknown = run.lines()
    assert connected == {"event": "connected", "eventId": "1", "retry": 30000, "sessionId": sid}
    assert (content["event"], content["content"], content["eventId"]) == ("content", "caf\u00e9\u2028ok", "2")
    assert "\\u2028" in run.stdout.split("\n")[1]  # one event, one line, whatever its text holds
    assert unknown["event"] == "rate_limit_error"
    assert unknown["data"] == {"type": "rate_limit_error", "error": "slow down", "retryAfter": 60}
    await asyncio.wait_for(fake_mix.wait_for_streams(sid, 0), GUARD)  # the interrupt closed the connection


async def test_stream_of_an_unknown_session_prints_its_error_event_and_ends(fake_mix: FakeMix) -> None:
    run = await sessionkit("mix", "sessions", "stream", "nope", "--server-url", fake_mix.url)
    assert run.code == 0, run
    [event] = run.lines()
    assert event["event"] == "error"
    assert event["error"] == "Invalid session ID: nope"


async def test_upload_from_a_path_then_download_to_stdout(fake_mix: FakeMix, tmp_path: Path) -> None:
    [session] = fake_mix.seed_sessions(1)
    source = tmp_path / "notes.txt"
    source.write_text("line of notes\n" * 5000)
    body = json.dumps({"file": str(source)})
    up = await sessionkit(
        "mix", "sessions", "files-upload", session["id"], "--body", body, "--server-url", fake_mix.url
    )
    assert up.code == 0, up
    assert (up.json()["name"], up.json()["size"]) == ("notes.txt", 70_000)
    command = ["mix", "sessions", "files-download", session["id"], "--body", '{"filename": "notes.txt"}']
    down = await sessionkit(*command, "--server-url", fake_mix.url)
    assert down.code == 0, down
    assert down.stdout == "line of notes\n" * 5000


async def test_download_of_a_missing_file_is_an_api_error(fake_mix: FakeMix) -> None:
    [session] = fake_mix.seed_sessions(1)
    command = ["mix", "sessions", "files-download", session["id"], "--body", '{"filename": "nope"}']
    run = await sessionkit(*command, "--server-url", fake_mix.url)
    assert run.code == 1, run
    assert run.stdout == ""
    assert run.error()["status"] == 404


async def test_send_a_message(fake_mix: FakeMix) -> None:
    [session] = fake_mix.seed_sessions(1)
    body = '{"text": "hello"}'
    run = await sessionkit(
        "mix", "sessions", "messages-send", session["id"], "--body", body, "--server-url", fake_mix.url
    )
    assert run.code == 0, run
    assert run.json() == {"status": "processing", "sessionId": session["id"]}


async def test_delete_a_file_by_its_name(fake_mix: FakeMix) -> None:
    # The file's name is a second path field: it comes from --body, beside the session id.
    [session] = fake_mix.seed_sessions(1)
    folder = fake_mix.storage / session["id"]
    folder.mkdir()
    (folder / "old.txt").write_text("x")
    command = ["mix", "sessions", "files-delete", session["id"], "--body", '{"filename": "old.txt"}']
    run = await sessionkit(*command, "--server-url", fake_mix.url)
    assert run.code == 0, run
    assert not (folder / "old.txt").exists()
    assert fake_mix.requests[-1].path == f"/api/sessions/{session['id']}/files/old.txt"
