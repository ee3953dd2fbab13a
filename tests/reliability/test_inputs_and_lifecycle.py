"""Bad input is an `Err`, a core works in whichever loop calls it and stays closed after `aclose()`,
and the smaller hardening items: URLs, header names, control characters, proxies and DNS
(hardening items 5, 7 and 11)."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from sessionkit import (
    APIError,
    ConnectionError,
    Err,
    InvalidRequestError,
    Ok,
    RequestOptions,
    RetryConfig,
)
from sessionkit.jupyter import JupyterCore, sessions_get, sessions_list
from sessionkit.mix import MixCore
from sessionkit.mix import sessions_get as mix_get
from sessionkit.testing import FakeJupyter
from sessionkit.testing.clock import FakeClock

from .conftest import FAST_RETRY
from .fault_server import FaultServer, json_body, redirect, slow_headers

GUARD = 30

# --- item 5: bad input is an Err -----------------------------------------------------------------


@pytest.mark.parametrize("ident", [chr(0xD800), f"a{chr(0xDCFF)}b", chr(0xDFFF)])
async def test_a_lone_surrogate_in_a_path_id_is_an_invalid_request(ident: str) -> None:
    async with FaultServer() as srv, MixCore(server_url=srv.url) as core:
        result = await mix_get(core, {"id": ident})
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "$.id"
    assert srv.requests == []


BAD_OPTIONS: dict[str, tuple[Callable[[], Any], str]] = {
    "header-name-int": (lambda: RequestOptions(headers={5: "x"}), "headers"),  # type: ignore[dict-item]
    "header-value-int": (lambda: RequestOptions(headers={"X-A": 5}), "headers.X-A"),  # type: ignore[dict-item]
    "headers-not-mapping": (lambda: RequestOptions(headers=["X-A"]), "options.headers"),  # type: ignore[arg-type]
    "timeout-str": (lambda: RequestOptions(timeout="abc"), "options.timeout"),  # type: ignore[arg-type]
    "retries-str": (lambda: RequestOptions(retries="x"), "options.retries"),  # type: ignore[arg-type]
    "retries-negative": (lambda: RequestOptions(retries=-1), "options.retries"),
    "retries-float": (lambda: RequestOptions(retries=1.5), "options.retries"),  # type: ignore[arg-type]
    "server-url-int": (lambda: RequestOptions(server_url=5), "options.server_url"),  # type: ignore[arg-type]
    "idempotency-key-int": (lambda: RequestOptions(idempotency_key=5), "headers.Idempotency-Key"),  # type: ignore[arg-type]
    "not-options": (lambda: {"timeout": 5}, "options"),
}


@pytest.mark.parametrize("case", BAD_OPTIONS)
async def test_bad_request_options_are_an_invalid_request_and_nothing_is_sent(case: str) -> None:
    make, field_path = BAD_OPTIONS[case]
    async with FaultServer() as srv, JupyterCore(server_url=srv.url) as core:
        result = await sessions_list(core, options=make())
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError), repr(result.error)
    assert result.error.field_path.startswith(field_path), result.error.field_path
    assert srv.requests == []


# --- item 7: event loops and aclose --------------------------------------------------------------


def run_in_fresh_loops(*steps: Callable[[], Any]) -> list[Any]:
    """Each step in its own `asyncio.run`, one after the other, in a thread of its own (so the
    test's event loop is left alone)."""
    out: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            out.extend(asyncio.run(step()) for step in steps)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(GUARD)
    assert not thread.is_alive(), "the runs hung"
    if errors:
        raise errors[0]
    return out


def test_a_core_works_under_a_second_asyncio_run() -> None:
    core = JupyterCore(token="t", retries=0)

    async def one_run() -> Any:
        async with FakeJupyter(token="t") as fake:
            return await sessions_list(core, options=RequestOptions(server_url=fake.url))

    async def close() -> None:
        await core.aclose()

    with warnings.catch_warnings():
        # The first loop ended with the pool open (the caller never closed it); its sockets are
        # dropped with it, which asyncio reports when they are collected.
        warnings.simplefilter("ignore", ResourceWarning)
        first, second, _ = run_in_fresh_loops(one_run, one_run, close)
        gc.collect()
    assert first == Ok([])
    assert second == Ok([]), second


def test_a_core_entered_in_each_run_works_in_each() -> None:
    core = JupyterCore(token="t", retries=0)

    async def one_run() -> Any:
        async with FakeJupyter(token="t") as fake, core:
            return await sessions_list(core, options=RequestOptions(server_url=fake.url))

    assert run_in_fresh_loops(one_run, one_run, one_run) == [Ok([])] * 3


async def test_a_core_bound_to_a_running_loop_elsewhere_says_so() -> None:
    async with FakeJupyter(token="t") as fake, JupyterCore(server_url=fake.url, token="t") as core:
        assert (await sessions_list(core)).is_ok()

        async def other_loop() -> Any:
            return await sessions_list(core)

        (result,) = await asyncio.to_thread(run_in_fresh_loops, other_loop)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert "another event loop" in result.error.message


async def test_aclose_with_calls_in_flight_ends_them_and_stays_closed() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with FaultServer(default=slow_headers(5, json_body([]))) as srv:
            core = JupyterCore(server_url=srv.url, retries=RetryConfig(max_retries=5, initial_wait=0.001))
            calls = [asyncio.create_task(sessions_list(core)) for _ in range(8)]
            await srv.wait_until(lambda s: len(s.requests) == 8, timeout=GUARD)
            await core.aclose()
            results = await asyncio.wait_for(asyncio.gather(*calls), GUARD)
            assert core.closed
            assert core._session is None, "a retry must not reopen the pool"
            after = await sessions_list(core)
            assert len(srv.requests) == 8, "nothing was retried on a new pool"
        del core, calls
        gc.collect()
    for result in results:
        assert isinstance(result, Err)
        assert isinstance(result.error, ConnectionError), repr(result.error)
        assert result.error.attempts == 1
    assert isinstance(after, Err)
    assert isinstance(after.error, InvalidRequestError)
    assert "closed" in after.error.message
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


# --- item 11: URLs, header names, control characters -------------------------------------------


async def test_a_redirect_location_with_spaces_and_non_ascii_is_percent_encoded() -> None:
    async with FaultServer() as srv, JupyterCore(server_url=srv.url, retries=0) as core:
        # As a server sends it: UTF-8 bytes (the fault server writes headers as latin-1).
        location = "/new place/ünï?q=a b".encode().decode("latin-1")
        srv.plan.extend([redirect(302, location), json_body([])])
        result = await sessions_list(core)
    assert result == Ok([])
    assert srv.requests[1].target in ("/new%20place/%C3%BCn%C3%AF?q=a+b", "/new%20place/%C3%BCn%C3%AF?q=a%20b")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/base\r\nX-Injected: 1",
        "http://127.0.0.1:1\n",
        "http://127.0.0.1:1/a b",
        "http://127.0.0.1:1/base?tenant=1",
        "http://127.0.0.1:1/base#frag",
        "ftp://127.0.0.1:1",
        "127.0.0.1:1",
        "http://",
        "http://127.0.0.1:99999",
    ],
)
async def test_a_bad_server_url_is_an_invalid_request_and_nothing_is_sent(url: str) -> None:
    async with JupyterCore(server_url=url) as core:
        result = await sessions_list(core)
        per_call = await sessions_list(JupyterCore(), options=RequestOptions(server_url=url))
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "server_url"
    assert "\n" not in str(result.error)
    assert isinstance(per_call, Err)
    assert isinstance(per_call.error, InvalidRequestError)
    assert per_call.error.field_path == "options.server_url"


