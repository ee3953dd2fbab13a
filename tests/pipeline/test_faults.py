"""Every transport fault gives a documented `Ok` or typed `Err`, never an exception.

Outcomes (GET is retry-safe; Jupyter's create is safe by contract; PATCH is not):

| fault                                   | outcome                                                             |
| --------------------------------------- | ------------------------------------------------------------------- |
| reset before headers / mid-body,        | safe op: retried, Ok when a later attempt succeeds, else            |
| truncated body (Content-Length > sent)  | Err(ConnectionError) after 1 + max_retries attempts; PATCH: at once |
| headers slower than the attempt timeout | Err(RequestTimeoutError, deadline="attempt"), retried; "total" when |
|                                         | the total deadline ends it                                          |
| 503 burst                               | retried to Ok if the burst is shorter than the retries, else        |
|                                         | Err(InternalServerError); never retried for PATCH                   |
| 429 + Retry-After (s, date, ms)         | the wait is honoured, then Ok; above max_retry_after:               |
|                                         | Err(RateLimitError) at once with the asked wait                     |
| malformed JSON on 200                   | Err(ResponseValidationError, field_path="$"), not retried           |
| wrong content type                      | ignored: the body decides (valid JSON as text/plain is Ok)          |
| HTML error page                         | typed APIError by status; message has no HTML, raw_text keeps it    |
| 10 MB JSON body                         | Ok (default limit 64 MiB); Err(ResponseValidationError) over        |
|                                         | max_response_bytes, with or without Content-Length                  |
| keep-alive closed by the server         | Ok for GET (reconnect or retry); PATCH on a dead pooled connection: |
|                                         | Err(ConnectionError) (it may have been applied)                     |
| connection refused                      | Err(ConnectionError)                                                |
"""

from __future__ import annotations

import email.utils
import json
import socket
from typing import Any

import pytest

from sessionkit import (
    ConnectionError,
    Err,
    InternalServerError,
    NotFoundError,
    Ok,
    RateLimitError,
    RequestOptions,
    RequestTimeoutError,
    ResponseValidationError,
    RetryConfig,
    SessionkitError,
    Timeout,
)
from sessionkit.jupyter import JupyterCore, Session, sessions_create, sessions_get, sessions_update
from sessionkit.testing import FakeClock
from tests.reliability.conftest import SESSION_JSON, CoreFactory
from tests.reliability.fault_server import (
    Behaviour,
    FaultServer,
    close_after,
    close_silently,
    json_body,
    reset_before_headers,
    reset_mid_body,
    respond,
    slow_headers,
    truncated_body,
)

OK = json_body(SESSION_JSON)
CUTS = {
    "reset-before-headers": reset_before_headers,
    "reset-mid-body": reset_mid_body(),
    "truncated-body": truncated_body(),
}


async def get(core: JupyterCore, **kw: Any) -> Any:
    return await sessions_get(core, {"session": "s-1"}, **kw)


async def patch(core: JupyterCore) -> Any:
    return await sessions_update(core, {"session": "s-1", "model": {"name": "b"}})


def err_of(result: Any, kind: type[SessionkitError]) -> Any:
    """The error of an `Err` of `kind`; fails the test for anything else."""
    assert isinstance(result, Err), result
    assert isinstance(result.error, kind), repr(result.error)
    assert result.error.operation_id.startswith("jupyter.sessions.")
    return result.error


def ok_of(result: Any, attempts: int) -> Any:
    assert isinstance(result, Ok), result
    assert result.meta is not None
    assert result.meta.attempts == attempts
    return result.value


# --- connection cut: reset before headers, reset mid-body, truncated body --------------------


@pytest.mark.parametrize("fault", CUTS.values(), ids=CUTS.keys())
async def test_cut_on_every_attempt_is_connection_error_after_all_retries(
    fault: Behaviour, jupyter_core: CoreFactory
) -> None:
    async with FaultServer(default=fault) as srv, jupyter_core(srv.url) as core:
        error = err_of(await get(core), ConnectionError)
    assert error.attempts == 3
    assert error.cause is not None
    assert len(srv.requests) == 3


