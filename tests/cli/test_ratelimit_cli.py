"""The CLI's rate-limit flags: `--adaptive`, `--rate`, `--redis-url`, `--rate-key` (with `--batch`)."""

from __future__ import annotations

import json

import pytest

from sessionkit.testing import FakeJupyter
from sessionkit.testing.redis import free_port
from tests._support.fake_fixtures import JUPYTER_TOKEN
from tests.cli._run import sessionkit


def _creates(n: int) -> str:
    return "".join(json.dumps({"path": f"rl-{i:02}.ipynb"}) + "\n" for i in range(n))


def _conn(fake: FakeJupyter) -> list[str]:
    return ["--server-url", fake.url, "--token", JUPYTER_TOKEN]


async def test_rate_paces_every_request_of_the_batch_under_the_servers_limit() -> None:
    async with FakeJupyter(token=JUPYTER_TOKEN) as fake:
        fake.set_rate_limit(20.0, burst=3)  # what --rate allows, with room for network jitter
        args = ["jupyter", "sessions", "create", "--batch", "--concurrency", "16", "--rate", "20", *_conn(fake)]
        run = await sessionkit(*args, stdin=_creates(12))
        assert run.code == 0, run
        assert [line["index"] for line in run.lines()] == list(range(12))
        assert (fake.served, fake.refused) == (12, 0)


async def test_adaptive_batch_gets_every_line_through_a_rate_limited_server() -> None:
    async with FakeJupyter(token=JUPYTER_TOKEN) as fake:
        fake.set_rate_limit(50.0, burst=2)
        args = ["jupyter", "sessions", "create", "--batch", "--concurrency", "32", "--adaptive", *_conn(fake)]
        run = await sessionkit(*args, "--retries", "6", stdin=_creates(30))
        assert run.code == 0, run
        assert all("ok" in line for line in run.lines())
        assert len(fake.sessions) == 30


async def test_an_unreachable_redis_fails_each_line_with_a_connection_error_and_no_password() -> None:
    port = free_port()  # nothing listens there
    async with FakeJupyter(token=JUPYTER_TOKEN) as fake:
        redis_url = f"redis://:s3cret-redis-pass@127.0.0.1:{port}/0"
        args = ["jupyter", "sessions", "create", "--batch", "--rate", "5", "--redis-url", redis_url, *_conn(fake)]
        run = await sessionkit(*args, stdin=_creates(2))
        assert run.code == 1, run
        errors = [line["error"] for line in run.lines()]
        assert [e["error"] for e in errors] == ["ConnectionError", "ConnectionError"]
        assert "shared rate limiter" in errors[0]["message"]
        assert "s3cret" not in run.stdout + run.stderr
        assert fake.requests == []


@pytest.mark.parametrize(
    "extra",
    [
        ["--batch", "--redis-url", "redis://127.0.0.1:6379/0"],  # a shared limit needs its rate
        ["--batch", "--rate", "0"],
        ["--rate", "5"],  # the flags go with --batch
        ["--adaptive"],
    ],
)
async def test_bad_rate_flags_are_usage_errors(extra: list[str]) -> None:
    run = await sessionkit("jupyter", "sessions", "create", "--server-url", "http://127.0.0.1:9", *extra)
    assert run.code == 2, run
