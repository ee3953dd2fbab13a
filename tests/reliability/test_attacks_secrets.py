"""Issue 17, item 6: secrets a hostile server echoes back, or that aiohttp keeps in its exceptions, never
reach an error value, a repr or the CLI's output.

Each secret is checked in every form a server or a parser could show it: as given, percent-decoded,
and base64 (the `Authorization: Basic` header aiohttp builds from a URL's userinfo).
"""

from __future__ import annotations

import asyncio
import base64
import json
from contextlib import aclosing
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from sessionkit import APIError, ConnectionError, Err, InvalidRequestError, ResponseValidationError, SessionkitError
from sessionkit.mix import MixCore, sessions_get, sessions_stream
from sessionkit.orq import OrqCore
from sessionkit.orq import sessions_get as orq_get
from tests.cli._run import sessionkit

from .fault_server import Conn, FaultServer, Recorded, json_body
from .hostile import event_stream

GUARD = 60.0  # seconds: only so that a regression fails instead of stalling the suite
PASSWORD = "p%40ss%2Fw0rd-Secret"  # as written in the URL: decoded, "p@ss/w0rd-Secret"
BASIC = base64.b64encode(f"admin:{unquote(PASSWORD)}".encode()).decode()


def forms(*secrets: str) -> set[str]:
    """Each secret as given, percent-decoded, and base64-encoded (padded and not)."""
    out: set[str] = set()
    for secret in secrets:
        for text in (secret, unquote(secret)):
            encoded = base64.b64encode(text.encode()).decode()
            out |= {text, encoded, encoded.rstrip("=")}
    return out


def everything_shown(error: BaseException) -> str:
    """All an error shows: its text, repr, args, every attribute (the body as JSON), and its cause's."""
    fields = vars(error)
    parts = [str(error), repr(error), repr(error.args), repr(fields)]
    body = fields.get("body")
    if body is not None:
        parts.append(json.dumps(body))
    cause = fields.get("cause")
    if isinstance(cause, BaseException):
        parts += [str(cause), repr(cause), repr(cause.args), repr(getattr(cause, "__dict__", {}))]
        parts.append(repr(getattr(cause, "request_info", None)))
    return "\n".join(parts)


def assert_hidden(shown: str, secrets: set[str]) -> None:
    leaked = sorted(s for s in secrets if s in shown)
    assert not leaked, f"{leaked} in {shown[:3000]}"


def echo_authorization(req: Recorded, conn: Conn) -> Any:
    """A 400 whose body and headers repeat the request's Authorization header, and the Basic
    credentials decoded, as a debugging proxy might."""
    header = req.header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    decoded = base64.b64decode(token).decode() if scheme == "Basic" else ""
    body = {"error": {"message": f"refused {header}"}, "got": header, "credentials": decoded, "token": token}
    return json_body(body, 400, headers=[("X-Echo", header), ("X-Credentials", decoded)])(req, conn)


# --- userinfo in the server URL ----------------------------------------------------------------------


async def test_a_server_echoing_the_basic_header_of_the_url_userinfo_leaks_nothing() -> None:
    """issue 17, item 6: `http://admin:PW@host`; the server echoes `Basic base64(admin:PW)` and the
    decoded password into its error body, text and headers."""
    async with FaultServer(default=echo_authorization) as srv:
        url = srv.url.replace("http://", f"http://admin:{PASSWORD}@")
        async with MixCore(url, retries=0) as core:
            result = await asyncio.wait_for(sessions_get(core, {"id": "s-1"}), GUARD)
            shown_core = repr(core)
    assert srv.requests[0].header("Authorization") == f"Basic {BASIC}"  # the attack happened
    assert isinstance(result, Err), result
    error = result.error
    assert isinstance(error, APIError)
    assert error.status == 400
    secrets = forms(PASSWORD)
    assert_hidden(error.raw_text, secrets)
    assert_hidden(json.dumps(error.body), secrets)
    assert_hidden(repr(dict(error.headers)), secrets)
    assert_hidden(error.message, secrets)
    assert_hidden(everything_shown(error), secrets)
    assert_hidden(shown_core, secrets)


async def test_the_cli_prints_nothing_of_an_echoed_basic_header() -> None:
    """issue 17, item 6: the same attack through `sessionkit mix sessions get`: stdout and stderr."""
    async with FaultServer(default=echo_authorization) as srv:
        url = srv.url.replace("http://", f"http://admin:{PASSWORD}@")
        run = await sessionkit("mix", "sessions", "get", "s-1", "--server-url", url, "--retries", "0")
    assert srv.requests[0].header("Authorization") == f"Basic {BASIC}"
    assert run.code == 1, run
    assert run.error()["status"] == 400
    assert "Traceback" not in run.stderr
    assert_hidden(run.stdout + run.stderr, forms(PASSWORD))


# --- a stream event that fails validation ------------------------------------------------------------

BEARER = "tok-SECRET-4f9a2c"
DECLARED = "hdr-SECRET-77d1e0"


async def test_an_invalid_stream_event_echoing_the_token_and_a_secret_header_shows_neither() -> None:
    """issue 17, item 6: a known event type whose data fails validation and repeats the bearer token
    and a header the core declared secret (`secret_headers=`)."""
    data = json.dumps({"type": "content", "note": f"Bearer {BEARER}; X-Api-Secret: {DECLARED}"})
    stream = event_stream(f"event: content\ndata: {data}\n\nevent: tick\ndata: {{}}\n\n")
    headers = {"Authorization": f"Bearer {BEARER}", "X-Api-Secret": DECLARED}
    async with FaultServer(default=stream) as srv:
        core = MixCore(srv.url, retries=0, headers=headers, secret_headers=["X-Api-Secret"])
        async with core, aclosing(sessions_stream(core, {"id": "s-1"})) as events:
            items = await asyncio.wait_for(_all(events), GUARD)
    assert srv.requests[0].header("X-Api-Secret") == DECLARED
    errors = [item.error for item in items if isinstance(item, Err)]
    assert len(errors) == 1, items
    error = errors[0]
    assert isinstance(error, ResponseValidationError)
    assert "content" in error.message
    assert_hidden(error.raw_text, forms(BEARER, DECLARED))
    assert_hidden(everything_shown(error), forms(BEARER, DECLARED))