@pytest.mark.parametrize("fault", CUTS.values(), ids=CUTS.keys())
async def test_cut_once_is_retried_to_ok_for_a_safe_get(fault: Behaviour, jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=OK).then(fault) as srv, jupyter_core(srv.url) as core:
        session = ok_of(await get(core), attempts=2)
    assert isinstance(session, Session)
    assert (session.id, session.kernel.name) == ("s-1", "python3")


@pytest.mark.parametrize("fault", CUTS.values(), ids=CUTS.keys())
async def test_cut_once_is_retried_to_ok_for_a_create_safe_by_contract(
    fault: Behaviour, jupyter_core: CoreFactory
) -> None:
    async with FaultServer(default=json_body(SESSION_JSON, 201)).then(fault) as srv, jupyter_core(srv.url) as core:
        ok_of(await sessions_create(core, {"path": "a.ipynb"}), attempts=2)
    assert [r.method for r in srv.requests] == ["POST", "POST"]
    assert srv.requests[0].body == srv.requests[1].body


@pytest.mark.parametrize("fault", CUTS.values(), ids=CUTS.keys())
async def test_cut_on_an_unsafe_patch_is_connection_error_without_retry(
    fault: Behaviour, jupyter_core: CoreFactory
) -> None:
    async with FaultServer(default=OK).then(fault) as srv, jupyter_core(srv.url) as core:
        assert err_of(await patch(core), ConnectionError).attempts == 1
    assert len(srv.requests) == 1


async def test_connection_refused_is_connection_error(jupyter_core: CoreFactory) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with jupyter_core(f"http://127.0.0.1:{port}", retries=0) as core:
        assert err_of(await get(core), ConnectionError).attempts == 1


# --- headers slower than the timeout ----------------------------------------------------------


async def test_headers_slower_than_attempt_timeout_is_attempt_timeout(jupyter_core: CoreFactory) -> None:
    async with (
        FaultServer(default=slow_headers(2.0, OK)) as srv,
        jupyter_core(srv.url, timeout=Timeout(attempt=0.2), retries=0) as core,
    ):
        error = err_of(await get(core), RequestTimeoutError)
    assert error.deadline == "attempt"
    assert error.attempts == 1


async def test_slow_headers_once_is_retried_to_ok(jupyter_core: CoreFactory) -> None:
    async with (
        FaultServer(default=OK).then(slow_headers(2.0, OK)) as srv,
        jupyter_core(srv.url, timeout=Timeout(attempt=0.2)) as core,
    ):
        ok_of(await get(core), attempts=2)


async def test_slow_headers_until_the_total_deadline_is_total_timeout(jupyter_core: CoreFactory) -> None:
    async with (
        FaultServer(default=slow_headers(2.0, OK)) as srv,
        jupyter_core(srv.url, timeout=Timeout(attempt=0.2, total=0.3)) as core,
    ):
        error = err_of(await get(core), RequestTimeoutError)
    assert error.deadline == "total"
    assert error.attempts == 2


# --- 503 bursts and 429 Retry-After -----------------------------------------------------------

UNAVAILABLE = json_body({"message": "try later"}, 503)


async def test_503_burst_shorter_than_retries_is_ok(jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=OK).then(UNAVAILABLE, UNAVAILABLE) as srv, jupyter_core(srv.url) as core:
        ok_of(await get(core), attempts=3)


async def test_503_burst_longer_than_retries_is_internal_server_error(jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=OK).then(*[UNAVAILABLE] * 3) as srv, jupyter_core(srv.url) as core:
        error = err_of(await get(core), InternalServerError)
    assert (error.status, error.attempts, error.server_message) == (503, 3, "try later")
    assert len(srv.requests) == 3


async def test_503_on_an_unsafe_patch_is_not_retried(jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=OK).then(UNAVAILABLE) as srv, jupyter_core(srv.url) as core:
        assert err_of(await patch(core), InternalServerError).attempts == 1


WALL = 1_700_000_000  # the FakeClock's wall time, so an HTTP date means an exact wait

RETRY_AFTER = {
    "seconds": (("Retry-After", "1"), 1.0),
    "http-date": (("Retry-After", email.utils.formatdate(WALL + 2, usegmt=True)), 2.0),
    "retry-after-ms": (("retry-after-ms", "300"), 0.3),
}


