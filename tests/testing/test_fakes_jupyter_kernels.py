"""FakeJupyter's kernelspecs, kernel interrupt and restart, kernel readiness and shared-kernel deletes,
at the HTTP level, against what the real server answered (tests/integration/test_jupyter_kernels.py)."""

from __future__ import annotations

from typing import Any

import aiohttp

from sessionkit.testing import FakeClock, FakeJupyter
from tests._support.fake_fixtures import JUPYTER_TOKEN, fetch

AUTH = {"Authorization": f"token {JUPYTER_TOKEN}"}
UNKNOWN = "11111111-1111-1111-1111-111111111111"


async def create(http: aiohttp.ClientSession, fake: FakeJupyter, path: str, **body: object) -> dict[str, Any]:
    reply = await fetch(
        http, "POST", f"{fake.url}/api/sessions", json={"path": path, "type": "notebook", **body}, headers=AUTH
    )
    assert reply.status == 201, reply.body
    return reply.json()


async def state(http: aiohttp.ClientSession, fake: FakeJupyter, session_id: object) -> str:
    reply = await fetch(http, "GET", f"{fake.url}/api/sessions/{session_id}", headers=AUTH)
    assert reply.status == 200, reply.body
    return reply.json()["kernel"]["execution_state"]


async def test_kernelspecs_in_the_real_shape(raw_http: aiohttp.ClientSession) -> None:
    async with FakeJupyter(token=JUPYTER_TOKEN, kernel_names=("python3", "julia")) as fake:
        reply = await fetch(raw_http, "GET", f"{fake.url}/api/kernelspecs", headers=AUTH)
    assert reply.status == 200
    body = reply.json()
    assert body["default"] == "python3"
    python = body["kernelspecs"]["python3"]
    assert python["name"] == "python3"
    assert python["spec"]["display_name"] == "Python 3 (ipykernel)"
    assert python["spec"]["language"] == "python"
    assert "{connection_file}" in python["spec"]["argv"]
    assert body["kernelspecs"]["julia"]["spec"]["language"] == "julia"


async def test_interrupt_is_204_without_a_body_and_404_for_an_unknown_kernel(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession
) -> None:
    session = await create(raw_http, fake_jupyter, "a.ipynb")
    kernel = session["kernel"]["id"]
    done = await fetch(raw_http, "POST", f"{fake_jupyter.url}/api/kernels/{kernel}/interrupt", headers=AUTH)
    assert (done.status, done.body, done.headers.get("Content-Type")) == (204, b"", None)
    missing = await fetch(raw_http, "POST", f"{fake_jupyter.url}/api/kernels/{UNKNOWN}/interrupt", headers=AUTH)
    assert missing.status == 404
    assert missing.json() == {"message": f"Kernel does not exist: {UNKNOWN}", "reason": None}


async def test_restart_answers_the_kernel_idle_and_an_unknown_kernel_is_a_500(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession
) -> None:
    session = await create(raw_http, fake_jupyter, "a.ipynb")
    kernel = session["kernel"]["id"]
    assert await state(raw_http, fake_jupyter, session["id"]) == "starting"
    reply = await fetch(raw_http, "POST", f"{fake_jupyter.url}/api/kernels/{kernel}/restart", headers=AUTH)
    assert reply.status == 200
    assert reply.json()["id"] == kernel
    assert reply.json()["execution_state"] == "idle"
    assert await state(raw_http, fake_jupyter, session["id"]) == "idle"  # the session keeps its kernel
    missing = await fetch(raw_http, "POST", f"{fake_jupyter.url}/api/kernels/{UNKNOWN}/restart", headers=AUTH)
    assert missing.status == 500
    assert missing.json() == {"message": "Exception restarting kernel", "reason": None}


