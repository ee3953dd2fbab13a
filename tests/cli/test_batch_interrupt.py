"""A `--batch` stopped by SIGINT or SIGTERM loses no finished result, and `--resume` does the rest once.

The fake holds every create after the first `free` at a gate the test opens, so which calls are in
flight when the signal lands is decided by the test, not by timing.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

from aiohttp import web

from sessionkit.testing import FakeMix

from ._run import CliRun, sessionkit, start

BLANK = 10  # a blank line in the middle: it has no result, and is never "not done"
INDEXES = [i for i in range(21) if i != BLANK]
INPUT = b"".join(b"\n" if i == BLANK else json.dumps({"title": f"line-{i:02}"}).encode() + b"\n" for i in range(21))


class GatedMix(FakeMix):
    """Answers the creates of input lines 0 to `free` - 1 at once; the others wait until `gate` is set."""

    def __init__(self, free: int) -> None:
        super().__init__()
        self.free = free
        self.gate = asyncio.Event()
        self.waiting = 0
        self.idle = asyncio.Event()  # set while no create waits at the gate
        self.idle.set()

    async def _create(self, request: web.Request) -> web.StreamResponse:
        # By line, not by arrival: two connections may deliver line 3 before line 2.
        if int((await request.json())["title"].removeprefix("line-")) >= self.free:
            self.waiting += 1
            self.idle.clear()
            try:
                await self.gate.wait()
            finally:
                self.waiting -= 1
                if self.waiting == 0:
                    self.idle.set()
        return await super()._create(request)


def create(fake: FakeMix, *flags: str) -> list[str]:
    return ["mix", "sessions", "create", "--batch", "--concurrency", "2", "--server-url", fake.url, *flags]


def titles_created(fake: FakeMix) -> list[str]:
    return sorted(doc["title"] for doc in fake.sessions)


def keys_sent(fake: FakeMix) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for request in fake.requests:
        if request.method == "POST":
            keys.setdefault(request.json()["title"], set()).add(request.headers["Idempotency-Key"])
    return keys


async def gate_emptied(fake: GatedMix) -> None:
    """Until the server has dropped every create whose client went away (the timeout guards a hang)."""
    await asyncio.wait_for(fake.idle.wait(), 30.0)


def check_stopped_run(run: CliRun, fake: FakeMix, signal_name: str) -> dict[str, Any]:
    """Every session the server made has its line; stderr names exactly the other lines. The report."""
    out = run.lines()
    assert all("ok" in line for line in out), run
    assert sorted(line["ok"]["title"] for line in out) == titles_created(fake)
    assert all(line["ok"]["title"] == f"line-{line['index']:02}" for line in out)
    report = run.error()
    done = {line["index"] for line in out}
    assert report == {"interrupted": True, "signal": signal_name, "not_done": [i + 1 for i in INDEXES if i not in done]}
    assert "Traceback" not in run.stderr
    return report


async def resume_completes_the_rest(fake: FakeMix, first: CliRun, report: dict[str, Any], tmp_path: Path) -> None:
    previous = tmp_path / "first.ndjson"
    previous.write_text(first.stdout, encoding="utf-8")
    rerun = await sessionkit(*create(fake, "--resume", str(previous)), stdin=INPUT)
    assert rerun.code == 0, rerun
    assert [line["index"] + 1 for line in rerun.lines()] == report["not_done"]  # in input order
    assert titles_created(fake) == [f"line-{i:02}" for i in INDEXES]  # each line made exactly one session


async def test_sigint_lets_calls_in_flight_finish_and_resume_does_the_rest(tmp_path: Path) -> None:
    async with GatedMix(free=4) as fake:
        live = await start(*create(fake, "--grace", "60"), stdin=INPUT)
        await live.wait_for(lambda: len(live.out) >= 4)
        live.send_signal(signal.SIGINT)
        await live.wait_for(lambda: any('"stopping"' in line for line in live.err))
        fake.gate.set()  # only now may the two calls in flight answer
        first = await live.finish()
        assert first.code == 130, first
        assert json.loads(live.err[0]) == {"stopping": "SIGINT", "in_flight": 2, "grace": 60.0}
        report = check_stopped_run(first, fake, "SIGINT")
        # Lines 4 and 5 were in flight: they finished within the grace period and were written.
        assert sorted(line["index"] for line in first.lines()) == [0, 1, 2, 3, 4, 5]
        await resume_completes_the_rest(fake, first, report, tmp_path)


async def test_sigterm_cancels_calls_past_the_grace_period_and_resume_reuses_their_keys(tmp_path: Path) -> None:
    async with GatedMix(free=3) as fake:
        live = await start(*create(fake, "--grace", "0.2"), stdin=INPUT)
        await live.wait_for(lambda: len(live.out) >= 3)
        live.send_signal(signal.SIGTERM)
        first = await live.finish()  # the gate stays shut: the two calls in flight are cancelled
        assert first.code == 143, first
        # The fake drops a create whose client went away; wait for that before opening the gate.
        await gate_emptied(fake)
        report = check_stopped_run(first, fake, "SIGTERM")
        assert [line["index"] for line in first.lines()] == [0, 1, 2]
        abandoned = keys_sent(fake)
        assert sorted(abandoned) == ["line-00", "line-01", "line-02", "line-03", "line-04"]
        fake.gate.set()
        await resume_completes_the_rest(fake, first, report, tmp_path)
        # The resumed creates of lines 3 and 4 carried the keys the abandoned ones had.
        resent = keys_sent(fake)
        assert all(len(keys) == 1 for keys in resent.values())
        assert resent["line-03"] == abandoned["line-03"]
        assert resent["line-04"] == abandoned["line-04"]


async def test_a_second_signal_cancels_at_once() -> None:
    async with GatedMix(free=2) as fake:
        live = await start(*create(fake, "--grace", "3600"), stdin=INPUT)
        await live.wait_for(lambda: len(live.out) >= 2)
        live.send_signal(signal.SIGINT)
        await live.wait_for(lambda: any('"stopping"' in line for line in live.err))
        live.send_signal(signal.SIGINT)
        first = await live.finish()
        assert first.code == 130, first
        await gate_emptied(fake)
        check_stopped_run(first, fake, "SIGINT")
        assert [line["index"] for line in first.lines()] == [0, 1]
