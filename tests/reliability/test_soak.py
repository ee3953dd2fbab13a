"""Soak: many calls through `sessionkit.batch.batch` against a server where ~20 % of requests fail.

Runs `SOAK_CALLS` calls (2,000 by default; `SESSIONKIT_SOAK=full` for 20,000). Checks: one result
per input in input order, no exception escapes (an `Err` always holds a `SessionkitError`, never an
exception `batch` caught), no ResourceWarning, never more connections than the pool limit, and
cancelling mid-soak leaves no pending task and a usable pool.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import random
import warnings
from collections import Counter
from typing import Any

import pytest

from sessionkit import (
    ConnectionError,
    Err,
    Hooks,
    InternalServerError,
    NotFoundError,
    Ok,
    RateLimitError,
    ResponseValidationError,
    SessionkitError,
)
from sessionkit.batch import batch
from sessionkit.jupyter import JupyterCore, sessions_get

from .conftest import FAST_RETRY, SESSION_JSON, SOAK_CALLS
from .fault_server import (
    Behaviour,
    Conn,
    FaultServer,
    Recorded,
    close_after,
    json_body,
    reset_before_headers,
    reset_mid_body,
    respond,
    slow_headers,
    truncated_body,
)

pytestmark = pytest.mark.soak

POOL_LIMIT = 8
CLOSING_SLACK = 2  # sockets of failed connections still closing when the next connects (see below)
CONCURRENCY = 16
FAULT_RATE = 0.2
EXPECTED_ERRORS = (ConnectionError, InternalServerError, RateLimitError, ResponseValidationError, NotFoundError)


async def echo_session(req: Recorded, conn: Conn) -> None:
    """A session whose id is the one asked for, so results can be matched to inputs."""
    sid = req.path.rsplit("/", 1)[-1]
    await json_body({**SESSION_JSON, "id": sid})(req, conn)


FAULTS: list[Behaviour] = [
    json_body({"message": "busy"}, 503),
    json_body({"message": "slow down"}, 429, headers=[("retry-after-ms", "1")]),
    reset_before_headers,
    reset_mid_body(),
    truncated_body(),
    respond(200, b'{"id": "s-', content_type="application/json"),  # malformed: not retried
    respond(500, b"<html>oops</html>", content_type="text/html"),
    json_body({"message": "gone"}, 404),  # not retried
    close_after(echo_session),  # keep-alive closed by the server
]


def faulty_route(seed: int) -> Any:
    rng = random.Random(seed)

    def route(req: Recorded) -> Behaviour:
        return rng.choice(FAULTS) if rng.random() < FAULT_RATE else echo_session

    return route


def inputs(n: int) -> list[dict[str, str]]:
    return [{"session": f"s-{i}"} for i in range(n)]


def is_server_task(task: asyncio.Task[Any]) -> bool:
    """The fault server's own connection handlers (one may start just after the snapshot)."""
    return getattr(task.get_coro(), "__qualname__", "") == FaultServer._serve.__qualname__


async def test_soak_with_injected_faults() -> None:
    n = SOAK_CALLS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with FaultServer(route=faulty_route(seed=20240101)) as srv:
            in_use_seen: list[int] = [0]
            cores: list[JupyterCore] = []

            def sample(ctx: Any, request: Any) -> None:
                connector = cores[0].client_session().connector
                in_use_seen.append(len(connector._acquired) if connector is not None else 0)  # type: ignore[attr-defined]

            core = JupyterCore(
                server_url=srv.url,
                token="t",
                retries=FAST_RETRY,
                max_connections=POOL_LIMIT,
                hooks=Hooks(before_request=[sample]),
            )
            cores.append(core)
            async with core:
                fn = functools.partial(sessions_get, core)
                results = await batch(fn, inputs(n), concurrency=CONCURRENCY)
                open_after = srv.open_connections
                connector = core.client_session().connector
                assert connector is not None
                in_use = len(connector._acquired)  # type: ignore[attr-defined]
            await srv.wait_until(lambda s: s.open_connections == 0)
        cores.clear()
        del core, connector, fn
        gc.collect()

    assert len(results) == n
    kinds: Counter[str] = Counter()
    for i, result in enumerate(results):
        if isinstance(result, Ok):
            assert result.value.id == f"s-{i}", "results out of input order"
            kinds["ok"] += 1
        else:
            assert isinstance(result, Err), result
            assert isinstance(result.error, SessionkitError), f"an exception escaped: {result.error!r}"
            assert isinstance(result.error, EXPECTED_ERRORS), repr(result.error)
            kinds[type(result.error).__name__] += 1
    # Retries turn most of the ~20 % faults into Ok; the rest are the non-retried kinds.
    assert kinds["ok"] >= 0.9 * n, kinds
    assert kinds["ok"] < n, "no fault survived: the injection did not happen"
    assert len(srv.requests) >= n + 0.1 * n, "fewer faults were injected than planned"
    # In use, the pool never holds more than its limit (sampled as each attempt goes out). Sockets
    # as the server sees them may exceed it for an instant: a connection that failed is released at
    # once and its socket closes on the next turn of the loop, while the next one may already be
    # connecting. That window is aiohttp's, bounded, and no connection in it is ever used again.
    assert max(in_use_seen) <= POOL_LIMIT
    assert srv.peak_client_sockets <= POOL_LIMIT + CLOSING_SLACK
    assert open_after <= POOL_LIMIT
    assert in_use == 0
    assert srv.open_connections == 0
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == [], [str(w.message) for w in leaks]


async def test_cancelling_mid_soak_leaves_no_pending_task_and_a_usable_pool() -> None:
    before = asyncio.all_tasks()
    slow_ok = slow_headers(0.005, echo_session)
    async with FaultServer(route=lambda req: slow_ok) as srv:
        async with JupyterCore(server_url=srv.url, retries=FAST_RETRY, max_connections=POOL_LIMIT) as core:
            fn = functools.partial(sessions_get, core)
            task = asyncio.create_task(batch(fn, inputs(SOAK_CALLS), concurrency=CONCURRENCY))
            await srv.wait_until(lambda s: len(s.requests) >= 100, timeout=30)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert len(srv.requests) < SOAK_CALLS, "the batch finished before it was cancelled"
            pending = {t for t in asyncio.all_tasks() - before if not is_server_task(t)} - {asyncio.current_task()}
            assert pending == set(), pending
            connector = core.client_session().connector
            assert connector is not None
            assert len(connector._acquired) == 0  # type: ignore[attr-defined]
            # The client closed its cancelled connections at once (the pool is empty above); the server
            # notices each close a little later. Without this wait the server's count of phase one
            # overlaps phase two and the peak is up to twice the pool, which aiohttp 3.14.5's faster
            # reconnects expose: a race in the measurement, not a pool that exceeds its limit.
            await srv.wait_until(lambda s: s.open_connections == 0)
            assert srv.peak_client_sockets <= POOL_LIMIT + CLOSING_SLACK
            srv.peak_client_sockets = 0
            # Every pool slot came back: a full batch afterwards does not wait on a leaked one.
            srv.route = lambda req: echo_session
            again = await asyncio.wait_for(batch(fn, inputs(50), concurrency=CONCURRENCY), 30)
            assert all(isinstance(r, Ok) for r in again), [r for r in again if not isinstance(r, Ok)][:3]
        await srv.wait_until(lambda s: s.open_connections == 0)
    assert srv.peak_client_sockets <= POOL_LIMIT + CLOSING_SLACK