@pytest.mark.parametrize("form", RETRY_AFTER.values(), ids=RETRY_AFTER.keys())
async def test_429_retry_after_is_honoured_then_ok(form: Any, jupyter_core: CoreFactory) -> None:
    header, wait = form
    limited = json_body({"message": "slow down"}, 429, headers=[header])
    clock = FakeClock(wall_start=WALL)
    async with FaultServer(default=OK).then(limited) as srv, jupyter_core(srv.url, clock=clock) as core:
        ok_of(await get(core), attempts=2)
    assert clock.sleeps == [pytest.approx(wait)], "the server's wait, not FAST_RETRY's 1 ms backoff"


@pytest.mark.parametrize("form", RETRY_AFTER.values(), ids=RETRY_AFTER.keys())
async def test_429_without_retries_reports_the_wait(form: Any, jupyter_core: CoreFactory) -> None:
    header, wait = form
    limited = json_body({"message": "slow down"}, 429, headers=[header])
    clock = FakeClock(wall_start=WALL)
    async with FaultServer(default=limited) as srv, jupyter_core(srv.url, retries=0, clock=clock) as core:
        error = err_of(await get(core), RateLimitError)
    assert error.status == 429
    assert error.retry_after == pytest.approx(wait)


async def test_429_retry_after_above_the_cap_fails_at_once(jupyter_core: CoreFactory) -> None:
    limited = json_body({}, 429, headers=[("Retry-After", "120")])
    clock = FakeClock()
    async with FaultServer(default=limited) as srv, jupyter_core(srv.url, clock=clock) as core:
        error = err_of(await get(core), RateLimitError)
    assert (error.retry_after, error.attempts) == (120.0, 1)
    assert clock.sleeps == []


# --- bodies that do not decode ----------------------------------------------------------------


async def test_malformed_json_is_response_validation_error_not_retried(jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=respond(200, b'{"id": "s-1",')) as srv, jupyter_core(srv.url) as core:
        error = err_of(await get(core), ResponseValidationError)
    assert (error.field_path, error.raw_text, error.attempts) == ("$", '{"id": "s-1",', 1)
    assert len(srv.requests) == 1


async def test_wrong_content_type_with_valid_json_is_ok(jupyter_core: CoreFactory) -> None:
    """The content type is not trusted either way: the body decides."""
    wrong = respond(200, json.dumps(SESSION_JSON).encode(), content_type="text/plain")
    async with FaultServer(default=wrong) as srv, jupyter_core(srv.url) as core:
        assert ok_of(await get(core), attempts=1).id == "s-1"


async def test_wrong_content_type_with_text_is_response_validation_error(jupyter_core: CoreFactory) -> None:
    async with (
        FaultServer(default=respond(200, b"all good", content_type="text/plain")) as srv,
        jupyter_core(srv.url) as core,
    ):
        assert err_of(await get(core), ResponseValidationError).raw_text == "all good"


async def test_valid_json_of_the_wrong_shape_is_response_validation_error(jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=json_body({"id": 7})) as srv, jupyter_core(srv.url) as core:
        error = err_of(await get(core), ResponseValidationError)
    assert error.field_path == "$.id"


HTML = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>oops</h1></body></html>"


async def test_html_error_page_is_a_typed_api_error_without_html_in_the_message(jupyter_core: CoreFactory) -> None:
    page = respond(500, HTML, content_type="text/html")
    async with FaultServer(default=page) as srv, jupyter_core(srv.url) as core:
        error = err_of(await get(core), InternalServerError)
    assert (error.status, error.body, error.attempts) == (500, None, 3)
    assert error.raw_text == HTML.decode()
    assert "<" not in str(error)


async def test_html_404_page_is_not_found_error(jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=respond(404, HTML, content_type="text/html")) as srv, jupyter_core(srv.url) as core:
        error = err_of(await get(core), NotFoundError)
    assert (error.status, error.attempts) == (404, 1)


async def test_html_page_on_200_is_response_validation_error(jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=respond(200, HTML, content_type="text/html")) as srv, jupyter_core(srv.url) as core:
        assert err_of(await get(core), ResponseValidationError).field_path == "$"


