"""Issue 17's attacks on the services' own rules: waits against a stalled server, a 429 answered to a
create, a core without its credential, and organisation ids that cannot be sent.

Retry waits run on a `FakeClock`; the waits of item 14 use the real clock with a one-second deadline
and are told apart by error type, never by how long they took.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from sessionkit import Err, InvalidRequestError, Ok, RequestTimeoutError, RetryConfig, Timeout
from sessionkit.devin import DevinCore
from sessionkit.devin import sessions_wait as v1_wait
from sessionkit.devin.v3 import DevinCore as DevinV3Core
from sessionkit.devin.v3 import sessions_wait as v3_wait
from sessionkit.log10 import Log10Core
from sessionkit.log10 import sessions_create as log10_create
from sessionkit.mix import MixCore
from sessionkit.mix import sessions_create as mix_create
from sessionkit.orq import OrqCore
from sessionkit.orq import sessions_create as orq_create
from sessionkit.orq import sessions_get as orq_get
from sessionkit.testing import FakeClock, FakeDevin, FakeDevinV3, FakeLog10, FakeMix, FakeOrq, FakeServer, Fault
from sessionkit.wait import WaitTimeoutError

from .fault_server import Conn, FaultServer, Recorded

GUARD = 60.0  # seconds: only so that a regression fails instead of stalling the suite

# --- item 14 -----------------------------------------------------------------------------------------


async def never_answer(req: Recorded, conn: Conn) -> None:
    await asyncio.Event().wait()  # read the request, then silence until the test ends


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_a_wait_against_a_server_that_never_answers_ends_at_its_own_deadline(version: str) -> None:
    """issue 17, item 14: `sessions_wait(timeout=1)` while the poll in flight hangs (each attempt may
    take 3 s): `Err(WaitTimeoutError)`, not the poll's own `RequestTimeoutError`."""
    async with FaultServer(default=never_answer) as srv:
        options: dict[str, Any] = {"server_url": srv.url, "timeout": Timeout(attempt=3), "retries": 0}
        if version == "v1":
            async with DevinCore("k-123456", **options) as core:
                result = await asyncio.wait_for(v1_wait(core, {"session_id": "devin-1"}, timeout=1), GUARD)
        else:
            async with DevinV3Core("cog_k-123456", "org-1", **options) as v3core:
                result = await asyncio.wait_for(v3_wait(v3core, {"devin_id": "devin-1"}, timeout=1), GUARD)
    assert len(srv.requests) == 1  # the poll was sent, and hung
    assert isinstance(result, Err), result
    assert isinstance(result.error, WaitTimeoutError), result.error
    assert isinstance(result.error, RequestTimeoutError)
    assert result.error.deadline == "total"
    assert result.error.polls == 1


# --- item 17 -----------------------------------------------------------------------------------------

Create = Callable[[Any], Awaitable[Any]]


ORQ_THREAD: dict[str, Any] = {
    "external_id": "x",
    "duration": 1.0,
    "contact_ids": [],
    "billing": {"input_cost": 0.0, "output_cost": 0.0, "total_cost": 0.0},
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    "traces_count": 1,
    "tags": [],
}


def _orq(fake: FakeServer, clock: FakeClock) -> tuple[Any, Create]:
    core = OrqCore("fake-orq-key", server_url=fake.url, clock=clock)
    return core, lambda c: orq_create(c, ORQ_THREAD)


def _mix(fake: FakeServer, clock: FakeClock) -> tuple[Any, Create]:
    core = MixCore(fake.url, clock=clock)
    return core, lambda c: mix_create(c, {"title": "t"})


def _log10(fake: FakeServer, clock: FakeClock) -> tuple[Any, Create]:
    core = Log10Core("fake-log10-token", server_url=fake.url, clock=clock)
    return core, lambda c: log10_create(c)


SERVICES: dict[str, tuple[Callable[[], FakeServer], Callable[[FakeServer, FakeClock], tuple[Any, Create]]]] = {
    "orq": (lambda: FakeOrq(api_key="fake-orq-key"), _orq),
    "mix": (lambda: FakeMix(), _mix),
    "log10": (lambda: FakeLog10(token="fake-log10-token"), _log10),
}


@pytest.mark.parametrize("service", list(SERVICES))
async def test_a_create_refused_with_429_is_retried(service: str) -> None:
    """issue 17, item 17: the server refused the POST before acting on it: one retry, `Ok`, two attempts."""
    make_fake, make_core = SERVICES[service]
    clock = FakeClock()
    async with make_fake() as fake:
        fake.faults.push(Fault.rate_limited(retry_after=1), method="POST")
        core, create = make_core(fake, clock)
        async with core:
            result = await asyncio.wait_for(create(core), GUARD)
    assert isinstance(result, Ok), result
    assert result.meta.attempts == 2
    assert [r.method for r in fake.requests] == ["POST", "POST"]
    [slept] = clock.sleeps
    assert 1.0 <= slept <= 1.2


