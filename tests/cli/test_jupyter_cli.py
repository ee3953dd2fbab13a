"""`sessionkit jupyter sessions ...`: every operation, through the real console script."""

from __future__ import annotations

from sessionkit.testing import FakeJupyter
from tests._support.fake_fixtures import JUPYTER_TOKEN

from ._run import sessionkit


def conn(fake: FakeJupyter) -> list[str]:
    return ["--server-url", fake.url, "--token", JUPYTER_TOKEN]


async def test_create_prints_the_session_with_wire_names(fake_jupyter: FakeJupyter) -> None:
    run = await sessionkit("jupyter", "sessions", "create", "--body", '{"path": "a.ipynb"}', *conn(fake_jupyter))
    assert run.code == 0, run
    session = run.json()
    assert session["path"] == "a.ipynb"
    assert session["type"] == "notebook"
    assert session["kernel"]["name"] == "python3"
    assert session["kernel"]["last_activity"].endswith("Z")  # datetimes come back as ISO-8601
    assert len(fake_jupyter.sessions) == 1


async def test_list(fake_jupyter: FakeJupyter) -> None:
    seeded = fake_jupyter.seed_sessions(3)
    run = await sessionkit("jupyter", "sessions", "list", *conn(fake_jupyter))
    assert run.code == 0, run
    assert [s["id"] for s in run.json()] == [s["id"] for s in seeded]


async def test_get_takes_the_id_positionally(fake_jupyter: FakeJupyter) -> None:
    [seeded] = fake_jupyter.seed_sessions(1)
    run = await sessionkit("jupyter", "sessions", "get", seeded["id"], *conn(fake_jupyter))
    assert run.code == 0, run
    assert run.json()["id"] == seeded["id"]
    assert fake_jupyter.requests[-1].path == f"/api/sessions/{seeded['id']}"


async def test_update_sends_the_body_as_the_model(fake_jupyter: FakeJupyter) -> None:
    [seeded] = fake_jupyter.seed_sessions(1)
    run = await sessionkit(
        "jupyter", "sessions", "update", seeded["id"], "--body", '{"name": "renamed"}', *conn(fake_jupyter)
    )
    assert run.code == 0, run
    assert run.json()["name"] == "renamed"
    request = fake_jupyter.requests[-1]
    assert (request.method, request.json()) == ("PATCH", {"name": "renamed"})


async def test_delete_prints_null(fake_jupyter: FakeJupyter) -> None:
    [seeded] = fake_jupyter.seed_sessions(1)
    run = await sessionkit("jupyter", "sessions", "delete", seeded["id"], *conn(fake_jupyter))
    assert run.code == 0, run
    assert run.json() is None
    assert len(fake_jupyter.sessions) == 0


async def test_token_from_the_environment_and_never_echoed(fake_jupyter: FakeJupyter) -> None:
    ok = await sessionkit(
        "jupyter", "sessions", "list", "--server-url", fake_jupyter.url, env={"JUPYTER_TOKEN": JUPYTER_TOKEN}
    )
    assert ok.code == 0, ok
    assert fake_jupyter.requests[-1].headers["Authorization"] == f"token {JUPYTER_TOKEN}"

    bad = await sessionkit(
        "jupyter", "sessions", "list", "--server-url", fake_jupyter.url, "--token", "wrong-secret-xyz"
    )
    assert bad.code == 1, bad
    error = bad.error()
    assert (error["error"], error["status"], error["operation_id"]) == (
        "PermissionDeniedError",
        403,
        "jupyter.sessions.list",
    )
    assert "wrong-secret-xyz" not in bad.stdout + bad.stderr
