"""`BaseCore` lifecycle: the lazy pool, closing, the leak warning, and secrets kept out of repr and logs."""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
import warnings
from collections.abc import Iterator

import aiohttp
import pytest
from aioresponses import aioresponses

from sessionkit import Err, InvalidRequestError, Ok
from sessionkit._logging import logger as sessionkit_logger
from sessionkit._logging import setup_logging
from sessionkit.jupyter import JupyterCore, sessions_get, sessions_list

BASE = "http://127.0.0.1:8888"
TOKEN = "core-secret-token"


@pytest.fixture
def http() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


def _leak_warnings(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, ResourceWarning) and "was not closed" in str(w.message)]


def test_a_new_core_has_no_pool_and_needs_no_loop() -> None:
    core = JupyterCore(server_url=BASE, token=TOKEN)
    assert core._session is None
    assert core.closed
    del core  # nothing was opened: no warning (the suite turns ResourceWarning into an error)
    gc.collect()


async def test_the_pool_is_created_on_first_use_inside_the_running_loop(http: aioresponses) -> None:
    http.get(BASE + "/api/sessions", payload=[], repeat=True)
    async with JupyterCore(server_url=BASE, token=TOKEN) as core:
        assert core._session is None
        assert await sessions_list(core) == Ok([])
        session = core._session
        assert session is not None
        assert not core.closed
        assert session._loop is asyncio.get_running_loop()
        assert isinstance(session.connector, aiohttp.TCPConnector)
        assert await sessions_list(core) == Ok([])
        assert core._session is session  # one pool per core, reused
    assert core.closed
    assert session.closed


async def test_aclose_twice_is_safe_and_the_core_stays_closed_until_entered_again(http: aioresponses) -> None:
    http.get(BASE + "/api/sessions", payload=[], repeat=True)
    core = JupyterCore(server_url=BASE, token=TOKEN)
    assert await sessions_list(core) == Ok([])
    first = core._session
    await core.aclose()
    await core.aclose()
    assert first is not None
    assert first.closed
    assert core.closed
    closed = await sessions_list(core)
    assert isinstance(closed, Err)
    assert isinstance(closed.error, InvalidRequestError)
    assert "closed" in closed.error.message
    assert core._session is None, "a call on a closed core must not reopen its pool"
    async with core:  # entering it again is the one way to reopen it
        assert await sessions_list(core) == Ok([])
        assert core._session is not first
    assert core.closed


async def test_a_session_given_by_the_caller_is_left_open(http: aioresponses) -> None:
    http.get(BASE + "/api/sessions", payload=[])
    async with aiohttp.ClientSession() as own:
        async with JupyterCore(server_url=BASE, token=TOKEN, session=own) as core:
            assert await sessions_list(core) == Ok([])
            assert core._session is own
        assert not own.closed


async def test_an_unclosed_core_warns_exactly_once() -> None:
    core = JupyterCore(server_url=BASE, token=TOKEN)
    session = core.client_session()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            core.__del__()
            core.__del__()
            del core
            gc.collect()
        leaks = _leak_warnings(caught)
        assert len(leaks) == 1, [str(w.message) for w in caught]
        assert "JupyterCore was not closed" in str(leaks[0].message)
        assert TOKEN not in str(leaks[0].message)
    finally:
        await session.close()


async def test_a_closed_core_does_not_warn(http: aioresponses) -> None:
    http.get(BASE + "/api/sessions", payload=[])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with JupyterCore(server_url=BASE, token=TOKEN) as core:
            await sessions_list(core)
        del core
        gc.collect()
    assert _leak_warnings(caught) == []


def test_repr_has_no_token() -> None:
    core = JupyterCore(server_url=BASE, token=TOKEN)
    assert TOKEN not in repr(core)
    assert TOKEN not in str(core)
    assert repr(core) == f"JupyterCore(server_url='{BASE}', credentials=<redacted>)"
    assert repr(JupyterCore(server_url=BASE, token="")) == f"JupyterCore(server_url='{BASE}')"


def test_plain_http_with_credentials_to_a_remote_host_warns() -> None:
    host = f"jupyter-{uuid.uuid4().hex[:8]}.example"
    with pytest.warns(UserWarning, match="plain http"):
        JupyterCore(server_url=f"http://{host}:8888", token=TOKEN)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        JupyterCore(server_url=f"https://{host}", token=TOKEN)
        JupyterCore(server_url="http://localhost:8888", token=TOKEN)
        JupyterCore(server_url=f"http://{host}:9999")  # no credentials to leak


async def test_debug_logging_redacts_authorization(http: aioresponses, caplog: pytest.LogCaptureFixture) -> None:
    http.get(BASE + "/api/sessions", payload=[])
    http.get(BASE + "/api/sessions/" + "0" * 8, status=404, payload={"message": "Session not found"})
    caplog.set_level(logging.DEBUG, logger="sessionkit")
    async with JupyterCore(server_url=BASE, token=TOKEN, retries=0) as core:
        await sessions_list(core)
        await sessions_get(core, {"session": "0" * 8})
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "sessionkit")
    assert "jupyter.sessions.list attempt 1 GET" in text
    assert "'Authorization': '<redacted>'" in text
    assert "jupyter.sessions.get failed after 1 attempt(s)" in text
    assert TOKEN not in text
    assert TOKEN not in caplog.text


async def test_sessionkit_log_env_turns_on_a_redacting_stderr_log(
    http: aioresponses, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    http.get(BASE + "/api/sessions", payload=[])
    level, handlers = sessionkit_logger.level, list(sessionkit_logger.handlers)
    monkeypatch.setenv("SESSIONKIT_LOG", "debug")
    try:
        setup_logging()
        setup_logging()  # idempotent: one handler
        added = [h for h in sessionkit_logger.handlers if h not in handlers]
        assert len(added) == 1
        assert sessionkit_logger.level == logging.DEBUG
        async with JupyterCore(server_url=BASE, token=TOKEN) as core:
            await sessions_list(core)
    finally:
        sessionkit_logger.handlers[:] = handlers
        sessionkit_logger.setLevel(level)
    err = capsys.readouterr().err
    assert "jupyter.sessions.list attempt 1" in err
    assert "<redacted>" in err
    assert TOKEN not in err
