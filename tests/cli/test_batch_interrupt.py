"""A `--batch` stopped by SIGINT or SIGTERM loses no finished result, and says which lines are in doubt.

The fakes hold the creates of every input line from `free` on at a gate the test opens, and the
test sends its signal only once the lines it expects are waiting there, so which calls are in
flight when the signal lands is decided by the test, not by timing. A fake either holds a create
before making the session (a cancelled call made nothing) or after (the server made the session
but its answer never arrived: the case `in_doubt` warns about).
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any, NoReturn

from aiohttp import web

from sessionkit.testing import FakeDevin, FakeMix
from tests._support.fake_fixtures import DEVIN_API_KEY

from ._run import CliRun, LiveCli, sessionkit, start

BLANK = 10  # a blank line in the middle: it has no result, and is never "not done"
INDEXES = [i for i in range(21) if i != BLANK]
INPUT = b"".join(b"\n" if i == BLANK else json.dumps({"title": f"line-{i:02}"}).encode() + b"\n" for i in range(21))
HANG = 30.0  # only guards a wait against hanging forever; no test waits this long when it passes


class Gate:
    """Holds the calls of input lines `free` and after until `open` is set; counts those waiting."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.open = asyncio.Event()
        self.waiting = 0
        self._changed = asyncio.Event()

    def holds(self, index: int) -> bool:
        return index >= self.free

    async def wait(self) -> None:
        self.waiting += 1
        self._changed.set()
        try:
            await self.open.wait()
        finally:  # also when the server drops the call because its client went away
            self.waiting -= 1
            self._changed.set()

    async def until(self, waiting: int) -> None:
        """Until exactly `waiting` calls wait at the gate."""

        async def check() -> None:
            while self.waiting != waiting:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(check(), HANG)


class GatedMix(FakeMix):
    """A FakeMix whose creates of lines `free` and after wait at `gate`; `made_first`: after making the session."""

    def __init__(self, free: int, *, made_first: bool = False) -> None:
        super().__init__()
        self.gate = Gate(free)
        self.made_first = made_first

    async def _create(self, request: web.Request) -> web.StreamResponse:
        # By line, not by arrival: two connections may deliver line 3 before line 2.
        index = int((await request.json())["title"].removeprefix("line-"))
        if not self.gate.holds(index):
            return await super()._create(request)
        if self.made_first:
            response = await super()._create(request)
            await self.gate.wait()
            return response
        await self.gate.wait()
        return await super()._create(request)


def create(fake: FakeMix, *flags: str) -> list[str]:
    return ["mix", "sessions", "create", "--batch", "--concurrency", "2", "--server-url", fake.url, *flags]


def titles_created(fake: FakeMix) -> list[str]:
    return sorted(doc["title"] for doc in fake.sessions)


def titles_sent(fake: FakeMix) -> list[str]:
    """The title of every create the fake received, in arrival order."""
    return [r.json()["title"] for r in fake.requests if r.method == "POST"]


def number(title: str) -> int:
    """The 1-based input line number of a `line-NN` title, as `not_done` and `in_doubt` give it."""
    return int(title.removeprefix("line-")) + 1


async def stop_with_waiting(live: LiveCli, gate: Gate, sig: signal.Signals) -> None:
    """Send `sig` once the lines before the gate have their results and both call slots wait at it."""
    await live.wait_for(lambda: len(live.out) >= gate.free)
    await gate.until(2)
    live.send_signal(sig)


def check_stopped_run(run: CliRun, fake: FakeMix, signal_name: str) -> dict[str, Any]:
    """Each output line is its own ok create; stderr names exactly the other lines, and the cut-off ones."""
    out = run.lines()
    assert all("ok" in line for line in out), run
    assert all(line["ok"]["title"] == f"line-{line['index']:02}" for line in out)
    written = {line["ok"]["title"] for line in out}
    cut_off = sorted(number(t) for t in set(titles_sent(fake)) - written)  # sent, and never answered
    report = run.error()
    assert report == {
        "interrupted": True,
        "signal": signal_name,
        "not_done": [i + 1 for i in INDEXES if f"line-{i:02}" not in written],
        "in_doubt": cut_off,  # Mix has no idempotency: every create cut off mid-call is in doubt
    }
    assert "Traceback" not in run.stderr
    return report


