"""Bounded time and memory whatever the server sends (hardening items 2, 3 and 6).

Time runs on a `FakeClock` where the test is about waits, so nothing here asserts wall time; where
a real deadline must fire, the test only checks which error came back, and `asyncio.wait_for`
turns a hang into a failure instead of a stuck suite.
"""

from __future__ import annotations

import asyncio
import gzip
import math
import tracemalloc
import zlib
from typing import Any

import pytest

from sessionkit import (
    ConnectionError,
    Err,
    InvalidRequestError,
    RateLimitError,
    RequestOptions,
    RequestTimeoutError,
    ResponseValidationError,
    RetryConfig,
    Timeout,
)
from sessionkit._retry import parse_retry_after
from sessionkit.jupyter import JupyterCore, sessions_list
from sessionkit.testing.clock import FakeClock
from tests.reliability.fault_server import FaultServer, Recorded, json_body, respond, slow_headers

GUARD = 30  # seconds before a hang is reported as a failure

# --- item 2: Retry-After is read as RFC 9110 says, and a deadline holds whatever it says ----------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "10"}, 10.0),
        ({"retry-after": " 7 "}, 7.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "NaN"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "-5"}, None),
        ({"retry-after": "1_0"}, None),
        ({"retry-after": "1e3"}, None),
        ({"retry-after": "0x10"}, None),
        ({"retry-after": "1.5"}, None),
        ({"retry-after": "٣"}, None),  # a non-ASCII digit is not DIGIT
        ({"retry-after": ""}, None),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "1.5"}, 0.0015),
        ({"retry-after-ms": "nan", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "inf"}, None),
        ({"retry-after-ms": "-1"}, None),
        ({"retry-after-ms": "1e3"}, None),
        ({"retry-after-ms": "1_000"}, None),
    ],
)
def test_only_rfc_9110_retry_after_values_are_read(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_an_http_date_retry_after_is_read_against_the_given_wall_clock() -> None:
    now = 1_700_000_000.0  # 2023-11-14T22:13:20Z
    assert parse_retry_after({"retry-after": "Tue, 14 Nov 2023 22:13:50 GMT"}, now) == 30.0
    assert parse_retry_after({"retry-after": "Tue, 14 Nov 2023 22:13:50 -0000"}, now) == 30.0
    assert parse_retry_after({"retry-after": "Tue, 14 Nov 2023 22:00:00 GMT"}, now) == 0.0
    assert parse_retry_after({"retry-after": "Tue, 99 Nov 2023 22:13:50 GMT"}, now) is None


HOSTILE_RETRY_AFTER = [
    [("Retry-After", "nan")],
    [("retry-after-ms", "nan")],
    [("Retry-After", "inf")],
    [("retry-after-ms", "-inf")],
    [("Retry-After", "1_0")],
    [("Retry-After", "-1")],
]


@pytest.mark.parametrize("headers", HOSTILE_RETRY_AFTER, ids=lambda h: f"{h[0][0]}={h[0][1]}")
async def test_a_hostile_retry_after_falls_back_to_backoff(headers: list[tuple[str, str]]) -> None:
    clock = FakeClock()
    retry = RetryConfig(max_retries=2, initial_wait=0.5, max_wait=8.0, jitter=False)
    async with (
        FaultServer(default=json_body({"message": "slow down"}, 429, headers=headers)) as srv,
        JupyterCore(server_url=srv.url, token="tok-secret", retries=retry, clock=clock) as core,
    ):
        result = await asyncio.wait_for(sessions_list(core), GUARD)
    assert isinstance(result, Err)
    assert isinstance(result.error, RateLimitError)
    assert result.error.retry_after is None
    assert clock.sleeps == [0.5, 1.0], "the normal backoff, not the header's value"
    assert len(srv.requests) == 3


@pytest.mark.parametrize("headers", HOSTILE_RETRY_AFTER, ids=lambda h: f"{h[0][0]}={h[0][1]}")
async def test_a_total_deadline_holds_whatever_retry_after_says(headers: list[tuple[str, str]]) -> None:
    clock = FakeClock()
    retry = RetryConfig(max_retries=1000, initial_wait=1.0, max_wait=1.0, jitter=False, max_total_wait=1e9)
    async with (
        FaultServer(default=json_body({"message": "slow down"}, 429, headers=headers)) as srv,
        JupyterCore(server_url=srv.url, retries=retry, timeout=Timeout(total=5), clock=clock) as core,
    ):
        result = await asyncio.wait_for(sessions_list(core), GUARD)
    assert isinstance(result, Err)
    assert all(math.isfinite(s) and s >= 0 for s in clock.sleeps), clock.sleeps
    assert sum(clock.sleeps) < 5
    assert len(srv.requests) <= 6


# --- item 3: the size cap holds for the decoded body ---------------------------------------------


def gzip_of_zeros(mib: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    block = b"\0" * (1 << 20)
    return b"".join([packer.compress(block) for _ in range(mib)] + [packer.flush()])


BOMB = gzip_of_zeros(256)  # about 256 KB on the wire, 256 MiB inflated


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("status", [200, 500])
async def test_a_gzip_bomb_is_refused_after_the_cap_without_inflating_it(chunked: bool, status: int) -> None:
    cap = 1 << 20
    assert len(BOMB) < cap, "the compressed body must pass a check of the wire length"
    behaviour = respond(status, BOMB, headers=[("Content-Encoding", "gzip")], chunked=chunked)
    async with (
        FaultServer(default=behaviour) as srv,
        JupyterCore(server_url=srv.url, retries=0, max_response_bytes=cap) as core,
    ):
        tracemalloc.start()
        try:
            result = await asyncio.wait_for(sessions_list(core), GUARD)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert isinstance(result, Err)
    if status == 200:
        assert isinstance(result.error, ResponseValidationError)
        assert "max_response_bytes" in result.error.reason
    assert peak < 32 * cap, f"{peak / 2**20:.0f} MiB held for a body capped at 1 MiB"


@pytest.mark.parametrize("encoding", ["gzip", "deflate-zlib", "deflate-raw"])
async def test_a_compressed_body_under_the_cap_still_decodes(encoding: str) -> None:
    text = b"[]" + b" " * 100_000
    if encoding == "gzip":
        body = gzip.compress(text)
    else:
        packer = zlib.compressobj(wbits=zlib.MAX_WBITS if encoding == "deflate-zlib" else -zlib.MAX_WBITS)
        body = packer.compress(text) + packer.flush()
    header = ("Content-Encoding", encoding.split("-")[0])
    async with (
        FaultServer(default=respond(200, body, headers=[header])) as srv,
        JupyterCore(server_url=srv.url, retries=0, max_response_bytes=len(text)) as core,
    ):
        assert (await sessions_list(core)).unwrap() == []
    assert srv.requests[0].header("Accept-Encoding") == "gzip, deflate", "only what sessionkit can inflate"


async def test_a_body_one_byte_over_the_cap_is_too_large() -> None:
    text = b"[]" + b" " * 1000
    async with (
        FaultServer(default=respond(200, gzip.compress(text), headers=[("Content-Encoding", "gzip")])) as srv,
        JupyterCore(server_url=srv.url, retries=0, max_response_bytes=len(text) - 1) as core,
    ):
        result = await sessions_list(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)


async def test_a_corrupt_gzip_body_is_a_connection_error() -> None:
    async with (
        FaultServer(default=respond(200, b"not gzip at all", headers=[("Content-Encoding", "gzip")])) as srv,
        JupyterCore(server_url=srv.url, retries=0) as core,
    ):
        result = await sessions_list(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionError), repr(result.error)


# --- item 6: no timeout value switches the deadline off ------------------------------------------

BAD_SECONDS: list[Any] = [0, -1, math.nan, math.inf, -math.inf, "abc", True]


@pytest.mark.parametrize("value", BAD_SECONDS, ids=repr)
async def test_a_bad_per_call_timeout_is_an_invalid_request_and_nothing_is_sent(value: Any) -> None:
    async with FaultServer() as srv, JupyterCore(server_url=srv.url) as core:
        result = await sessions_list(core, options=RequestOptions(timeout=value))
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "options.timeout"
    assert srv.requests == []


@pytest.mark.parametrize("value", BAD_SECONDS, ids=repr)
def test_a_bad_timeout_is_refused_by_the_constructors(value: Any) -> None:
    with pytest.raises(ValueError, match="timeout"):
        JupyterCore(timeout=value)
    for field in ("attempt", "total", "connect"):
        with pytest.raises(ValueError, match=f"Timeout.{field}"):
            Timeout(**{field: value})


def test_none_is_the_one_way_to_have_no_deadline() -> None:
    assert Timeout(attempt=None, total=None, connect=None).attempt is None
    assert JupyterCore(timeout=5).timeout == Timeout(attempt=5.0)
    assert JupyterCore().timeout == Timeout()


async def test_a_server_that_never_answers_meets_the_per_attempt_deadline() -> None:
    async with (
        FaultServer(default=slow_headers(3600, json_body([]))) as srv,
        JupyterCore(server_url=srv.url, retries=0, timeout=0.2) as core,
    ):
        result = await asyncio.wait_for(sessions_list(core), GUARD)
    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)
    assert result.error.deadline == "attempt"


def hop(delay: float, hops: int) -> Any:
    """Redirect `hops` times, each after `delay` seconds, then answer `[]`."""

    async def behave(req: Recorded, conn: Any) -> None:
        await asyncio.sleep(delay)
        step = int(req.path.rsplit("/", 1)[-1]) if req.path.rsplit("/", 1)[-1].isdigit() else 0
        if step < hops:
            await respond(307, b"", content_type=None, headers=[("Location", f"/hop/{step + 1}")])(req, conn)
        else:
            await json_body([])(req, conn)

    return behave


async def test_an_attempts_deadline_covers_its_redirects() -> None:
    # Each hop is well inside the per-attempt timeout; all five together are not.
    async with (
        FaultServer(default=hop(0.3, 5)) as srv,
        JupyterCore(server_url=srv.url, retries=0, timeout=Timeout(attempt=1.0)) as core,
    ):
        result = await asyncio.wait_for(sessions_list(core), GUARD)
    assert isinstance(result, Err), result
    assert isinstance(result.error, RequestTimeoutError)
    assert result.error.deadline == "attempt"
    assert len(srv.requests) < 6
