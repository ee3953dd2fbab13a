"""FakeJupyter against the Jupyter Server contract (contracts/devin-jupyter.md part 2 and the transcript)."""

from __future__ import annotations

import re

import aiohttp
import pytest

from sessionkit.testing import FakeJupyter
from tests._support.fake_fixtures import JUPYTER_TOKEN, fetch

AUTH = {"Authorization": f"token {JUPYTER_TOKEN}"}
UNKNOWN = "00000000-0000-0000-0000-000000000000"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def create(http: aiohttp.ClientSession, fake: FakeJupyter, **body: object) -> dict[str, object]:
    reply = await fetch(http, "POST", f"{fake.url}/api/sessions", json=body, headers=AUTH)
    assert reply.status == 201, reply.body
    return reply.json()


async def test_create_returns_201_with_location_and_session_model(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession
) -> None:
    body = {"path": "nb1.ipynb", "name": "nb1.ipynb", "type": "notebook", "kernel": {"name": "python3"}}
    reply = await fetch(raw_http, "POST", f"{fake_jupyter.url}/api/sessions", json=body, headers=AUTH)
    assert reply.status == 201
    assert reply.headers["Content-Type"] == "application/json"
    session = reply.json()
    assert reply.headers["Location"] == f"/api/sessions/{session['id']}"
    assert UUID.match(session["id"])
    assert set(session) == {"id", "path", "name", "type", "kernel", "notebook"}
    assert session["notebook"] == {"path": "nb1.ipynb", "name": "nb1.ipynb"}
    kernel = session["kernel"]
    assert set(kernel) == {"id", "name", "last_activity", "execution_state", "connections"}
    assert kernel["name"] == "python3"
    assert kernel["execution_state"] == "starting"
    assert kernel["connections"] == 0
    assert TIMESTAMP.match(kernel["last_activity"])
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


async def test_create_same_path_returns_existing_unchanged(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession
) -> None:
    first = await create(raw_http, fake_jupyter, path="nb1.ipynb", name="nb1.ipynb", type="notebook")
    second = await create(raw_http, fake_jupyter, path="nb1.ipynb", name="other", type="console")
    assert second == first
    assert len(fake_jupyter.sessions) == 1


async def test_console_session_has_no_notebook_member_and_null_name(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession
) -> None:
    session = await create(raw_http, fake_jupyter, path="c1", type="console")
    assert "notebook" not in session
    assert session["name"] is None
    empty_name = await create(raw_http, fake_jupyter, path="c2", type="console", name="")
    assert empty_name["name"] == ""


async def test_kernel_id_sharing_and_requested_id(fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession) -> None:
    first = await create(raw_http, fake_jupyter, path="a", type="console")
    kernel_id = first["kernel"]["id"]  # type: ignore[index]
    shared = await create(raw_http, fake_jupyter, path="share", type="console", kernel={"id": kernel_id})
    assert shared["kernel"]["id"] == kernel_id  # type: ignore[index]
    wanted = "40e651b6-09a6-42b6-aea6-bda28f4e834b"
    fresh = await create(raw_http, fake_jupyter, path="newk", type="console", kernel={"id": wanted})
    assert fresh["kernel"]["id"] == wanted  # type: ignore[index]


@pytest.mark.parametrize(
    ("data", "status", "body"),
    [
        (b"", 400, {"message": "No JSON data provided", "reason": None}),
        (b"null", 400, {"message": "No JSON data provided", "reason": None}),
        (b"not json", 400, {"message": "Invalid JSON in body of request", "reason": None}),
        (b'{"type":"notebook"}', 400, {"message": "Missing field in JSON data: path", "reason": None}),
        (b'{"path":"p"}', 400, {"message": "Missing field in JSON data: type", "reason": None}),
        (b"[]", 500, {"message": "Unhandled error", "reason": None, "traceback": ""}),
        (b'{"path":123,"type":456}', 500, {"message": "'int' object has no attribute 'strip'", "reason": None}),
        (
            b'{"path":"bad","type":"notebook","kernel":{"name":"nope"}}',
            501,
            {
                "message": "The 'nope' kernel is not available. Please pick another suitable kernel instead, "
                "or install that kernel.",
                "short_message": "nope not found",
            },
        ),
    ],
)
async def test_create_errors(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession, data: bytes, status: int, body: object
) -> None:
    # No Content-Type on purpose: the server does not check it.
    reply = await fetch(raw_http, "POST", f"{fake_jupyter.url}/api/sessions", data=data, headers=AUTH)
    assert (reply.status, reply.json()) == (status, body)
    assert reply.headers["Content-Type"] == "application/json"
    assert len(fake_jupyter.sessions) == 0


