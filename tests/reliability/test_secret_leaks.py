"""No value the core knows to be secret shows in anything an `Err` exposes, in logs or in reprs, and a
request body never goes to another origin (hardening item 4)."""

from __future__ import annotations

import logging
import traceback
from collections import deque
from typing import Any

import pytest

from sessionkit import (
    APIError,
    ConnectionError,
    Err,
    NotFoundError,
    Ok,
    RequestOptions,
)
from sessionkit.devin import DevinCore, sessions_create
from sessionkit.jupyter import JupyterCore, sessions_get, sessions_list

from .conftest import FAST_RETRY
from .fault_server import Conn, FaultServer, Recorded, json_body, redirect, respond

TOKEN = "tok-9f8e7d6c5b4a"
PASSWORD = "pw-4a5b6c7d8e9f"


def everything_shown(value: Any, depth: int = 0) -> str:
    """The text of an error as far as a caller can reach it: str, repr, attributes, the cause's
    attributes and its formatted traceback (whose frames would hold the request's headers)."""
    if depth > 3 or value is None:
        return ""
    parts = [str(value), repr(value)]
    attrs = getattr(value, "__dict__", None)
    if attrs:
        parts.append(repr(attrs))
        parts += [everything_shown(v, depth + 1) for v in attrs.values() if isinstance(v, BaseException)]
    if isinstance(value, BaseException):
        parts.append("".join(traceback.format_exception(value)))
        for attr in ("request_info", "os_error", "__cause__", "__context__"):
            parts.append(everything_shown(getattr(value, attr, None), depth + 1))
        tb = value.__traceback__
        while tb is not None:
            parts.append(repr(tb.tb_frame.f_locals))
            tb = tb.tb_next
    return "\n".join(parts)


def assert_clean(*texts: str, secrets: tuple[str, ...] = (TOKEN, PASSWORD)) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked in: {text[:300]!r}"


def raw(data: bytes) -> Any:
    async def behave(req: Recorded, conn: Conn) -> None:
        await conn.send(data)
        conn.close()

    return behave


MALFORMED = {
    "bad-status-line": raw(b"HTTX/9 abc\r\n\r\n"),
    "huge-header": raw(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 9000 + b"\r\nContent-Length: 2\r\n\r\n[]"),
    "bad-chunk": raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n[]\r\n0\r\n\r\n"),
    "bad-content-length": raw(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n[]"),
}


@pytest.mark.parametrize("case", MALFORMED)
async def test_a_malformed_response_leaks_no_token_through_the_cause(case: str) -> None:
    async with (
        FaultServer(default=MALFORMED[case]) as srv,
        JupyterCore(server_url=srv.url, token=TOKEN, retries=0) as core,
    ):
        result = await sessions_list(core)
    assert isinstance(result, Err), result
    assert isinstance(result.error, ConnectionError), repr(result.error)
    assert result.error.cause is not None
    assert_clean(everything_shown(result.error))
    assert result.error.cause.__traceback__ is None
    assert srv.requests, "a vacuous test"
    assert TOKEN in (srv.requests[0].header("Authorization") or "")


JUPYTER_404_PAGE = f"""<!DOCTYPE html><html><head><title>404 Not Found</title>
<script id="jupyter-config-data" type="application/json">{{"token": "{TOKEN}"}}</script></head>
<body data-jupyter-api-token="{TOKEN}"><h1>404 : Not Found</h1></body></html>""".encode()


async def test_an_error_page_that_embeds_the_token_is_scrubbed() -> None:
    page = respond(404, JUPYTER_404_PAGE, content_type="text/html")
    async with FaultServer(default=page) as srv, JupyterCore(server_url=srv.url, token=TOKEN) as core:
        result = await sessions_get(core, {"session": "not-a-uuid"})
    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert "data-jupyter-api-token=" in result.error.raw_text, "the page itself is still shown"
    assert_clean(everything_shown(result.error), result.error.raw_text)


async def test_a_json_error_that_echoes_the_token_is_scrubbed_everywhere() -> None:
    echo = json_body({"message": f"bad token {TOKEN}", "detail": {TOKEN: [TOKEN]}}, 403, headers=[("X-Echo", TOKEN)])
    async with FaultServer(default=echo) as srv, JupyterCore(server_url=srv.url, token=TOKEN) as core:
        result = await sessions_list(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, APIError)
    assert_clean(everything_shown(result.error), repr(result.error.body), repr(result.error.headers))


def test_request_options_hide_secret_header_values_in_repr() -> None:
    options = RequestOptions(headers={"Authorization": f"Bearer {TOKEN}", "X-Auth-Token": TOKEN, "X-Trace": "t-1"})
    shown = repr(options)
    assert_clean(shown)
    assert "t-1" in shown


async def test_a_password_in_the_server_url_stays_out_of_repr_logs_and_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="sessionkit")
    async with FaultServer(default=json_body({"message": "no"}, 500)) as srv:
        url = srv.url.replace("http://", f"http://admin:{PASSWORD}@")
        async with JupyterCore(server_url=url, retries=FAST_RETRY) as core:
            assert_clean(repr(core), str(core))
            result = await sessions_list(core)
    assert isinstance(result, Err)
    assert_clean(everything_shown(result.error), *(r.getMessage() for r in caplog.records))
    assert any("admin" in r.getMessage() for r in caplog.records), "the URL was logged at all"