async def resume(fake: FakeMix, first: CliRun, report: dict[str, Any], tmp_path: Path) -> CliRun:
    """`--resume` from the first run's output: it runs exactly the lines `not_done` named, in input order."""
    previous = tmp_path / "first.ndjson"
    previous.write_text(first.stdout, encoding="utf-8")
    sent_before = len(titles_sent(fake))
    rerun = await sessionkit(*create(fake, "--resume", str(previous)), stdin=INPUT)
    assert rerun.code == 0, rerun
    assert [line["index"] + 1 for line in rerun.lines()] == report["not_done"]
    assert sorted(number(t) for t in titles_sent(fake)[sent_before:]) == report["not_done"]
    return rerun


async def test_sigint_lets_calls_in_flight_finish_and_resume_does_the_rest(tmp_path: Path) -> None:
    async with GatedMix(free=4) as fake:
        live = await start(*create(fake, "--grace", "60"), stdin=INPUT)
        await stop_with_waiting(live, fake.gate, signal.SIGINT)
        await live.wait_for(lambda: any('"stopping"' in line for line in live.err))
        fake.gate.open.set()  # only now may the two calls in flight answer
        first = await live.finish()
        assert first.code == 130, first
        assert json.loads(live.err[0]) == {"stopping": "SIGINT", "in_flight": 2, "grace": 60.0}
        report = check_stopped_run(first, fake, "SIGINT")
        # Lines 4 and 5 were in flight: they finished within the grace period and were written.
        assert sorted(line["index"] for line in first.lines()) == [0, 1, 2, 3, 4, 5]
        assert report["in_doubt"] == []
        assert titles_created(fake) == sorted(line["ok"]["title"] for line in first.lines())
        await resume(fake, first, report, tmp_path)
        assert titles_created(fake) == [f"line-{i:02}" for i in INDEXES]  # each line made exactly one session


async def test_sigterm_cancels_calls_past_the_grace_period_and_names_them_in_doubt(tmp_path: Path) -> None:
    async with GatedMix(free=3) as fake:
        live = await start(*create(fake, "--grace", "0.2"), stdin=INPUT)
        await stop_with_waiting(live, fake.gate, signal.SIGTERM)
        first = await live.finish()  # the gate stays shut: the two calls in flight are cancelled
        assert first.code == 143, first
        # The fake drops a create whose client went away; wait for that before opening the gate.
        await fake.gate.until(0)
        report = check_stopped_run(first, fake, "SIGTERM")
        assert [line["index"] for line in first.lines()] == [0, 1, 2]
        assert report["in_doubt"] == [4, 5]  # lines 4 and 5 were sent, then cut off
        # Here the server made nothing for them: every session it made has an output line.
        assert titles_created(fake) == ["line-00", "line-01", "line-02"]
        fake.gate.open.set()
        await resume(fake, first, report, tmp_path)
        assert titles_created(fake) == [f"line-{i:02}" for i in INDEXES]


async def test_a_create_made_before_the_cancel_is_in_doubt_and_a_resume_makes_it_again(tmp_path: Path) -> None:
    async with GatedMix(free=3, made_first=True) as fake:
        live = await start(*create(fake, "--grace", "0"), stdin=INPUT)
        await stop_with_waiting(live, fake.gate, signal.SIGTERM)
        first = await live.finish()
        assert first.code == 143, first
        await fake.gate.until(0)
        report = check_stopped_run(first, fake, "SIGTERM")
        assert report["in_doubt"] == [4, 5]
        # The server made lines 4 and 5 but their answers were lost: exactly the lines in doubt.
        written = {line["ok"]["title"] for line in first.lines()}
        assert sorted(number(t) for t in titles_created(fake) if t not in written) == report["in_doubt"]
        fake.gate.open.set()
        await resume(fake, first, report, tmp_path)
        # Mix cannot recognise a repeated create: resuming made the lines in doubt a second time.
        made = titles_created(fake)
        assert sorted({number(t) for t in made if made.count(t) == 2}) == report["in_doubt"]
        assert sorted(set(made)) == [f"line-{i:02}" for i in INDEXES]


