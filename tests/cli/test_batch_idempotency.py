"""Batch creates are idempotent where the service allows it, and only there.

Devin v1 honours `idempotent: true`, so a batch sets it and a retried or resumed line is the same
create. Orq, Mix and Log10 document no idempotency (Mix's API has none): an `Idempotency-Key` they
ignore would only make the client retry a POST the server does not deduplicate, so a batch sends
none and such a create is never retried.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import pytest

from sessionkit import Operation
from sessionkit._registry import Registered
from sessionkit.testing import FakeDevin, FakeJupyter, FakeLog10, FakeMix, FakeOrq, FakeServer, Fault
from tests._support.fake_fixtures import DEVIN_API_KEY, JUPYTER_TOKEN, LOG10_TOKEN, ORQ_API_KEY

from ._run import sessionkit

ORQ_THREAD = {
    "external_id": "k",
    "duration": 1,
    "contact_ids": [],
    "billing": {"input_cost": 0.1, "output_cost": 0.1, "total_cost": 0.2},
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    "traces_count": 0,
    "tags": [],
}


@asynccontextmanager
async def creates_without_idempotency(service: str) -> AsyncIterator[tuple[FakeServer, list[str], str]]:
    """A started fake, its `create` command (no `--batch` yet) and two input lines, for `service`."""
    if service == "orq":
        async with FakeOrq(api_key=ORQ_API_KEY) as orq:
            args = ["orq", "sessions", "create", "--server-url", orq.url, "--api-key", ORQ_API_KEY]
            yield orq, args, json.dumps(ORQ_THREAD) + "\n" + json.dumps({**ORQ_THREAD, "external_id": "j"}) + "\n"
    elif service == "mix":
        async with FakeMix() as mix:
            yield mix, ["mix", "sessions", "create", "--server-url", mix.url], '{"title": "a"}\n{"title": "a"}\n'
    else:
        async with FakeLog10(token=LOG10_TOKEN) as log10:
            args = ["log10", "sessions", "create", "--server-url", log10.url, "--token", LOG10_TOKEN]
            yield log10, args, '{}\n{"organization": "org-a"}\n'


def devin_create(fake: FakeDevin, *flags: str) -> list[str]:
    return ["devin", "sessions", "create", "--batch", "--server-url", fake.url, "--api-key", DEVIN_API_KEY, *flags]


@pytest.mark.parametrize("service", ["orq", "mix", "log10"])
async def test_creates_of_services_without_idempotency_carry_no_key(service: str) -> None:
    async with creates_without_idempotency(service) as (fake, args, stdin):
        run = await sessionkit(*args, "--batch", "--concurrency", "1", stdin=stdin)
    assert run.code == 0, run
    posts = [r for r in fake.requests if r.method == "POST"]
    assert len(posts) == 2  # two lines, two creates (two equal Mix lines too)
    assert all("Idempotency-Key" not in r.headers for r in posts)


@pytest.mark.parametrize("service", ["orq", "mix", "log10"])
async def test_a_503_on_such_a_create_is_not_retried(service: str) -> None:
    async with creates_without_idempotency(service) as (fake, args, stdin):
        fake.faults.push(Fault.status(503), method="POST")
        first_line = stdin.split("\n", 1)[0] + "\n"
        run = await sessionkit(*args, "--batch", "--retries", "2", stdin=first_line)
    assert run.code == 1, run  # the line failed: the server may or may not have made it
    assert [r.fault is not None for r in fake.requests] == [True]  # one attempt, though retries are on
    [line] = run.lines()
    assert line["index"] == 0
    assert line["error"]["status"] == 503
    assert line["error"]["attempts"] == 1


async def test_devin_creates_are_idempotent_unless_the_line_says_not(fake_devin: FakeDevin) -> None:
    stdin = '{"prompt": "a"}\n{"prompt": "b", "idempotent": false}\n'
    run = await sessionkit(*devin_create(fake_devin, "--concurrency", "1"), stdin=stdin)
    assert run.code == 0, run
    assert [r.json()["idempotent"] for r in fake_devin.requests] == [True, False]
    # Devin makes a create idempotent by its `idempotent` field; a header it ignores would only make
    # the client retry a create the server does not deduplicate.
    assert all("Idempotency-Key" not in r.headers for r in fake_devin.requests)


async def test_an_idempotent_devin_create_is_retried_after_a_503(fake_devin: FakeDevin) -> None:
    fake_devin.faults.push(Fault.status(503), method="POST")
    run = await sessionkit(*devin_create(fake_devin, "--retries", "1"), stdin='{"prompt": "x"}\n')
    assert run.code == 0, run  # `idempotent: true` makes the create safe to send again
    assert [r.fault is not None for r in fake_devin.requests] == [True, False]
    assert [r.json()["idempotent"] for r in fake_devin.requests] == [True, True]
    [line] = run.lines()
    assert [doc["session_id"] for doc in fake_devin.sessions] == [line["ok"]["session_id"]]


async def test_a_devin_line_that_is_not_idempotent_is_not_retried(fake_devin: FakeDevin) -> None:
    fake_devin.faults.push(Fault.status(503), method="POST")
    run = await sessionkit(*devin_create(fake_devin, "--retries", "2"), stdin='{"prompt": "x", "idempotent": false}\n')
    assert run.code == 1, run
    assert len(fake_devin.requests) == 1
    assert run.lines()[0]["error"]["attempts"] == 1


async def test_a_repeated_idempotent_devin_line_returns_the_same_session(fake_devin: FakeDevin) -> None:
    first = await sessionkit(*devin_create(fake_devin), stdin='{"prompt": "same"}\n')
    again = await sessionkit(*devin_create(fake_devin), stdin='{"prompt": "same"}\n')
    assert first.code == again.code == 0, (first, again)
    assert first.lines()[0]["ok"]["session_id"] == again.lines()[0]["ok"]["session_id"]
    assert again.lines()[0]["ok"]["is_new_session"] is False
    assert len(fake_devin.sessions) == 1


async def test_jupyter_needs_no_key(fake_jupyter: FakeJupyter) -> None:
    args = ["jupyter", "sessions", "create", "--batch", "--server-url", fake_jupyter.url, "--token", JUPYTER_TOKEN]
    run = await sessionkit(*args, stdin='{"path": "a.ipynb"}\n')
    assert run.code == 0, run
    assert "Idempotency-Key" not in fake_jupyter.requests[0].headers


def test_the_registry_offers_idempotency_only_where_the_service_honours_it() -> None:
    from sessionkit import devin, jupyter, log10, mix, orq

    def create(ops: tuple[Registered, ...]) -> Registered:
        return next(entry for entry in ops if entry.name == "create")

    assert create(devin.OPERATIONS).idempotency == "field"
    for service in (orq, mix, log10):
        entry = create(service.OPERATIONS)
        assert entry.creates  # a create not safe to repeat ...
        assert entry.idempotency is None  # ... that the service offers no way to make idempotent
    assert create(jupyter.OPERATIONS).idempotency is None  # create-or-return: safe to repeat as it is
    assert not create(jupyter.OPERATIONS).creates


@attrs.frozen
class _KeyedRequest:
    title: str
    idempotency_key: str | None = None


async def sessions_create(core: Any, request: Any, *, options: Any = None) -> Any:
    """Create a thing."""


def test_a_service_that_declares_the_header_gets_a_key_per_line_the_same_on_every_run() -> None:
    from sessionkit._cli.ndjson import parse_lines
    from sessionkit._cli.table import Op

    declared = Operation(
        id="keyed.sessions.create",
        method="POST",
        path="/things",
        request=_KeyedRequest,
        headers={"idempotency_key": "Idempotency-Key"},
    )
    op = Op.of(Registered(declared, sessions_create))
    assert op.idempotency == "key"
    data = b'{"title": "a"}\n{"title": "a"}\n\n{"title": "b"}\n'
    lines = parse_lines(op, data, set())
    keys = [line.options.idempotency_key for line in lines if line.options is not None]
    assert len(set(keys)) == 3  # two equal lines are still two creates
    assert all(key is not None and key.startswith("sessionkit-") for key in keys)
    assert all(line.idempotent for line in lines)
    assert [line.options for line in parse_lines(op, data, set())] == [line.options for line in lines]