@pytest.mark.parametrize("service", list(SERVICES))
async def test_calls_that_saw_the_same_retry_after_do_not_wake_together(service: str) -> None:
    """issue 17, item 17: eight creates each answered `429, Retry-After: 1` wait a jittered second each."""
    make_fake, make_core = SERVICES[service]
    clock = FakeClock()
    async with make_fake() as fake:
        fake.faults.push(Fault.rate_limited(retry_after=1), times=8, method="POST")
        core, create = make_core(fake, clock)
        async with core:
            results = await asyncio.wait_for(asyncio.gather(*(create(core) for _ in range(8))), GUARD)
    assert all(isinstance(r, Ok) and r.meta.attempts == 2 for r in results), results
    assert len(clock.sleeps) == 8
    assert all(1.0 <= s <= 1.2 for s in clock.sleeps), clock.sleeps
    assert len(set(clock.sleeps)) > 1, clock.sleeps  # not all at the same instant


# --- item 18 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["orq", "devin", "devin_v3", "log10"])
async def test_a_core_without_its_credential_sends_nothing_and_names_the_variable(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """issue 17, item 18: no key given and none in the environment: `Err(InvalidRequestError)` naming
    the environment variable, and the fake received nothing."""
    for name in ("ORQ_API_KEY", "DEVIN_API_KEY", "DEVIN_ORG_ID", "LOG10_TOKEN", "LOG10_ORG_ID"):
        monkeypatch.delenv(name, raising=False)
    retries = RetryConfig(max_retries=0)
    if service == "orq":
        async with FakeOrq() as fake, OrqCore(server_url=fake.url, retries=retries) as orq:
            result, variable = await orq_get(orq, {"session_id": "s-1"}), "ORQ_API_KEY"
    elif service == "devin":
        from sessionkit.devin import sessions_get

        async with FakeDevin() as fake, DevinCore(server_url=fake.url, retries=retries) as devin:
            result, variable = await sessions_get(devin, {"session_id": "devin-1"}), "DEVIN_API_KEY"
    elif service == "devin_v3":
        from sessionkit.devin.v3 import sessions_get as v3_get

        async with FakeDevinV3() as fake, DevinV3Core(org_id="org-fake", server_url=fake.url, retries=retries) as v3:
            result, variable = await v3_get(v3, {"devin_id": "devin-1"}), "DEVIN_API_KEY"
    else:
        async with FakeLog10() as fake, Log10Core(server_url=fake.url, retries=retries) as log10:
            result, variable = await log10_create(log10), "LOG10_TOKEN"
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError), result.error
    assert variable in result.error.message
    assert fake.requests == []


async def test_the_devin_v3_fake_says_the_key_is_missing_when_none_was_sent() -> None:
    """issue 17, item 18: a request with no Authorization at all gets "Missing API key", not the
    advice for a v1 `apk_` key."""
    async with FakeDevinV3() as fake, aiohttp.ClientSession() as http:
        resp = await http.get(f"{fake.url}/v3/organizations/org-fake/sessions")  # no Authorization
        async with resp:
            status, text = resp.status, await resp.text()
    assert status == 401
    assert "Missing API key" in text
    assert "apk_" not in text


# --- minor: organisation ids that cannot be sent -----------------------------------------------------


def test_an_org_id_with_a_lone_surrogate_is_a_value_error_naming_it() -> None:
    """issue 17, minor: `DevinCore(org_id="\\ud800")` (v3) is a plain `ValueError` naming `org_id`
    (the old constructor raised `UnicodeEncodeError` from deep inside)."""
    with pytest.raises(ValueError) as refused:
        DevinV3Core("cog_k-123456", org_id="\ud800")
    assert not isinstance(refused.value, UnicodeError)
    assert "org_id" in str(refused.value)


def test_an_undecodable_org_id_in_the_environment_is_a_value_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """issue 17, minor: `DEVIN_ORG_ID` set to a byte that is not UTF-8 (Python reads it as U+DCFF)."""
    monkeypatch.setitem(os.environb, b"DEVIN_ORG_ID", b"org-\xff")
    assert os.environ["DEVIN_ORG_ID"] == "org-\udcff"
    with pytest.raises(ValueError) as refused:
        DevinV3Core("cog_k-123456")
    assert not isinstance(refused.value, UnicodeError)
    assert "DEVIN_ORG_ID" in str(refused.value)