async def test_deeply_nested_error_body_is_still_a_typed_error(jupyter_core: CoreFactory) -> None:
    """A hostile error body must not crash the JSON parser out of the pipeline."""
    async with (
        FaultServer(default=respond(400, b"[" * 200_000)) as srv,
        jupyter_core(srv.url) as core,
    ):
        error = err_of(await get(core), SessionkitError)
    assert error.status == 400
    assert error.body is None


async def test_deeply_nested_success_body_is_response_validation_error(jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=respond(200, b"[" * 200_000)) as srv, jupyter_core(srv.url) as core:
        err_of(await get(core), ResponseValidationError)


# --- a large body -----------------------------------------------------------------------------

TEN_MB = json.dumps({**SESSION_JSON, "name": "n" * (10 * 1024 * 1024)}).encode()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_10mb_json_body_is_ok_under_the_default_limit(chunked: bool, jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=respond(200, TEN_MB, chunked=chunked)) as srv, jupyter_core(srv.url) as core:
        session = ok_of(await get(core), attempts=1)
    assert len(session.name) == 10 * 1024 * 1024


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_10mb_json_body_over_max_response_bytes_is_response_validation_error(
    chunked: bool, jupyter_core: CoreFactory
) -> None:
    async with (
        FaultServer(default=respond(200, TEN_MB, chunked=chunked)) as srv,
        jupyter_core(srv.url, max_response_bytes=1024 * 1024) as core,
    ):
        error = err_of(await get(core), ResponseValidationError)
        assert "max_response_bytes" in error.message
        # The pool is still usable afterwards.
        srv.default = OK
        ok_of(await get(core), attempts=1)


# --- keep-alive connections closed by the server ----------------------------------------------


async def test_keep_alive_closed_right_after_a_response_reconnects(jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=close_after(OK)) as srv, jupyter_core(srv.url) as core:
        for _ in range(3):
            result = await get(core)
            # The client may reuse the connection before it sees the FIN: then the retry reconnects.
            assert isinstance(result, Ok), result
            assert result.meta is not None
            assert result.meta.attempts in (1, 2)
    assert srv.total_connections == len(srv.requests) >= 3


async def test_keep_alive_closed_when_the_next_get_arrives_is_ok(jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=OK).then(OK, close_silently) as srv, jupyter_core(srv.url) as core:
        ok_of(await get(core), attempts=1)
        second = await get(core)
    assert isinstance(second, Ok), second
    # The dropped request went out on the pooled connection; the answer came on a new one.
    assert srv.requests[1].connection == srv.requests[0].connection
    assert srv.requests[-1].connection != srv.requests[0].connection


async def test_keep_alive_closed_when_the_next_patch_arrives_is_connection_error(
    jupyter_core: CoreFactory,
) -> None:
    async with FaultServer(default=OK).then(OK, close_silently) as srv, jupyter_core(srv.url) as core:
        ok_of(await get(core), attempts=1)
        error = err_of(await patch(core), ConnectionError)
    assert error.attempts == 1
    assert [r.method for r in srv.requests] == ["GET", "PATCH"]


async def test_a_patch_with_an_idempotency_key_is_retried_after_a_cut(jupyter_core: CoreFactory) -> None:
    async with FaultServer(default=OK).then(reset_before_headers) as srv, jupyter_core(srv.url) as core:
        result = await sessions_update(
            core, {"session": "s-1", "model": {"name": "b"}}, options=RequestOptions(idempotency_key="k-1")
        )
    ok_of(result, attempts=2)
    assert [r.header("Idempotency-Key") for r in srv.requests] == ["k-1", "k-1"]


async def test_retry_config_without_connection_retries_returns_the_first_cut(jupyter_core: CoreFactory) -> None:
    no_conn = RetryConfig(max_retries=2, initial_wait=0.001, retry_connection_errors=False)
    async with (
        FaultServer(default=OK).then(reset_before_headers) as srv,
        jupyter_core(srv.url, retries=no_conn) as core,
    ):
        assert err_of(await get(core), ConnectionError).attempts == 1