async def _all(events: Any) -> list[Any]:
    return [item async for item in events]


# --- aiohttp's exception for a malformed status line -------------------------------------------------

TOKEN = "orq-SECRET-key-91be3f"


async def bad_status_line(req: Recorded, conn: Conn) -> None:
    await conn.send(b"HTTX/9 abc\r\n\r\n")
    conn.close()


async def test_a_malformed_status_line_gives_a_connection_error_whose_cause_holds_no_token() -> None:
    """issue 17, item 6: `HTTX/9 abc`: aiohttp's exception keeps the request (headers and all) in its
    `args` and attributes; the error's cause shows none of the token."""
    async with FaultServer(default=bad_status_line) as srv, OrqCore(TOKEN, server_url=srv.url, retries=0) as core:
        result = await asyncio.wait_for(orq_get(core, {"session_id": "s-1"}), GUARD)
    assert srv.requests[0].header("Authorization") == f"Bearer {TOKEN}"
    assert isinstance(result, Err), result
    assert isinstance(result.error, ConnectionError), result.error
    cause = result.error.cause
    assert cause is not None
    secrets = forms(TOKEN)
    assert_hidden(repr(cause), secrets)
    assert_hidden(repr(cause.args), secrets)
    assert_hidden(repr(vars(cause)), secrets)
    assert_hidden(everything_shown(result.error), secrets)


# --- a password URL parsers misread ------------------------------------------------------------------


@pytest.mark.parametrize("char", ["/", "?", "#"])
@pytest.mark.parametrize("core_type", [MixCore, OrqCore])
async def test_a_password_with_an_unencoded_delimiter_is_in_no_repr_and_no_error(char: str, core_type: type) -> None:
    """issue 17, item 6: `http://admin:pw<char>SECRET-tail@host`: a URL parser reads the password's
    tail as the path, query or fragment; it shows in neither `repr(core)` nor the error of a call."""
    password = f"pw{char}SECRET-tail-5c3e"
    async with FaultServer() as srv:
        url = srv.url.replace("http://", f"http://admin:{password}@")
        kwargs: dict[str, Any] = {"retries": 0}
        if core_type is OrqCore:
            kwargs["api_key"] = "k-123456"
        async with core_type(server_url=url, **kwargs) as core:
            shown = repr(core)
            call = sessions_get(core, {"id": "s-1"}) if core_type is MixCore else orq_get(core, {"session_id": "s-1"})
            result = await asyncio.wait_for(call, GUARD)
    secrets = forms(password) | {"SECRET-tail-5c3e"}
    assert_hidden(shown, secrets)
    assert isinstance(result, Err), result
    error: SessionkitError = result.error
    assert isinstance(error, InvalidRequestError), error  # nothing was sent to a host it cannot read
    assert srv.requests == []
    assert_hidden(everything_shown(error), secrets)


# --- the transfers and the turn added with issues 18-19: a server echoing the credential -----------------


async def test_attachment_transfers_and_a_turn_against_a_server_echoing_the_credential_leak_nothing(
    tmp_path: Path,
) -> None:
    """Devin v3's upload and streamed download and Mix's `sessions_run` go through the same scrubber:
    the key (Bearer) and the URL's userinfo (Basic) a server echoes into its 400 appear nowhere."""
    from sessionkit.devin.v3 import DevinCore, attachments_download, attachments_upload
    from sessionkit.mix import sessions_run

    key = "cog_echoed-attachment-key-7d1e"
    async with FaultServer(default=echo_authorization) as srv:
        async with DevinCore(key, "org-1", server_url=srv.url, retries=0) as devin:
            (tmp_path / "up.txt").write_bytes(b"abc")
            uploaded = await asyncio.wait_for(attachments_upload(devin, {"file": tmp_path / "up.txt"}), GUARD)
            request = {"uuid": "u-1", "name": "a.txt"}
            saved = await asyncio.wait_for(attachments_download(devin, request, to=tmp_path / "a.txt"), GUARD)
            streamed = await asyncio.wait_for(attachments_download(devin, request), GUARD)
            shown_devin = repr(devin)
        url = srv.url.replace("http://", f"http://admin:{PASSWORD}@")
        async with MixCore(url, retries=0) as mix:
            turn = await asyncio.wait_for(sessions_run(mix, {"id": "s-1", "message": {"text": "hi"}}), GUARD)
            shown_mix = repr(mix)
    assert any(key in (r.header("Authorization") or "") for r in srv.requests)  # the attacks happened
    assert any(r.header("Authorization") == f"Basic {BASIC}" for r in srv.requests)
    secrets = forms(key, PASSWORD)
    for result in (uploaded, saved, streamed, turn):
        assert isinstance(result, Err), result
        assert isinstance(result.error, APIError), result.error
        assert result.error.status == 400
        assert_hidden(everything_shown(result.error), secrets)
        assert_hidden(result.error.raw_text + repr(dict(result.error.headers)), secrets)
    assert_hidden(shown_devin + shown_mix, secrets)
    assert not (tmp_path / "a.txt").exists()
