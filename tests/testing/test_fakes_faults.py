"""The shared machinery of every fake: lifecycle, request log, fault injection and the session store."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest

from sessionkit._retry import parse_retry_after
from sessionkit.testing import FakeDevin, FakeJupyter, FakeLog10, FakeMix, FakeOrq, FakeServer, Fault, SessionStore
from tests._support.fake_fixtures import DEVIN_API_KEY, JUPYTER_TOKEN, LOG10_TOKEN, ORQ_API_KEY, fetch

# One cheap, successful request per fake, and the error body each fake uses for an injected 503.
CASES: dict[str, tuple[Callable[[], FakeServer], str, str, dict[str, str], Any]] = {
    "jupyter": (lambda: FakeJupyter(token=JUPYTER_TOKEN), "GET", "/api/sessions", {"Authorization": f"token {JUPYTER_TOKEN}"},
                {"message": "Service Unavailable", "reason": None}),
    "orq": (lambda: FakeOrq(api_key=ORQ_API_KEY), "GET", "/v2/sessions/tags", {"Authorization": f"Bearer {ORQ_API_KEY}"},
            {"message": "Service Unavailable", "code": 2}),
    "mix": (FakeMix, "GET", "/api/sessions", {},
            {"error": {"code": 503, "message": "Service Unavailable", "type": "internal_error"}}),
    "devin": (lambda: FakeDevin(api_key=DEVIN_API_KEY), "GET", "/v1/sessions/devin-x", {"Authorization": f"Bearer {DEVIN_API_KEY}"},
              {"detail": "Service Unavailable"}),
    "log10": (lambda: FakeLog10(token=LOG10_TOKEN), "POST", "/api/v1/sessions", {"X-Log10-Token": LOG10_TOKEN},
              {"message": "Service Unavailable"}),
}  # fmt: skip


@pytest.mark.parametrize("service", list(CASES))
async def test_status_fault_uses_each_service_error_shape_then_recovers(
    service: str, raw_http: aiohttp.ClientSession
) -> None:
    make, method, path, headers, error_body = CASES[service]
    async with make() as fake:
        normal = (await fetch(raw_http, method, fake.url + path, headers=headers)).status
        fake.faults.push(Fault.status(503), times=2)
        replies = [await fetch(raw_http, method, fake.url + path, headers=headers) for _ in range(3)]
        assert [r.status for r in replies] == [503, 503, normal]
        assert replies[0].json() == error_body
        assert replies[0].headers["Content-Type"] == "application/json"
        assert [r.fault for r in fake.requests] == [None, Fault.status(503), Fault.status(503), None]
        assert len(fake.faults) == 0


async def test_status_fault_runs_before_auth_and_leaves_state_alone(
    fake_orq: FakeOrq, raw_http: aiohttp.ClientSession
) -> None:
    fake_orq.faults.push(Fault.status(500, {"oops": True}, {"X-Request-Id": "r1"}))
    reply = await fetch(raw_http, "POST", f"{fake_orq.url}/v2/sessions", json={})  # no auth header at all
    assert (reply.status, reply.json(), reply.headers["X-Request-Id"]) == (500, {"oops": True}, "r1")
    assert len(fake_orq.sessions) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "raw"),
    [
        (b"<h1>bad gateway</h1>", "text/html", b"<h1>bad gateway</h1>"),
        ("plain", None, b"plain"),
        ([1, 2], None, b"[1, 2]"),
    ],
)
async def test_status_fault_custom_bodies(
    fake_mix: FakeMix, raw_http: aiohttp.ClientSession, body: Any, content_type: str | None, raw: bytes
) -> None:
    headers = {"Content-Type": content_type} if content_type else None
    fake_mix.faults.push(Fault.status(502, body, headers))
    reply = await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions")
    assert (reply.status, reply.body) == (502, raw)
    assert reply.headers["Content-Type"] == (content_type or "application/json")
    assert reply.headers["Access-Control-Allow-Origin"] == "*"  # the service's own headers still apply


async def test_rate_limited_retry_after_forms(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    fake_mix.faults.push(Fault.rate_limited(2))
    fake_mix.faults.push(Fault.rate_limited(0.5))
    fake_mix.faults.push(Fault.rate_limited(when))
    fake_mix.faults.push(Fault.rate_limited(retry_after_ms=250))
    replies = [await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions") for _ in range(4)]
    assert {r.status for r in replies} == {429}
    assert replies[0].json()["error"] == {"code": 429, "message": "Too Many Requests", "type": "internal_error"}
    assert [r.headers.get("Retry-After") for r in replies[:2]] == ["2", "1"]  # whole seconds, as RFC 9110 says
    assert replies[1].headers["retry-after-ms"] == "500"
    assert replies[2].headers["Retry-After"].endswith(" GMT")
    assert replies[3].headers["retry-after-ms"] == "250"
    assert "Retry-After" not in replies[3].headers
    waits = [parse_retry_after(r.headers) for r in replies]  # what sessionkit's retry loop will read
    assert waits[0] == 2
    assert waits[1] == 0.5
    assert waits[3] == 0.25
    assert waits[2] is not None
    assert 25 < waits[2] <= 30


async def test_delay_then_normal_answer_and_latency_on_a_status(
    fake_mix: FakeMix, raw_http: aiohttp.ClientSession
) -> None:
    fake_mix.faults.push(Fault.delay(0.3))
    fake_mix.faults.push(Fault.status(503, latency=0.3))
    started = time.monotonic()
    first = await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions")
    middle = time.monotonic()
    second = await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions")
    ended = time.monotonic()
    assert (first.status, second.status) == (200, 503)
    assert middle - started >= 0.3
    assert ended - middle >= 0.3


async def test_delay_beyond_a_client_timeout(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    fake_mix.faults.push(Fault.delay(3600))
    with pytest.raises(asyncio.TimeoutError):
        await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions", timeout=aiohttp.ClientTimeout(total=0.2))
    # The abandoned handler must not hold the shutdown: an hour's delay would trip the guard.
    await asyncio.wait_for(fake_mix.stop(), 60)


async def test_reset_closes_the_connection_without_an_answer(
    fake_mix: FakeMix, raw_http: aiohttp.ClientSession
) -> None:
    fake_mix.faults.push(Fault.reset())
    with pytest.raises(aiohttp.ClientConnectionError):
        await fetch(raw_http, "POST", f"{fake_mix.url}/api/sessions", json={"title": "t"})
    assert len(fake_mix.sessions) == 0  # the handler never ran
    assert (await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions")).status == 200


async def test_malformed_json(fake_orq: FakeOrq, raw_http: aiohttp.ClientSession) -> None:
    fake_orq.faults.push(Fault.malformed_json())
    fake_orq.faults.push(Fault.malformed_json(503, b"{"))
    first = await fetch(raw_http, "GET", f"{fake_orq.url}/v2/sessions/tags")
    second = await fetch(raw_http, "GET", f"{fake_orq.url}/v2/sessions/tags")
    assert (first.status, first.headers["Content-Type"], second.status, second.body) == (
        200,
        "application/json",
        503,
        b"{",
    )
    with pytest.raises(json.JSONDecodeError):
        first.json()


async def test_truncated_body_after_the_handler_ran(fake_mix: FakeMix, raw_http: aiohttp.ClientSession) -> None:
    fake_mix.faults.push(Fault.truncated(), method="POST")
    with pytest.raises(aiohttp.ClientPayloadError):
        await fetch(raw_http, "POST", f"{fake_mix.url}/api/sessions", json={"title": "t"})
    assert len(fake_mix.sessions) == 1  # the create happened; only its answer was cut
    assert (await fetch(raw_http, "GET", f"{fake_mix.url}/api/sessions")).status == 200


async def test_filters_by_method_and_path_glob_in_push_order(
    fake_jupyter: FakeJupyter, raw_http: aiohttp.ClientSession
) -> None:
    auth = {"Authorization": f"token {JUPYTER_TOKEN}"}
    fake_jupyter.faults.push(Fault.status(502), method="DELETE")
    fake_jupyter.faults.push(Fault.status(504), path="/api/sessions/*")
    fake_jupyter.faults.push(Fault.status(503))
    assert (await fetch(raw_http, "GET", f"{fake_jupyter.url}/api", headers=auth)).status == 503  # only the catch-all
    assert (await fetch(raw_http, "GET", f"{fake_jupyter.url}/api/sessions", headers=auth)).status == 200
    url = f"{fake_jupyter.url}/api/sessions/00000000-0000-0000-0000-000000000000"
    assert (await fetch(raw_http, "GET", url, headers=auth)).status == 504
    assert (await fetch(raw_http, "DELETE", url, headers=auth)).status == 502
    assert len(fake_jupyter.faults) == 0


async def test_times_none_until_clear(fake_log10: FakeLog10, raw_http: aiohttp.ClientSession) -> None:
    fake_log10.faults.push(Fault.status(503), times=None)
    headers = {"X-Log10-Token": LOG10_TOKEN}
    for _ in range(4):
        assert (await fetch(raw_http, "POST", f"{fake_log10.url}/api/v1/sessions", headers=headers)).status == 503
    fake_log10.faults.clear()
    assert (await fetch(raw_http, "POST", f"{fake_log10.url}/api/v1/sessions", headers=headers)).status == 201
    with pytest.raises(ValueError):
        fake_log10.faults.push(Fault.reset(), times=0)


async def test_request_log(fake_devin: FakeDevin, raw_http: aiohttp.ClientSession) -> None:
    headers = {"Authorization": f"Bearer {DEVIN_API_KEY}", "X-Trace": "t1"}
    await fetch(raw_http, "POST", f"{fake_devin.url}/v1/sessions?x=1", json={"prompt": "p"}, headers=headers)
    await fetch(raw_http, "GET", f"{fake_devin.url}/v1/sessions/devin-x")
    first, second = fake_devin.requests
    assert (first.method, first.path, dict(first.query), first.json()) == (
        "POST",
        "/v1/sessions",
        {"x": "1"},
        {"prompt": "p"},
    )
    assert first.headers["x-trace"] == "t1"
    assert first.headers["Content-Type"] == "application/json"
    assert (second.method, second.body, second.json(), second.fault) == ("GET", b"", None, None)


async def test_lifecycle_ports_restart_and_reset(raw_http: aiohttp.ClientSession) -> None:
    fake = FakeMix()
    with pytest.raises(RuntimeError):
        _ = fake.url
    async with fake, FakeMix() as other:
        assert fake.url.startswith("http://127.0.0.1:")
        assert fake.url != other.url
        assert fake.port != 0
        await fetch(raw_http, "POST", f"{fake.url}/api/sessions", json={"title": "t"})
    with pytest.raises(RuntimeError):
        _ = fake.url
    await fake.start()
    try:
        assert len((await fetch(raw_http, "GET", f"{fake.url}/api/sessions")).json()) == 1  # state survives a restart
        fake.faults.push(Fault.reset())
        fake.reset()
        assert (len(fake.sessions), len(fake.requests), len(fake.faults)) == (0, 0, 0)
        assert (await fetch(raw_http, "GET", f"{fake.url}/api/sessions")).body == b"null\n"
    finally:
        await fake.stop()
    await fake.stop()  # idempotent


# -- SessionStore -------------------------------------------------------------------------------------


def build(index: int, sid: str) -> dict[str, Any]:
    return {"id": sid, "n": index}


def test_store_keeps_insertion_order_and_replaces_in_place() -> None:
    store = SessionStore()
    for i in range(3):
        store.put({"id": f"s{i}", "n": i})
    store.put({"id": "s0", "n": 99})
    assert [d["n"] for d in store] == [99, 1, 2]
    assert "s1" in store
    assert "s9" not in store
    assert 5 not in store
    assert store.find(lambda d: d["n"] == 2) == {"id": "s2", "n": 2}
    assert store.delete("s1")
    assert not store.delete("s1")
    assert list(store.ids()) == ["s0", "s2"]
    assert len(store) == 2


def test_store_population_is_lazy_and_editable() -> None:
    store = SessionStore()
    calls: list[int] = []

    def counting(index: int, sid: str) -> dict[str, Any]:
        calls.append(index)
        return build(index, sid)

    store.populate(10**9, counting, prefix="p-", width=10)
    store.put({"id": "real", "n": -1})
    assert len(store) == 10**9 + 1
    assert calls == []
    assert store.get("p-0000000042") == {"id": "p-0000000042", "n": 42}
    assert store.get("p-42") is None
    assert store.get(f"p-{10**9:010d}") is None
    assert [d["n"] for d in store.page(10**9 - 1, 5)] == [10**9 - 1, -1]
    assert [d["n"] for d in store.page(10**9, 5)] == [-1]
    assert store.page(10**9 + 1, 5) == []
    assert len(calls) == 2
    store.put({"id": "p-0000000001", "n": "changed"})
    assert store.delete("p-0000000000")
    assert not store.delete("p-0000000000")
    assert [d["n"] for d in store.page(0, 2)] == ["changed", 2]
    assert len(store) == 10**9


def test_store_clear_drops_the_population() -> None:
    store = SessionStore("_id")
    store.populate(5, lambda i, sid: {"_id": sid}, prefix="x")
    store.put({"_id": "a"})
    store.clear()
    assert len(store) == 0
    assert list(store) == []
    assert store.get("x000000000001") is None