async def test_a_second_signal_cancels_at_once() -> None:
    async with GatedMix(free=2) as fake:
        live = await start(*create(fake, "--grace", "3600"), stdin=INPUT)
        await stop_with_waiting(live, fake.gate, signal.SIGINT)
        await live.wait_for(lambda: any('"stopping"' in line for line in live.err))
        live.send_signal(signal.SIGINT)
        first = await live.finish()
        assert first.code == 130, first
        await fake.gate.until(0)
        report = check_stopped_run(first, fake, "SIGINT")
        assert [line["index"] for line in first.lines()] == [0, 1]
        assert report["in_doubt"] == [3, 4]


def strict_json(text: str) -> Any:
    """`json.loads` refusing `Infinity`, `-Infinity` and `NaN`, which are not JSON."""

    def refuse(constant: str) -> NoReturn:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


async def test_an_infinite_grace_waits_for_the_calls_in_flight_and_says_null() -> None:
    async with GatedMix(free=2) as fake:
        live = await start(*create(fake, "--grace", "inf"), stdin=INPUT)
        await stop_with_waiting(live, fake.gate, signal.SIGINT)
        await live.wait_for(lambda: any('"stopping"' in line for line in live.err))
        assert strict_json(live.err[0]) == {"stopping": "SIGINT", "in_flight": 2, "grace": None}
        fake.gate.open.set()  # no timer cancels them: they finish whenever the server answers
        first = await live.finish()
        assert first.code == 130, first
        assert all(strict_json(line) for line in live.err)
        report = check_stopped_run(first, fake, "SIGINT")
        assert [line["index"] for line in first.lines()] == [0, 1, 2, 3]
        assert report["in_doubt"] == []


class GatedDevin(FakeDevin):
    """A FakeDevin that makes the sessions of prompts `line-NN` from `free` on, then holds their answers."""

    def __init__(self, free: int) -> None:
        super().__init__(api_key=DEVIN_API_KEY)
        self.gate = Gate(free)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        response = await super()._create(request)
        if self.gate.holds(int((await request.json())["prompt"].removeprefix("line-"))):
            await self.gate.wait()
        return response


async def test_a_resumed_idempotent_devin_create_returns_the_session_the_cut_off_call_made(tmp_path: Path) -> None:
    # Line 4 (index 3) is idempotent, as the batch makes every line; line 5 says it is not.
    bodies: list[dict[str, Any]] = [{"prompt": f"line-{i:02}"} for i in range(6)]
    bodies[4]["idempotent"] = False
    stdin = "".join(json.dumps(body) + "\n" for body in bodies).encode()
    async with GatedDevin(free=3) as fake:
        args = ["devin", "sessions", "create", "--batch", "--concurrency", "2", "--server-url", fake.url]
        args += ["--api-key", DEVIN_API_KEY]
        live = await start(*args, "--grace", "0", stdin=stdin)
        await stop_with_waiting(live, fake.gate, signal.SIGTERM)
        first = await live.finish()
        assert first.code == 143, first
        await fake.gate.until(0)
        assert [line["index"] for line in first.lines()] == [0, 1, 2]
        # Both cut-off creates were made; only the one that is not idempotent is in doubt.
        assert first.error() == {"interrupted": True, "signal": "SIGTERM", "not_done": [4, 5, 6], "in_doubt": [5]}
        made = {doc["prompt"]: doc["session_id"] for doc in fake.sessions}
        assert sorted(made) == [f"line-{i:02}" for i in range(5)]
        fake.gate.open.set()
        previous = tmp_path / "first.ndjson"
        previous.write_text(first.stdout, encoding="utf-8")
        rerun = await sessionkit(*args, "--resume", str(previous), stdin=stdin)
        assert rerun.code == 0, rerun
        out = {line["index"]: line["ok"] for line in rerun.lines()}
        assert sorted(out) == [3, 4, 5]
        # The resent idempotent line got back the session its cut-off call made, not a new one.
        assert out[3]["session_id"] == made["line-03"]
        assert out[3]["is_new_session"] is False
        # The line that is not idempotent made a second session: the duplicate `in_doubt` warned of.
        assert out[4]["session_id"] != made["line-04"]
        assert sorted(doc["prompt"] for doc in fake.sessions) == sorted(
            [f"line-{i:02}" for i in range(6)] + ["line-04"]
        )