SECRET_NAMES = ["X-Auth-Token", "Private-Token", "X-Access-Token", "X-Goog-Api-Key", "X-My-Own-Secret"]


@pytest.mark.parametrize("name", SECRET_NAMES)
async def test_declared_and_common_secret_headers_do_not_cross_origins_or_reach_logs(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sessionkit")
    async with FaultServer(default=json_body([])) as other, FaultServer() as first:
        first.default = redirect(302, other.url + "/api/sessions")
        core = JupyterCore(server_url=first.url, headers={name: TOKEN}, secret_headers=["x-my-own-secret"], retries=0)
        async with core:
            result = await sessions_list(core)
    assert isinstance(result, Ok), result
    assert first.requests[0].header(name) == TOKEN, "sent to the core's own origin"
    assert other.requests[0].header(name) is None, "stripped when the redirect left the origin"
    assert_clean(*(r.getMessage() for r in caplog.records))


def test_secret_headers_takes_a_list_of_names() -> None:
    with pytest.raises(ValueError, match="list of header names"):
        JupyterCore(secret_headers="X-Token")  # type: ignore[arg-type]
    assert "x-token" in JupyterCore(secret_headers=["X-Token"]).secret_headers


@pytest.mark.parametrize("status", [307, 308])
async def test_a_cross_origin_redirect_never_gets_the_request_body(status: int) -> None:
    async with FaultServer(default=json_body({"session_id": "x", "url": "u"})) as other, FaultServer() as first:
        first.default = redirect(status, other.url + "/v1/sessions")
        async with DevinCore(TOKEN, server_url=first.url, retries=0) as core:
            body = {"prompt": "p", "session_secrets": [{"key": "K", "value": "hunter2-secret"}]}
            result = await sessions_create(core, body)
    assert other.requests == [], "nothing at all goes to the other origin"
    assert b"hunter2-secret" in first.requests[0].body
    assert isinstance(result, Err)
    assert isinstance(result.error, APIError)
    assert result.error.status == status
    assert "another origin" in result.error.message


async def test_a_same_origin_307_keeps_its_body() -> None:
    plan = [redirect(307, "/v1/other"), json_body({"session_id": "x", "url": "u"})]
    async with FaultServer(plan=deque(plan)) as srv, DevinCore(TOKEN, server_url=srv.url, retries=0) as core:
        result = await sessions_create(core, {"prompt": "p"})
    assert isinstance(result, Ok), result
    assert [r.body for r in srv.requests][1] == srv.requests[0].body
