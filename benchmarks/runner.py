"""Runs every section of a benchmark: the server process, the load cells, decode, imports, memory."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from . import decode, importtime
from .clients import CLIENTS, SCENARIOS, Client, json_backend, use_json_backend
from .load import Sample, drive, percentile

ROOT = Path(__file__).resolve().parent.parent


@attrs.frozen
class Config:
    """How much of everything to run. `requests` is per client per cell, split over `rounds`;
    `slow_requests` (default: `requests`) replaces it for the slow httpx-based clients."""

    mode: str
    requests: int
    rounds: int
    warmup: int
    slow_requests: int = attrs.field(default=attrs.Factory(lambda self: self.requests, takes_self=True))
    concurrencies: tuple[int, ...] = (1, 64)
    decode_seconds: float = 0.5
    decode_repeats: int = 7
    import_repeats: int = 7
    memory_requests: int = 100_000
    memory_warmup: int = 2_000


# The httpx-based clients serve 80-450 req/s: 20,000 requests would take them most of an hour.
FULL = Config(mode="full", requests=20_000, slow_requests=2_000, rounds=4, warmup=200)
# Quick: enough to check that every client works and to see the shape, in well under a minute.
QUICK = Config(
    mode="quick",
    requests=200,
    rounds=1,
    warmup=20,
    decode_seconds=0.05,
    decode_repeats=5,
    import_repeats=3,
    memory_requests=5_000,
    memory_warmup=500,
)


@contextmanager
def server_process() -> Iterator[str]:
    """`python -m benchmarks.server` on a free loopback port; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server", "--port", "0"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    try:
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.stdin.close()  # the server exits on EOF
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _cell(scenario: str, concurrency: int, client: Client, sample: Sample) -> dict[str, Any]:
    lat = sample.latencies
    return {
        "scenario": scenario,
        "concurrency": concurrency,
        "client": client.name,
        "requests": sample.requests,
        "wrong": sample.wrong,
        "first_error": sample.first_error,
        "rps": sample.requests / sample.wall if sample.wall else 0.0,
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "mean_ms": sum(lat) / len(lat) * 1000 if lat else float("nan"),
        "cpu_us_per_request": sample.cpu / sample.requests * 1e6 if sample.requests else float("nan"),
    }


def requests_for(cfg: Config, client: Client) -> int:
    """Timed requests per cell for `client`: fewer for the slow httpx-based ones."""
    return cfg.slow_requests if client.slow else cfg.requests


async def run_load(url: str, cfg: Config, log: Any = None) -> list[dict[str, Any]]:
    """Every scenario x concurrency x client; clients take turns by round so load drift hits all.

    Each client's `activate()` runs right before each of its runs (the sessionkit clients select
    their JSON backend there); the backend active before is restored at the end.
    """
    clients = [cls() for cls in CLIENTS]
    cells: list[dict[str, Any]] = []
    backend = json_backend()
    try:
        for client in clients:
            await client.open(url)
        for scenario in SCENARIOS:
            calls = {c.name: c.call(scenario) for c in clients}
            for concurrency in cfg.concurrencies:
                samples = {c.name: Sample() for c in clients}
                for c in clients:
                    c.activate()
                    await drive(calls[c.name], cfg.warmup, concurrency)
                for r in range(cfg.rounds):
                    # Rotate who goes first, so no client always runs right after the same neighbour.
                    for c in clients[r % len(clients) :] + clients[: r % len(clients)]:
                        base, extra = divmod(requests_for(cfg, c), cfg.rounds)
                        n = base + (1 if r < extra else 0)
                        if n:
                            c.activate()
                            samples[c.name].extend(await drive(calls[c.name], n, concurrency))
                for c in clients:
                    cells.append(_cell(scenario, concurrency, c, samples[c.name]))
                    if log:
                        row = cells[-1]
                        log(
                            f"{scenario:6} c={concurrency:<3} {c.name:18} {row['rps']:9.0f} req/s "
                            f"p50 {row['p50_ms']:7.3f} ms  p99 {row['p99_ms']:7.3f} ms  cpu {row['cpu_us_per_request']:6.0f} us/req  "
                            f"wrong {row['wrong']}"
                        )
    finally:
        for client in clients:
            await client.close()
        use_json_backend(backend)
    return cells


def run_memory(url: str, cfg: Config) -> dict[str, Any]:
    """`benchmarks.memory` in its own interpreter, so nothing else in this process inflates its RSS."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.memory",
            "--url",
            url,
            "--requests",
            str(cfg.memory_requests),
            "--warmup",
            str(cfg.memory_warmup),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run_all(cfg: Config, log: Any = None) -> dict[str, Any]:
    """Every section; returns the results document (without machine info)."""
    with server_process() as url:
        cells = asyncio.run(run_load(url, cfg, log))
        if log:
            log("memory ...")
        memory = run_memory(url, cfg)
    if log:
        log("decode ...")
    decoded = decode.measure(cfg.decode_seconds, cfg.decode_repeats)
    if log:
        log("import time ...")
    imports = importtime.measure(cfg.import_repeats)
    return {
        "config": attrs.asdict(cfg),
        "clients": {cls.name: cls.description for cls in CLIENTS},
        "slow_clients": [cls.name for cls in CLIENTS if cls.slow],
        "cells": cells,
        "decode": decoded,
        "imports": imports,
        "memory": memory,
    }