async def test_kernel_actions_need_the_token_and_a_uuid_shaped_id(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession
) -> None:
    session = await create(raw_http, fake_jupyter, "a.ipynb")
    kernel = session["kernel"]["id"]
    refused = await fetch(raw_http, "POST", f"{fake_jupyter.url}/api/kernels/{kernel}/restart")
    assert refused.status == 403
    assert refused.json()["message"] == "'_xsrf' argument missing from POST"
    html = await fetch(raw_http, "POST", f"{fake_jupyter.url}/api/kernels/not-a-uuid/restart", headers=AUTH)
    assert html.status == 404
    assert html.headers["Content-Type"].startswith("text/html")


async def test_kernels_stay_starting_by_default(fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession) -> None:
    session = await create(raw_http, fake_jupyter, "a.ipynb")
    for _ in range(5):
        assert await state(raw_http, fake_jupyter, session["id"]) == "starting"


async def test_a_kernel_turns_idle_after_the_polls_asked_for(raw_http: aiohttp.ClientSession) -> None:
    async with FakeJupyter(token=JUPYTER_TOKEN, kernel_ready_after_polls=2) as fake:
        session = await create(raw_http, fake, "a.ipynb")
        assert session["kernel"]["execution_state"] == "starting"  # the create is no read
        seen = [await state(raw_http, fake, session["id"]) for _ in range(4)]
        listed = await fetch(raw_http, "GET", f"{fake.url}/api/kernels", headers=AUTH)
    assert seen == ["starting", "starting", "idle", "idle"]
    assert listed.json()[0]["execution_state"] == "idle"


async def test_a_kernel_turns_idle_after_the_delay_on_the_clock(raw_http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with FakeJupyter(token=JUPYTER_TOKEN, kernel_ready_after=3.0, clock=clock) as fake:
        session = await create(raw_http, fake, "a.ipynb")
        clock.advance(2.9)
        before = await state(raw_http, fake, session["id"])
        clock.advance(0.1)
        after = await state(raw_http, fake, session["id"])
    assert (before, after) == ("starting", "idle")


async def test_set_execution_state(fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession) -> None:
    session = await create(raw_http, fake_jupyter, "a.ipynb")
    fake_jupyter.set_execution_state(session["kernel"]["id"], "dead")
    assert await state(raw_http, fake_jupyter, session["id"]) == "dead"


async def test_deleting_a_session_drops_the_sessions_sharing_its_kernel(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession
) -> None:
    first = await create(raw_http, fake_jupyter, "a.ipynb")
    kernel = first["kernel"]["id"]
    sharer = await create(raw_http, fake_jupyter, "b.ipynb", kernel={"id": kernel})
    other = await create(raw_http, fake_jupyter, "c.ipynb")
    gone = await fetch(raw_http, "DELETE", f"{fake_jupyter.url}/api/sessions/{first['id']}", headers=AUTH)
    assert gone.status == 204

    assert kernel not in fake_jupyter.kernels
    first_read = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions/{sharer['id']}", headers=AUTH)
    assert first_read.status == 404
    assert first_read.json()["message"] == (
        f"Session not found: \"Kernel '{kernel}' appears to have been culled or died unexpectedly, "
        f"invalidating session '{sharer['id']}'. The session has been removed.\""
    )
    again = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions/{sharer['id']}", headers=AUTH)
    assert again.json()["message"] == f"Session not found: session_id='{sharer['id']}'"
    listed = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions", headers=AUTH)
    assert [s["id"] for s in listed.json()] == [other["id"]]


async def test_a_list_drops_the_sharers_silently(fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession) -> None:
    first = await create(raw_http, fake_jupyter, "a.ipynb")
    sharer = await create(raw_http, fake_jupyter, "b.ipynb", kernel={"id": first["kernel"]["id"]})
    await fetch(raw_http, "DELETE", f"{fake_jupyter.url}/api/sessions/{first['id']}", headers=AUTH)
    listed = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions", headers=AUTH)
    assert listed.json() == []
    read = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions/{sharer['id']}", headers=AUTH)
    assert read.json()["message"] == f"Session not found: session_id='{sharer['id']}'"
