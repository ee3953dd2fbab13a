"""Every private aiohttp name sessionkit uses (`sessionkit/_aiohttp_compat.py`): which path the
installed aiohttp takes for each, and that the public fallback answers alike.

If a new aiohttp drops or changes one of these names, sessionkit goes on working through the
fallback; the first test of each pair then fails here, saying which shortcut was lost.
"""

from __future__ import annotations

import asyncio

import aiohttp
import aiohttp.web
import pytest

from sessionkit import ConnectionError, Err, Ok, RequestTimeoutError, RetryConfig, Timeout, _aiohttp_compat
from sessionkit.jupyter import JupyterCore, sessions_get
from tests._support.polling import eventually
from tests.reliability.fault_server import FaultServer, json_body, redirect, reset_before_headers, slow_headers

from .test_faults import SESSION_JSON


def test_the_installed_aiohttp_takes_the_direct_call() -> None:
    # `ClientSession._request` called straight: benchmarks/instructions.py counts what it saves.
    assert _aiohttp_compat.DIRECT_REQUEST


@pytest.mark.parametrize("direct", [True, False], ids=["_request", "request"])
async def test_both_ways_of_calling_aiohttp_answer_alike(direct: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_aiohttp_compat, "DIRECT_REQUEST", direct)
    async with FaultServer(default=json_body(SESSION_JSON)) as srv:
        ok = json_body(SESSION_JSON)
        srv.then(redirect(307, f"{srv.url}/api/sessions/s-1"), ok, slow_headers(2.0, ok))
        async with JupyterCore(server_url=srv.url, token="t", timeout=Timeout(attempt=0.3), retries=0) as core:
            redirected = await sessions_get(core, {"session": "s-0"})
            timed_out = await sessions_get(core, {"session": "s-1"})
            plain = await sessions_get(core, {"session": "s-2"})
    assert isinstance(redirected, Ok)
    assert isinstance(timed_out, Err)
    assert isinstance(timed_out.error, RequestTimeoutError)
    assert isinstance(plain, Ok)
    assert [r.path for r in srv.requests] == [
        "/api/sessions/s-0",
        "/api/sessions/s-1",
        "/api/sessions/s-1",
        "/api/sessions/s-2",
    ]
    assert all(r.header("Authorization") == "token t" for r in srv.requests)


def test_the_installed_aiohttp_lets_its_own_resend_be_turned_off() -> None:
    assert _aiohttp_compat.NO_RESEND


async def test_with_retries_off_a_reset_get_is_sent_exactly_once() -> None:
    async with (
        FaultServer(default=reset_before_headers) as srv,
        JupyterCore(server_url=srv.url, token="t", retries=RetryConfig(max_retries=0)) as core,
    ):
        result = await sessions_get(core, {"session": "s-1"})
    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionError)
    assert len(srv.requests) == 1  # aiohttp's own silent resend is off: the pipeline decides


async def test_the_installed_aiohttp_says_which_loop_a_session_belongs_to() -> None:
    async with aiohttp.ClientSession() as session:
        assert _aiohttp_compat.session_loop(session) is asyncio.get_running_loop()


def test_a_pool_whose_loop_has_closed_is_abandoned_without_warnings() -> None:
    core = JupyterCore(server_url="http://127.0.0.1:9", token="t", retries=0)

    async def open_pool() -> None:
        core.client_session()

    asyncio.run(open_pool())  # the pool's loop is closed now
    session = core._session  # pyright: ignore[reportPrivateUsage]
    assert session is not None
    _aiohttp_compat.abandon(session)  # -W error::ResourceWarning turns any warning into a failure
    assert session.connector is None

    async def reuse() -> bool:
        async with core:
            return isinstance(await sessions_get(core, {"session": "x"}), Err)  # a new pool, nothing listens

    assert asyncio.run(reuse())


class _Parser:
    def __init__(self) -> None:
        self.fed = 0

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.fed += len(data)
        return False, b""

    def feed_eof(self) -> None:
        pass


class _Transport:
    aborted = False

    def abort(self) -> None:
        self.aborted = True


def test_the_frame_guard_stops_feeding_and_closes_past_its_limit() -> None:
    parser, transport = _Parser(), _Transport()
    guard = _aiohttp_compat.FrameGuard(parser, transport, limit=100)
    guard.feed_data(b"x" * 60)
    guard.taken(40)  # the reader took a 40-byte message (and its frame header)
    guard.feed_data(b"x" * 60)
    assert (guard.held, guard.tripped, transport.aborted) == (66, False, False)
    assert guard.feed_data(b"x" * 40) == (False, b"")
    assert (guard.tripped, transport.aborted) == (True, True)
    guard.feed_data(b"x" * 1000)
    assert parser.fed == 120  # nothing is parsed past the limit


async def test_the_installed_aiohttp_lets_the_frame_guard_in_and_shows_its_queue() -> None:
    # The guard sits on the protocol's private `_payload_parser`; without it only `max_msg_size` holds,
    # which aiohttp up to 3.13 checks once a whole frame is buffered.
    async def echo(request: aiohttp.web.Request) -> aiohttp.web.WebSocketResponse:
        ws = aiohttp.web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            await ws.send_bytes(message.data)
        return ws

    app = aiohttp.web.Application()
    app.router.add_get("/ws", echo)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as http, http.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
            guard = _aiohttp_compat.guard_frames(ws, 1 << 20)
            assert guard is not None
            assert not _aiohttp_compat.queued(ws)
            await ws.send_bytes(b"ping")
            await eventually(lambda: _aiohttp_compat.queued(ws))  # the reader's private queue is seen
            message = await ws.receive()
            assert not _aiohttp_compat.queued(ws)
            assert message.data == b"ping"
            assert guard.held == 4 + 2  # the echo and its frame header, not taken yet
            guard.taken(len(message.data))
            assert guard.held == 0
            assert _aiohttp_compat.abort_websocket(ws)
    finally:
        await runner.cleanup()
