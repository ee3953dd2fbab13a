"""An adaptive batch alone against a gateway that answers 429 with `Retry-After: 1`, nothing finer.

    python -m benchmarks.ratelimit --only gateway            # this section alone, 3 runs of each cell
    python -m benchmarks.ratelimit --only gateway --gateway-items 2000 --gateway-repeats 1

The server is `FakeOrq` in its own process behind `set_rate_limit(R, exact_wait=False)`: a token
bucket of R requests a second (burst R) that refuses the rest at once with 429 and `Retry-After`
in whole seconds (always `1` at R >= 1/s: the next token is at most 1/R away), as most gateways
send it; no `retry-after-ms`. An admitted request is answered after `latency` seconds. The client
is one `OrqCore` (default retries: 2) and `batch(..., concurrency=Adaptive(1, 256))`, with no rate
limiter on the core: only the batch's own controller paces it.

- gets: `sessions_get` of N distinct threads (`FakeOrq.populate`); a 429'd get is retried.
- creates: `sessions_create` of N threads with distinct `external_id`s; Orq's create is not
  idempotent, so only a 429 (refused before the server acted) is retried.

Figures per run: goodput = inputs that ended `Ok` / wall time of the batch, and over R; the 429
share = refused / every request the server saw; lost = inputs without exactly one result, plus
`Ok`s the server has no record of (no served get of that id, no thread with that external id)
and records no `Ok` reported (a served id, or a thread, that the caller did not get as `Ok`),
plus threads created twice. The bucket starts full, so a perfect client finishes N inputs in
(N - R) / R seconds: goodput / R can reach N / (N - R) (1.03 for N = 6,000).
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import os
import statistics
import sys
import time
from functools import partial
from typing import Any

TOKEN = "bench-gateway-key"
MAX_CONNECTIONS = 512  # above max_concurrency, so the pool never caps a run
OPS = ("get", "create")


# -- the server process ------------------------------------------------------------------------------


async def serve(rate: float) -> None:
    """The fake, driven over stdin: `reset LATENCY POPULATE BURST`, `stats`, `quit`."""
    from sessionkit.testing import FakeOrq, Fault

    fake = FakeOrq(api_key=TOKEN)

    def fresh(latency: float, populate: int, burst: int | None) -> None:  # burst None: the fake's default, R
        fake.reset()
        fake.set_rate_limit(rate, burst=burst, exact_wait=False)  # a full bucket for every run
        if populate:
            fake.populate(populate)
        if latency > 0:
            fake.faults.push(Fault.delay(latency), times=None)

    fresh(0.0, 0, None)
    async with fake:
        print(json.dumps({"url": fake.url}), flush=True)
        while (line := (await asyncio.to_thread(sys.stdin.readline)).split()) and line[0] != "quit":
            if line[0] == "reset":
                fresh(float(line[1]), int(line[2]), int(line[3]))
                print("{}", flush=True)
            elif line[0] == "stats":
                served = [r for r in fake.requests if r.fault is None or r.fault.kind == "delay"]
                gets = [r.path.rsplit("/", 1)[-1] for r in served if r.method == "GET"]
                created = [str(doc["external_id"]) for doc in fake.sessions if not doc["_id"].startswith("thread_pop_")]
                doc = {"served": fake.served, "refused": fake.refused, "gets": gets, "created": created}
                print(json.dumps(doc), flush=True)


# -- one run -------------------------------------------------------------------------------------------


def _inputs(op: str, n: int) -> list[dict[str, Any]]:
    if op == "get":
        return [{"session_id": f"thread_pop_{i:012d}"} for i in range(n)]
    return [
        {
            "external_id": f"bench-{i:07d}",
            "duration": 1.0,
            "contact_ids": [],
            "billing": {"input_cost": 0.0, "output_cost": 0.0, "total_cost": 0.0},
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "traces_count": 0,
            "tags": [],
        }
        for i in range(n)
    ]


async def one_run(url: str, op: str, n: int, concurrency: Any) -> dict[str, Any]:
    """Run the batch; what the caller got (the ids of its `Ok`s, errors, attempts, the controller's course)."""
    from sessionkit import batch
    from sessionkit.orq import OrqCore, sessions_create, sessions_get
    from sessionkit.result import Err, Ok

    course: list[tuple[int, float | None]] = []

    def progress(p: Any) -> None:
        course.append((p.concurrency, getattr(p, "rate", None)))

    fn = sessions_get if op == "get" else sessions_create
    async with OrqCore(TOKEN, server_url=url, max_connections=MAX_CONNECTIONS) as core:
        started = time.monotonic()
        results = await batch(partial(fn, core), _inputs(op, n), concurrency=concurrency, progress=progress)
        seconds = time.monotonic() - started
    oks = [r.value for r in results if isinstance(r, Ok)]
    attempts = collections.Counter(r.meta.attempts if r.meta else 1 for r in results if isinstance(r, Ok))
    rates = [rate for _, rate in course if rate is not None]
    return {
        "results": len(results),
        "ok": len(oks),
        "ok_ids": [t.id if op == "get" else t.external_id for t in oks],
        "errors": dict(collections.Counter(type(r.error).__name__ for r in results if isinstance(r, Err))),
        "retried_ok": sum(v for k, v in attempts.items() if k > 1),
        "seconds": seconds,
        "concurrency_mean": statistics.fmean(c for c, _ in course) if course else 0.0,
        "concurrency_max": max((c for c, _ in course), default=0),
        "rate_end": rates[-1] if rates else None,
    }


def figures(
    op: str, n: int, rate: float, latency: float, outcome: dict[str, Any], stats: dict[str, Any]
) -> dict[str, Any]:
    """The row of one run: goodput, 429 share and lost, from the caller's outcome and the server's record."""
    ok_ids = outcome.pop("ok_ids")
    served_ids = stats["gets"] if op == "get" else stats["created"]
    twice = len(served_ids) - len(set(served_ids)) if op == "create" else 0
    lost = (n - outcome["results"]) + len(set(ok_ids) ^ set(served_ids)) + twice
    requests = stats["served"] + stats["refused"]
    goodput = outcome["ok"] / outcome["seconds"]
    return {
        "op": op,
        "latency": latency,
        "items": n,
        **outcome,
        "goodput": goodput,
        "goodput_vs_rate": goodput / rate,
        "requests": requests,
        "refused_429": stats["refused"],
        "share_429": stats["refused"] / max(1, requests),
        "lost": lost,
    }


def met(row: dict[str, Any]) -> bool:
    """The goal of issue 17: goodput >= 0.9 R, 429s <= 5 % of requests, nothing lost."""
    return row["goodput_vs_rate"] >= 0.9 and row["share_429"] <= 0.05 and row["lost"] == 0


# -- the section ----------------------------------------------------------------------------------------


async def run(
    rate: float,
    items: int,
    latencies: list[float],
    repeats: int,
    log: Any,
    *,
    bursts: list[int] | None = None,
    ops: tuple[str, ...] = OPS,
    concurrency: Any = None,
) -> dict[str, Any]:
    """Every (burst, latency, op) cell `repeats` times, interleaved so that a change of load spreads over all cells."""
    from benchmarks.ratelimit import Server
    from sessionkit.batch import Adaptive

    concurrency = concurrency if concurrency is not None else Adaptive(1, 256)
    bursts = bursts or [math.ceil(rate)]
    rows: list[dict[str, Any]] = []
    async with Server(rate, 0.0, serve=["gateway-serve", "--rate", str(rate)]) as server:
        for repeat in range(1, repeats + 1):
            for burst in bursts:
                for latency in latencies:
                    for op in ops:
                        log(
                            f"gateway {op}s, burst {burst}, latency {latency:g} s, run {repeat}: {items} at R={rate:g}/s"
                        )
                        await server.command(f"reset {latency} {items if op == 'get' else 0} {burst}")
                        load = os.getloadavg()[0]
                        outcome = await one_run(server.url, op, items, concurrency)
                        row = figures(op, items, rate, latency, outcome, await server.stats())
                        row.update(run=repeat, burst=burst, loadavg=load)
                        rows.append(row)
                        log(f"  {line(row)}")
    return {
        "rate": rate,
        "bursts": bursts,
        "items": items,
        "latencies": latencies,
        "repeats": repeats,
        "adaptive": repr(concurrency),
        "rows": rows,
    }


def line(row: dict[str, Any]) -> str:
    return (
        f"{row['goodput_vs_rate']:.2f} R ({row['goodput']:.1f}/s), 429s {100 * row['share_429']:.1f} % of "
        f"{row['requests']:,}, ok {row['ok']:,}/{row['items']:,}, lost {row['lost']}, {row['seconds']:.1f} s"
    )


def spread(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (burst, latency, op): the lowest and highest goodput / R and 429 share, lost in total, and the goal in how many runs."""
    cells: dict[tuple[int, float, str], list[dict[str, Any]]] = {}
    for row in rows:
        cells.setdefault((row["burst"], row["latency"], row["op"]), []).append(row)
    return [
        {
            "burst": burst,
            "op": op,
            "latency": latency,
            "runs": len(group),
            "goodput_min": min(r["goodput_vs_rate"] for r in group),
            "goodput_max": max(r["goodput_vs_rate"] for r in group),
            "share_429_min": min(r["share_429"] for r in group),
            "share_429_max": max(r["share_429"] for r in group),
            "lost": sum(r["lost"] for r in group),
            "errors": sum(sum(r["errors"].values()) for r in group),
            "met": sum(met(r) for r in group),
        }
        for (burst, latency, op), group in sorted(cells.items(), key=lambda kv: (-kv[0][0], -kv[0][1], kv[0][2]))
    ]


def _cell_order(row: dict[str, Any]) -> tuple[float, ...]:
    return (-row["burst"], -row["latency"], OPS.index(row["op"]) if row["op"] in OPS else 9, row["run"])


def markdown(section: dict[str, Any]) -> list[str]:
    bursts = ", ".join(str(b) for b in section["bursts"])
    lines = [
        f"## Adaptive batch alone against a whole-second gateway: {section['items']:,} items per run, "
        f"R = {section['rate']:g}/s, `Retry-After: 1` only",
        "",
        f"`{section['adaptive']}`, default retries (2), no limiter on the core. Server: `FakeOrq` in its own "
        f"process with `set_rate_limit(R, burst=B, exact_wait=False)`, B = {bursts}; runs interleaved, "
        "load = the 1-minute load average when the run began.",
        "",
        "| burst | latency | op | run | load | goodput/s | x R | requests | 429s | 429 share | ok | errors | lost "
        "| retried ok | concurrency mean / max | rate at end | s | goal |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: "
        "| ---: | --- |",
    ]
    for r in sorted(section["rows"], key=_cell_order):
        errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "-"
        end = f"{r['rate_end']:.1f}/s" if r.get("rate_end") is not None else "-"
        lines.append(
            f"| {r['burst']} | {1000 * r['latency']:g} ms | {r['op']} | {r['run']} | {r['loadavg']:.2f} | "
            f"{r['goodput']:.1f} | {r['goodput_vs_rate']:.2f} | {r['requests']:,} | {r['refused_429']:,} | "
            f"{100 * r['share_429']:.1f} % | {r['ok']:,} | {errors} | {r['lost']} | {r['retried_ok']:,} | "
            f"{r['concurrency_mean']:.1f} / {r['concurrency_max']} | {end} | {r['seconds']:.1f} | "
            f"{'met' if met(r) else 'MISSED'} |"
        )
    lines += [
        "",
        "Spread per cell (goal: goodput >= 0.9 R, 429s <= 5 % of requests, 0 lost, in every run):",
        "",
        "| burst | latency | op | runs | goodput / R | 429 share | lost | errors | goal met |",
        "| ---: | ---: | --- | ---: | --- | --- | ---: | ---: | ---: |",
    ]
    for c in spread(section["rows"]):
        lines.append(
            f"| {c['burst']} | {1000 * c['latency']:g} ms | {c['op']} | {c['runs']} | "
            f"{c['goodput_min']:.2f} - {c['goodput_max']:.2f} | "
            f"{100 * c['share_429_min']:.1f} - {100 * c['share_429_max']:.1f} % | {c['lost']} | {c['errors']} | "
            f"{c['met']} of {c['runs']} |"
        )
    return lines