async def test_legacy_notebook_member_maps_to_path(fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession) -> None:
    session = await create(raw_http, fake_jupyter, notebook={"path": "legacy.ipynb"})
    assert (session["path"], session["type"]) == ("legacy.ipynb", "notebook")


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        (f"?token={JUPYTER_TOKEN}", {}),
        ("", {"Authorization": f"token {JUPYTER_TOKEN}"}),
        ("", {"Authorization": f"Bearer {JUPYTER_TOKEN}"}),
        ("", {"Authorization": f"BEARER {JUPYTER_TOKEN}"}),
    ],
)
async def test_every_token_form_is_accepted(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession, query: str, headers: dict[str, str]
) -> None:
    reply = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions{query}", headers=headers)
    assert (reply.status, reply.json()) == (200, [])
    reply = await fetch(
        raw_http,
        "POST",
        f"{fake_jupyter.url}/api/sessions{query}",
        json={"path": "x", "type": "console"},
        headers=headers,
    )
    assert reply.status == 201


@pytest.mark.parametrize("headers", [{}, {"Authorization": "token nope"}, {"Authorization": "Basic abc"}])
async def test_bad_auth_get_is_403_forbidden(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    reply = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions", headers=headers)
    assert (reply.status, reply.json()) == (403, {"message": "Forbidden", "reason": None})


@pytest.mark.parametrize(("method", "path"), [("POST", ""), ("PATCH", f"/{UNKNOWN}"), ("DELETE", f"/{UNKNOWN}")])
async def test_bad_auth_unsafe_methods_get_the_xsrf_403(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession, method: str, path: str
) -> None:
    for headers in ({}, {"Authorization": "token nope"}):
        reply = await fetch(
            raw_http,
            method,
            f"{fake_jupyter.url}/api/sessions{path}",
            json={"path": "x", "type": "console"},
            headers=headers,
        )
        assert (reply.status, reply.json()) == (403, {"message": "'_xsrf' argument missing from POST", "reason": None})
    assert len(fake_jupyter.sessions) == 0


async def test_auth_disabled_allows_get_but_post_needs_xsrf_disabled(raw_http: aiohttp.ClientSession) -> None:
    async with FakeJupyter(token="") as fake:
        assert (await fetch(raw_http, "GET", f"{fake.url}/api/sessions")).status == 200
        reply = await fetch(raw_http, "POST", f"{fake.url}/api/sessions", json={"path": "x", "type": "console"})
        assert reply.status == 403
        assert reply.json()["message"] == "'_xsrf' argument missing from POST"
    async with FakeJupyter(token="", disable_check_xsrf=True) as fake:
        reply = await fetch(raw_http, "POST", f"{fake.url}/api/sessions", json={"path": "x", "type": "console"})
        assert reply.status == 201


async def test_foreign_origin_without_token_is_404_and_with_token_is_echoed(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession
) -> None:
    origin = {"Origin": "http://evil.example"}
    reply = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions", headers=origin)
    assert (reply.status, reply.json()) == (404, {"message": "Not Found", "reason": None})
    reply = await fetch(
        raw_http,
        "POST",
        f"{fake_jupyter.url}/api/sessions",
        json={"path": "o", "type": "console"},
        headers={**origin, **AUTH},
    )
    assert reply.status == 201
    assert reply.headers["Access-Control-Allow-Origin"] == "http://evil.example"


async def test_public_endpoints_need_no_auth(fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession) -> None:
    assert (await fetch(raw_http, "GET", f"{fake_jupyter.url}/api")).json() == {"version": "2.21.1"}
    reply = await fetch(raw_http, "OPTIONS", f"{fake_jupyter.url}/api/sessions")
    assert reply.status == 200
    assert reply.headers["Access-Control-Allow-Methods"] == "GET, PUT, POST, PATCH, DELETE, OPTIONS"
    specs = (await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/kernelspecs", headers=AUTH)).json()
    assert specs["default"] == "python3"
    assert "python3" in specs["kernelspecs"]


async def test_list_and_get(fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession) -> None:
    a = await create(raw_http, fake_jupyter, path="a", type="console")
    b = await create(raw_http, fake_jupyter, path="b.ipynb", type="notebook")
    listed = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions", headers=AUTH)
    assert listed.json() == [a, b]  # insertion order
    one = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions/{b['id']}", headers=AUTH)
    assert (one.status, one.json()) == (200, b)


async def test_get_unknown_uuid_is_json_404_and_non_uuid_is_html_404(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession
) -> None:
    reply = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions/{UNKNOWN}", headers=AUTH)
    assert (reply.status, reply.json()) == (
        404,
        {"message": f"Session not found: session_id='{UNKNOWN}'", "reason": None},
    )
    reply = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions/not-a-uuid", headers=AUTH)
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "text/html"
    assert b"404 : Not Found" in reply.body


async def test_trailing_slash_redirects(fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession) -> None:
    reply = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions/", headers=AUTH)
    assert (reply.status, reply.headers["Location"]) == (302, "/api/sessions")


async def test_patch_rename_and_empty_patch(fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession) -> None:
    s = await create(raw_http, fake_jupyter, path="nb1.ipynb", name="nb1.ipynb", type="notebook")
    url = f"{fake_jupyter.url}/api/sessions/{s['id']}"
    reply = await fetch(raw_http, "PATCH", url, json={"path": "nb1-renamed.ipynb", "name": "renamed"}, headers=AUTH)
    renamed = reply.json()
    assert reply.status == 200
    assert (renamed["path"], renamed["name"], renamed["kernel"]) == ("nb1-renamed.ipynb", "renamed", s["kernel"])
    assert renamed["notebook"] == {"path": "nb1-renamed.ipynb", "name": "renamed"}
    unchanged = await fetch(raw_http, "PATCH", url, json={}, headers=AUTH)
    assert (unchanged.status, unchanged.json()) == (200, renamed)


async def test_patch_kernel_change_shuts_down_old_kernel_and_its_sharers(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession
) -> None:
    s = await create(raw_http, fake_jupyter, path="main", type="console")
    old = s["kernel"]["id"]  # type: ignore[index]
    sharer = await create(raw_http, fake_jupyter, path="share", type="console", kernel={"id": old})
    reply = await fetch(
        raw_http,
        "PATCH",
        f"{fake_jupyter.url}/api/sessions/{s['id']}",
        json={"kernel": {"name": "python3"}},
        headers=AUTH,
    )
    assert reply.status == 200
    assert reply.json()["kernel"]["id"] != old
    assert old not in fake_jupyter.kernels
    gone = await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions/{sharer['id']}", headers=AUTH)
    assert gone.status == 404
    listed = (await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions", headers=AUTH)).json()
    assert [x["id"] for x in listed] == [s["id"]]


async def test_patch_switch_to_running_kernel_by_id(fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession) -> None:
    a = await create(raw_http, fake_jupyter, path="a", type="console")
    b = await create(raw_http, fake_jupyter, path="b", type="console")
    reply = await fetch(
        raw_http,
        "PATCH",
        f"{fake_jupyter.url}/api/sessions/{a['id']}",
        json={"kernel": {"id": b["kernel"]["id"]}},
        headers=AUTH,
    )  # type: ignore[index]
    assert reply.json()["kernel"]["id"] == b["kernel"]["id"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("data", "status", "body"),
    [
        (b"", 400, {"message": "No JSON data provided", "reason": None}),
        (b"{oops", 400, {"message": "Invalid JSON in body of request", "reason": None}),
        (
            b'{"kernel":{"id":"11111111-1111-1111-1111-111111111111"}}',
            400,
            {"message": "No such kernel: 11111111-1111-1111-1111-111111111111", "reason": None},
        ),
        (
            b'{"kernel":{"name":"nope"}}',
            501,
            {
                "message": "The 'nope' kernel could not be started: 'No such kernel named nope'",
                "short_message": "Error starting kernel nope",
            },
        ),
    ],
)
async def test_patch_errors(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession, data: bytes, status: int, body: object
) -> None:
    s = await create(raw_http, fake_jupyter, path="p", type="console")
    reply = await fetch(raw_http, "PATCH", f"{fake_jupyter.url}/api/sessions/{s['id']}", data=data, headers=AUTH)
    assert (reply.status, reply.json()) == (status, body)


async def test_patch_unknown_session_is_404(fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession) -> None:
    reply = await fetch(
        raw_http, "PATCH", f"{fake_jupyter.url}/api/sessions/{UNKNOWN}", json={"path": "z"}, headers=AUTH
    )
    assert (reply.status, reply.json()["message"]) == (404, f"Session not found: session_id='{UNKNOWN}'")


async def test_delete_is_204_without_content_type_then_404(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession
) -> None:
    s = await create(raw_http, fake_jupyter, path="d", type="console")
    url = f"{fake_jupyter.url}/api/sessions/{s['id']}"
    reply = await fetch(raw_http, "DELETE", url, headers=AUTH)
    assert (reply.status, reply.body) == (204, b"")
    assert "Content-Type" not in reply.headers
    assert fake_jupyter.kernels == {}
    again = await fetch(raw_http, "DELETE", url, headers=AUTH)
    assert (again.status, again.json()) == (
        404,
        {"message": f"Session not found: session_id='{s['id']}'", "reason": None},
    )


async def test_seed_sessions(fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession) -> None:
    seeded = fake_jupyter.seed_sessions(3)
    listed = (await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions", headers=AUTH)).json()
    assert listed == seeded
    assert len({s["kernel"]["id"] for s in listed}) == 3