@pytest.mark.parametrize("name", ["X A:", "X:A", "", "Ünï", "X\tA", "(x)"])
async def test_a_header_name_that_is_not_a_token_is_refused(name: str) -> None:
    async with FaultServer() as srv, JupyterCore(server_url=srv.url) as core:
        result = await sessions_list(core, options=RequestOptions(headers={name: "v"}))
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path.startswith("headers.")
    assert srv.requests == []


@pytest.mark.parametrize("value", ["a\x7fb", "a\x00b", "a\x1bb", "a\rb"])
async def test_a_control_character_in_a_header_value_is_blamed_on_that_header(value: str) -> None:
    async with FaultServer() as srv, JupyterCore(server_url=srv.url) as core:
        result = await sessions_list(core, options=RequestOptions(headers={"X-Trace": value}))
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "headers.X-Trace"
    assert srv.requests == []


async def test_server_messages_cannot_forge_log_lines_or_colour_the_terminal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="sessionkit")
    forged = "bad\r\n[sessionkit INFO] all good\x1b[31m red \x1b]0;title\x07\u2028end\x85"
    async with (
        FaultServer(default=json_body({"message": forged}, 400)) as srv,
        JupyterCore(server_url=srv.url) as core,
    ):
        result = await sessions_list(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, APIError)
    assert result.error.server_message == forged, "the body itself is kept as the server sent it"
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("sessionkit")]
    assert logged, "the failure was logged"
    for text in [str(result.error), *logged]:
        assert not any(ch in text for ch in "\r\n\x1b\x07\u2028\x85"), repr(text)


# --- item 11: proxies and DNS ----------------------------------------------------------------------


async def test_http_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FaultServer(default=json_body([])) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with JupyterCore(server_url="http://api.example.invalid:8888", retries=0) as core:
            result = await sessions_list(core)
    assert result == Ok([])
    assert proxy.requests[0].target == "http://api.example.invalid:8888/api/sessions"


async def test_proxy_credentials_become_proxy_authorization(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FaultServer(default=json_body([])) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://user:pa55word@"))
        with pytest.warns(UserWarning, match="plain http"):
            core = JupyterCore(server_url="http://api.example.invalid", token="tok-secret", retries=0)
        async with core:
            assert await sessions_list(core) == Ok([])
    assert proxy.requests[0].header("Proxy-Authorization") == "Basic dXNlcjpwYTU1d29yZA=="
    assert proxy.requests[0].header("Authorization") == "token tok-secret"


async def test_no_proxy_and_trust_env_false_bypass_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FaultServer(default=json_body([])) as proxy, FaultServer(default=json_body([])) as direct:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with JupyterCore(server_url=direct.url, retries=0, trust_env=False) as core:
            assert await sessions_list(core) == Ok([])
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with JupyterCore(server_url=direct.url, retries=0) as core:
            assert await sessions_list(core) == Ok([])
    assert proxy.requests == []
    assert len(direct.requests) == 2


def failing_resolver(code: int) -> Callable[..., Any]:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "dns.example.test":
            raise socket.gaierror(code, "resolver says no")
        return real(host, *args, **kwargs)

    return getaddrinfo


@pytest.mark.parametrize(("code", "attempts"), [(socket.EAI_NONAME, 1), (socket.EAI_AGAIN, 3)])
async def test_dns_failures_are_retried_unless_the_name_does_not_exist(
    monkeypatch: pytest.MonkeyPatch, code: int, attempts: int
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", failing_resolver(code))
    clock = FakeClock()
    async with JupyterCore(server_url="http://dns.example.test", retries=FAST_RETRY, clock=clock) as core:
        result = await sessions_get(core, {"session": "s"})
    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionError), repr(result.error)
    assert result.error.attempts == attempts
