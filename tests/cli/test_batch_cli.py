"""`--batch`: NDJSON in, one NDJSON line per input out, in input order; exit 0 only if all are ok."""

from __future__ import annotations

import json

from sessionkit.testing import FakeJupyter, Fault
from tests._support.fake_fixtures import JUPYTER_TOKEN

from ._run import sessionkit


def conn(fake: FakeJupyter) -> list[str]:
    return ["--server-url", fake.url, "--token", JUPYTER_TOKEN]


async def test_creates_come_back_in_input_order(fake_jupyter: FakeJupyter) -> None:
    # The first request is held back, so it completes last: the output must still start with it.
    fake_jupyter.faults.push(Fault.delay(0.5))
    lines = "".join(json.dumps({"path": f"batch-{i:02}.ipynb"}) + "\n" for i in range(40))
    run = await sessionkit(
        "jupyter", "sessions", "create", "--batch", "--concurrency", "8", *conn(fake_jupyter), stdin=lines
    )
    assert run.code == 0, run
    out = run.lines()
    assert [line["index"] for line in out] == list(range(40))
    assert [line["ok"]["path"] for line in out] == [f"batch-{i:02}.ipynb" for i in range(40)]
    assert len(fake_jupyter.sessions) == 40
    assert run.stderr == ""  # no progress when stderr is not a terminal


async def test_id_lines_failures_and_bad_lines_keep_their_place(fake_jupyter: FakeJupyter) -> None:
    a, b = fake_jupyter.seed_sessions(2)
    missing = "00000000-0000-4000-8000-000000000000"
    stdin = "\n".join([json.dumps(a["id"]), json.dumps({"session": b["id"]}), json.dumps(missing), "{oops", "", "[1]"])
    run = await sessionkit("jupyter", "sessions", "get", "--batch", *conn(fake_jupyter), stdin=stdin + "\n")
    assert (run.code, run.stderr) == (1, ""), run  # each failure is told on its own line, not on stderr
    out = run.lines()
    # The blank line gets no result but keeps its number: index + 1 is always the input line number.
    assert [line["index"] for line in out] == [0, 1, 2, 3, 5]
    assert out[0]["ok"]["id"] == a["id"]
    assert out[1]["ok"]["id"] == b["id"]
    assert (out[2]["error"]["error"], out[2]["error"]["status"]) == ("NotFoundError", 404)
    assert out[3]["error"]["error"] == "InvalidRequestError"
    assert "input line 4 is not valid JSON" in out[3]["error"]["message"]
    assert 'input line 6 needs the id: a JSON string or an object with "session"' in out[4]["error"]["message"]
    assert len(fake_jupyter.requests) == 3  # the bad lines were never sent


async def test_update_and_delete_batches_take_request_objects(fake_jupyter: FakeJupyter) -> None:
    seeded = fake_jupyter.seed_sessions(3)
    updates = "".join(json.dumps({"session": s["id"], "model": {"name": f"n{i}"}}) + "\n" for i, s in enumerate(seeded))
    run = await sessionkit("jupyter", "sessions", "update", "--batch", *conn(fake_jupyter), stdin=updates)
    assert run.code == 0, run
    assert [line["ok"]["name"] for line in run.lines()] == ["n0", "n1", "n2"]

    deletes = "".join(json.dumps(s["id"]) + "\n" for s in seeded)
    run = await sessionkit("jupyter", "sessions", "delete", "--batch", *conn(fake_jupyter), stdin=deletes)
    assert run.code == 0, run
    assert run.lines() == [{"index": i, "ok": None} for i in range(3)]
    assert len(fake_jupyter.sessions) == 0


async def test_empty_input_is_an_empty_success(fake_jupyter: FakeJupyter) -> None:
    run = await sessionkit("jupyter", "sessions", "create", "--batch", *conn(fake_jupyter), stdin="")
    assert (run.code, run.stdout) == (0, "")
