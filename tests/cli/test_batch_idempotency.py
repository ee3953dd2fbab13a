"""Batch creates are idempotent where the service allows it: a retried or re-run line is the same create."""

from __future__ import annotations

import json

from sessionkit.testing import FakeDevin, FakeJupyter, FakeMix, FakeOrq, Fault
from tests._support.fake_fixtures import DEVIN_API_KEY, JUPYTER_TOKEN, ORQ_API_KEY

from ._run import sessionkit

MIX_LINES = '{"title": "a"}\n{"title": "a"}\n{"title": "b"}\n'


def mix_create(fake: FakeMix) -> list[str]:
    # One call at a time, so the requests arrive in input order.
    return ["mix", "sessions", "create", "--batch", "--concurrency", "1", "--server-url", fake.url]


def keys(fake: FakeMix | FakeOrq) -> list[str]:
    return [r.headers["Idempotency-Key"] for r in fake.requests]


async def test_each_line_gets_its_own_key_and_the_same_one_on_every_run(fake_mix: FakeMix) -> None:
    first = await sessionkit(*mix_create(fake_mix), stdin=MIX_LINES)
    assert first.code == 0, first
    once = keys(fake_mix)
    assert len(set(once)) == 3  # two equal lines are still two creates
    assert all(key.startswith("sessionkit-") for key in once)
    again = await sessionkit(*mix_create(fake_mix), stdin=MIX_LINES)
    assert again.code == 0, again
    assert keys(fake_mix)[3:] == once


async def test_a_create_that_failed_on_a_503_is_retried_with_its_key(fake_mix: FakeMix) -> None:
    fake_mix.faults.push(Fault.status(503), method="POST")
    run = await sessionkit(*mix_create(fake_mix), "--retries", "1", stdin='{"title": "x"}\n')
    assert run.code == 0, run  # without a key a POST is never retried, and this line would fail
    assert [r.fault is not None for r in fake_mix.requests] == [True, False]
    assert len(set(keys(fake_mix))) == 1
    assert [s["title"] for s in fake_mix.sessions] == ["x"]


async def test_orq_creates_carry_a_key(fake_orq: FakeOrq) -> None:
    thread = {
        "external_id": "k",
        "duration": 1,
        "contact_ids": [],
        "billing": {"input_cost": 0.1, "output_cost": 0.1, "total_cost": 0.2},
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        "traces_count": 0,
        "tags": [],
    }
    args = ["orq", "sessions", "create", "--batch", "--server-url", fake_orq.url, "--api-key", ORQ_API_KEY]
    run = await sessionkit(*args, stdin=json.dumps(thread) + "\n")
    assert run.code == 0, run
    assert keys(fake_orq)[0].startswith("sessionkit-")


async def test_devin_creates_are_idempotent_unless_the_line_says_not(fake_devin: FakeDevin) -> None:
    stdin = '{"prompt": "a"}\n{"prompt": "b", "idempotent": false}\n'
    args = ["devin", "sessions", "create", "--batch", "--concurrency", "1", "--server-url", fake_devin.url]
    run = await sessionkit(*args, "--api-key", DEVIN_API_KEY, stdin=stdin)
    assert run.code == 0, run
    assert [r.json()["idempotent"] for r in fake_devin.requests] == [True, False]
    # Devin makes a create idempotent by its `idempotent` field; a header it ignores would only make
    # the client retry a create the server does not deduplicate.
    assert all("Idempotency-Key" not in r.headers for r in fake_devin.requests)


async def test_jupyter_needs_no_key(fake_jupyter: FakeJupyter) -> None:
    args = ["jupyter", "sessions", "create", "--batch", "--server-url", fake_jupyter.url, "--token", JUPYTER_TOKEN]
    run = await sessionkit(*args, stdin='{"path": "a.ipynb"}\n')
    assert run.code == 0, run
    assert "Idempotency-Key" not in fake_jupyter.requests[0].headers
