"""`sessionkit fake SERVICE` serves a fake as its own process: the CLI (or any client) can use it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from ._run import sessionkit


@asynccontextmanager
async def served(*args: str) -> AsyncIterator[dict[str, Any]]:
    """`sessionkit fake *args` running; yields its first stdout line; stops it with SIGTERM."""
    env = {k: v for k, v in os.environ.items() if k != "SESSIONKIT_LOG"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sessionkit.cli", "fake", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line, (await proc.stderr.read()).decode() if proc.stderr else "no output"
        yield json.loads(line)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await proc.wait()
    assert code == 0


async def test_a_mix_fake_serves_the_cli() -> None:
    async with served("mix", "--port", "0", "--seed", "3") as info:
        assert info["service"] == "mix"
        assert info["url"].startswith("http://127.0.0.1:")
        run = await sessionkit("mix", "sessions", "list", "--server-url", info["url"])
    assert run.code == 0, run
    assert len(run.json()) == 3


async def test_a_rate_limited_orq_fake_with_its_own_token() -> None:
    async with served("orq", "--token", "k-123") as info:
        assert info["credential"] == "k-123"
        wrong = await sessionkit("orq", "sessions", "count", "--server-url", info["url"], "--api-key", "other")
    assert wrong.code == 1
    assert wrong.error()["status"] == 401
    # One request a minute: however loaded the machine, the second call comes before the next token.
    async with served("orq", "--token", "k-123", "--rate-limit", "0.0166") as info:
        url = info["url"]
        first = await sessionkit("orq", "sessions", "count", "--server-url", url, "--api-key", "k-123")
        second = await sessionkit(
            "orq", "sessions", "count", "--server-url", url, "--api-key", "k-123", "--retries", "0"
        )
    assert first.code == 0, first
    assert second.code == 1, second
    assert second.error()["error"] == "RateLimitError"


@pytest.mark.parametrize("service", ["jupyter", "devin", "devin-v3", "log10"])
async def test_every_fake_starts_and_prints_its_url(service: str) -> None:
    async with served(service) as info:
        assert info["service"] == service
        assert info["credential"]


async def test_a_port_in_use_is_a_usage_error() -> None:
    async with served("mix") as info:
        port = info["url"].rsplit(":", 1)[1]
        run = await sessionkit("fake", "mix", "--port", port)
    assert run.code == 2, run
    assert "cannot serve" in run.error()["message"]
