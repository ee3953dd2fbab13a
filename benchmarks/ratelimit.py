"""`python -m benchmarks.ratelimit`: batches against a rate-limited server, side by side in one run.

    python -m benchmarks.ratelimit                    # everything below; about 20 minutes
    python -m benchmarks.ratelimit --only core        # 1-3 alone (about 6 minutes); --creates 2000: shorter
    python -m benchmarks.ratelimit --only gateway     # 4 alone (about 13 minutes)
    python -m benchmarks.ratelimit --libraries        # also: pyrate-limiter vs limits on Redis

The server is `FakeJupyter` in its own process with a token bucket of R requests a second (burst R)
that answers 429 + Retry-After beyond it, and answers served requests after `--latency` seconds.
Jupyter's create is create-or-return by path, so the pipeline retries a 429'd create (each retry
a request the server counts, refused or served) and a retry can never make a second session.

1. One process, 10,000 creates: `concurrency=Adaptive(1, 256)` beside a fixed concurrency of 256
   (both with the core's default retries, 2), and the adaptive batch again with 5 retries.
2. Four worker processes, 2,500 creates each, concurrency 64: every core limited to R through one
   `RedisRateLimiter`, beside the same four with a `LocalRateLimiter(R)` each.
3. `--libraries`: pyrate-limiter (through `RedisRateLimiter`) and limits (moving window, async
   redis-py storage) on the same Redis: the cost of one admission in one process, then four
   processes pacing to R together (the rate they reach, the most admissions in any 100 ms, and
   script round trips to Redis per admission).
4. The gateway section (`benchmarks/gateway.py`): `Adaptive(1, 256)` alone against `FakeOrq` whose
   429 says only `Retry-After: 1`, gets and creates, buckets of R and of 10, latencies 100 ms and
   5 ms, each cell `--gateway-repeats` times (3) with `--gateway-items` inputs (6,000).

`--only` runs one part and keeps the other from the last `ratelimit.json`, so each part of the
markdown carries its own machine line and load average.

Goodput = creates that ended Ok / wall time; 429 share = refused / all requests the server saw;
lost = inputs without exactly one result, or whose Ok/Err disagrees with the server's sessions.
Writes benchmarks/results/ratelimit.{json,md} and prints the markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks import report

TOKEN = "bench-token"
RESULTS = Path(__file__).parent / "results"
MAX_CONNECTIONS = 512  # above every concurrency here, so the pool never caps a run


# -- the server process ------------------------------------------------------------------------------


async def _serve(rate: float, latency: float) -> None:
    from sessionkit.testing import FakeJupyter, Fault

    fake = FakeJupyter(token=TOKEN)

    def fresh() -> None:
        fake.reset()
        fake.set_rate_limit(rate)  # a full bucket for every scenario
        if latency > 0:
            fake.faults.push(Fault.delay(latency), times=None)

    fresh()
    async with fake:
        print(json.dumps({"url": fake.url}), flush=True)
        while (command := (await asyncio.to_thread(sys.stdin.readline)).strip()) not in ("", "quit"):
            if command == "reset":
                fresh()
                print("{}", flush=True)
            elif command == "stats":
                paths = sorted(doc["path"] for doc in fake.sessions)
                print(json.dumps({"served": fake.served, "refused": fake.refused, "paths": paths}), flush=True)


class Server:
    """The fake in a child process, driven over its stdin (`serve`: the child's arguments)."""

    def __init__(self, rate: float, latency: float, serve: list[str] | None = None) -> None:
        self.rate, self.latency = rate, latency
        self.url = ""
        self._serve = serve or ["serve", "--rate", str(rate), "--latency", str(latency)]
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Server:
        args = ["-m", "benchmarks.ratelimit", *self._serve]
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**26
        )  # the stats line lists every session path
        self.url = (await self._ask(None))["url"]
        return self

    async def _ask(self, command: str | None) -> Any:
        proc = self._proc
        assert proc is not None
        assert proc.stdin is not None
        assert proc.stdout is not None
        if command is not None:
            proc.stdin.write(command.encode() + b"\n")
            await proc.stdin.drain()
        return json.loads(await proc.stdout.readline())

    async def reset(self) -> None:
        await self._ask("reset")

    async def command(self, command: str) -> Any:
        return await self._ask(command)

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self._ask("stats")
        return stats

    async def __aexit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.stdin is not None:
            proc.stdin.write(b"quit\n")
            await proc.stdin.drain()
            await proc.wait()


# -- the creates ---------------------------------------------------------------------------------------


def _paths(start: int, n: int) -> list[str]:
    return [f"bench/nb-{i:06}.ipynb" for i in range(start, start + n)]


async def _creates(
    url: str, paths: list[str], concurrency: Any, limiter: Any = None, retries: int | None = None
) -> dict[str, Any]:
    """Create one session per path; the outcome counts (and the concurrency an adaptive batch used)."""
    from sessionkit import batch
    from sessionkit.jupyter import JupyterCore, sessions_create
    from sessionkit.result import Err, Ok

    seen: list[int] = []
    core = JupyterCore(
        server_url=url, token=TOKEN, max_connections=MAX_CONNECTIONS, rate_limiter=limiter, retries=retries
    )
    async with core:
        create = partial(sessions_create, core)
        results = await batch(create, [{"path": p} for p in paths], concurrency=concurrency, progress=_tap(seen))
    errors = collections.Counter(type(r.error).__name__ for r in results if isinstance(r, Err))
    ok_paths = [r.value.path for r in results if isinstance(r, Ok)]
    return {
        "results": len(results),
        "ok": len(ok_paths),
        "errors": dict(errors),
        "ok_paths": ok_paths,
        "concurrency_mean": statistics.fmean(seen) if seen else 0,
        "concurrency_max": max(seen, default=0),
        "concurrency_end": seen[-1] if seen else 0,
    }


def _tap(seen: list[int]) -> Any:
    def progress(p: Any) -> None:
        seen.append(p.concurrency)

    return progress


def _figures(
    name: str, rate: float, n: int, outcome: dict[str, Any], stats: dict[str, Any], secs: float
) -> dict[str, Any]:
    served, refused = stats["served"], stats["refused"]
    created = set(stats["paths"])
    ok_paths = outcome.pop("ok_paths")
    # Lost: an input with no result, an Ok whose session the server lacks, or a session no Ok reported.
    lost = (n - outcome["results"]) + len(set(ok_paths) ^ created)
    return {
        "scenario": name,
        "creates": n,
        **outcome,
        "seconds": secs,
        "goodput": outcome["ok"] / secs,
        "goodput_vs_rate": outcome["ok"] / secs / rate,
        "requests": served + refused,
        "refused_429": refused,
        "share_429": refused / max(1, served + refused),
        "lost": lost,
    }


async def _one_process(server: Server, name: str, n: int, concurrency: Any, retries: int | None) -> dict[str, Any]:
    await server.reset()
    started = time.monotonic()
    outcome = await _creates(server.url, _paths(0, n), concurrency, retries=retries)
    secs = time.monotonic() - started
    return _figures(name, server.rate, n, outcome, await server.stats(), secs)


# -- worker processes ---------------------------------------------------------------------------------


async def _work(url: str, start: int, n: int, rate: float, redis_url: str, concurrency: int) -> None:
    from sessionkit.ratelimit import LocalRateLimiter, RedisRateLimiter

    burst = int(os.environ["BENCH_REDIS_BURST"]) if os.environ.get("BENCH_REDIS_BURST") else None
    limiter = (
        RedisRateLimiter(redis_url, rate, key="bench:jupyter", burst=burst) if redis_url else LocalRateLimiter(rate)
    )
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # every worker starts together
    try:
        outcome = await _creates(url, _paths(start, n), concurrency, limiter)
    finally:
        if isinstance(limiter, RedisRateLimiter):
            await limiter.aclose()
    print(json.dumps(outcome), flush=True)


async def _workers(server: Server, name: str, n: int, workers: int, redis_url: str) -> dict[str, Any]:
    await server.reset()
    share = n // workers
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.ratelimit",
            "work",
            server.url,
            str(i * share),
            str(share),
            str(server.rate),
            redis_url or "-",
            "64",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for i in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None
        await proc.stdout.readline()  # "ready": imports done, core built
    started = time.monotonic()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    outcomes = [json.loads((await proc.communicate())[0]) for proc in procs]
    secs = time.monotonic() - started
    merged: dict[str, Any] = {
        "results": sum(o["results"] for o in outcomes),
        "ok": sum(o["ok"] for o in outcomes),
        "errors": dict(sum((collections.Counter(o["errors"]) for o in outcomes), collections.Counter())),
        "ok_paths": [p for o in outcomes for p in o["ok_paths"]],
        "workers": workers,
    }
    return _figures(name, server.rate, share * workers, merged, await server.stats(), secs)


# -- the library comparison ---------------------------------------------------------------------------


async def _acquirer(library: str, redis_url: str, rate: float, key: str, burst: int | None = None) -> tuple[Any, Any]:
    """(acquire(), aclose()) for one process: pyrate-limiter through RedisRateLimiter, or limits."""
    from sessionkit._clock import SYSTEM_CLOCK

    if library == "pyrate-limiter":
        from sessionkit.ratelimit import RedisRateLimiter

        limiter = RedisRateLimiter(redis_url, rate, key=key, burst=burst)
        return partial(limiter.acquire, SYSTEM_CLOCK, None), limiter.aclose
    from limits import RateLimitItemPerSecond
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import MovingWindowRateLimiter

    storage = RedisStorage("async+" + redis_url, implementation="redispy")
    moving = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerSecond(max(1, round(burst or rate)))
    lock = asyncio.Lock()  # as RedisRateLimiter does: one waiter per process asks Redis

    async def acquire() -> None:
        async with lock:
            while not await moving.hit(item, key):
                stats = await moving.get_window_stats(item, key)
                await asyncio.sleep(max(stats.reset_time - time.time(), 0.001))

    async def aclose() -> None:
        bridge: Any = storage.bridge  # typed as the base bridge; the redis-py one has `storage`
        await bridge.storage.aclose()  # the redis-py client limits opened

    return acquire, aclose


async def _pace(library: str, redis_url: str, rate: float, n: int, key: str) -> None:
    acquire, aclose = await _acquirer(library, redis_url, rate, key)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    stamps = []
    try:
        for _ in range(n):
            await acquire()
            stamps.append(time.time())
    finally:
        await aclose()
    print(json.dumps(stamps), flush=True)


async def _commands(redis_url: str) -> int:
    """Script calls so far: each is one round trip of either library (the commands inside don't count)."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        info = await client.info("commandstats")
        return sum(int(v["calls"]) for k, v in info.items() if k.split("|")[0] in ("cmdstat_evalsha", "cmdstat_eval"))
    finally:
        await client.aclose()


async def _libraries(redis_url: str, rate: float, per_worker: int, workers: int) -> list[dict[str, Any]]:
    """Each library: one process uncontended (µs per admission), then `workers` processes pacing at `rate`."""
    rows = []
    for library in ("pyrate-limiter", "limits"):
        acquire, aclose = await _acquirer(library, redis_url, 1e6, f"lib:{library}:solo", burst=10**6)
        before, started = await _commands(redis_url), time.perf_counter()
        for _ in range(2000):
            await acquire()
        solo_us = (time.perf_counter() - started) / 2000 * 1e6
        solo_cmds = (await _commands(redis_url) - before) / 2000
        await aclose()

        key = f"lib:{library}:shared"
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.ratelimit",
                "pace",
                library,
                redis_url,
                str(rate),
                str(per_worker),
                key,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(workers)
        ]
        for proc in procs:
            assert proc.stdout is not None
            await proc.stdout.readline()
        before = await _commands(redis_url)
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        stamps: list[float] = []
        for proc in procs:
            stamps += json.loads((await proc.communicate())[0])
        stamps.sort()
        commands = await _commands(redis_url) - before
        span = stamps[-1] - stamps[0]
        window = 0.1
        most, j = 0, 0
        for i, t in enumerate(stamps):  # the most admissions in any 100 ms window
            while stamps[j] < t - window:
                j += 1
            most = max(most, i - j + 1)
        rows.append(
            {
                "library": library,
                "solo_us_per_admission": solo_us,
                "solo_round_trips_per_admission": solo_cmds,
                "admissions": len(stamps),
                "achieved_rate": (len(stamps) - 1) / span if span > 0 else float("nan"),
                "most_in_100ms": most,
                "allowed_in_100ms": rate * window,
                "round_trips_per_admission": commands / len(stamps),
            }
        )
    return rows


# -- the run and its report ---------------------------------------------------------------------------


async def run(args: argparse.Namespace, log: Any) -> dict[str, Any]:
    """Every section; with `args.only` ("core" or "gateway") that one, the other kept from `args.previous`."""
    only = getattr(args, "only", None)
    previous: dict[str, Any] = getattr(args, "previous", None) or {}
    if only == "gateway":
        doc: dict[str, Any] = {k: v for k, v in previous.items() if k != "gateway"}
    else:
        doc = await _core(args, log)
    if only == "core":
        if "gateway" in previous:
            doc["gateway"] = previous["gateway"]
    else:
        doc["gateway"] = await _gateway(args, log)
    return doc


async def _gateway(args: argparse.Namespace, log: Any) -> dict[str, Any]:
    from benchmarks import gateway

    started = report.machine()
    section = await gateway.run(
        args.rate,
        args.gateway_items,
        args.gateway_latencies,
        args.gateway_repeats,
        log,
        bursts=args.gateway_bursts or [math.ceil(args.rate), 10],
    )
    return {"machine": started, "loadavg_end": list(os.getloadavg()), **section}


async def _core(args: argparse.Namespace, log: Any) -> dict[str, Any]:
    from sessionkit.batch import Adaptive
    from sessionkit.testing.redis import RedisServer

    doc: dict[str, Any] = {"machine": report.machine(), "rate": args.rate, "latency": args.latency, "rows": []}
    async with Server(args.rate, args.latency) as server:
        one_process = [
            ("adaptive 1..256", Adaptive(1, 256), None),
            ("fixed 256", 256, None),
            ("adaptive 1..256, 5 retries", Adaptive(1, 256), 5),
        ]
        for name, concurrency, retries in one_process:
            log(f"{name}: {args.creates} creates at R={args.rate:g}/s ...")
            doc["rows"].append(await _one_process(server, name, args.creates, concurrency, retries))
            log(f"  {_line(doc['rows'][-1])}")
        with RedisServer() as redis:
            shared = [(f"{args.workers} processes, shared Redis limiter", redis.url)]
            for name, url in [*shared, (f"{args.workers} processes, local limiters", "")]:
                log(f"{name}: {args.creates} creates ...")
                doc["rows"].append(await _workers(server, name, args.creates, args.workers, url))
                log(f"  {_line(doc['rows'][-1])}")
            if args.libraries:
                log("libraries: pyrate-limiter vs limits ...")
                doc["libraries"] = await _libraries(redis.url, args.rate, args.library_acquires, args.workers)
    doc["loadavg_end"] = list(os.getloadavg())
    doc["goals"] = _goals(doc)
    return doc


def _line(row: dict[str, Any]) -> str:
    return (
        f"goodput {row['goodput']:.1f}/s ({row['goodput_vs_rate']:.2f} R), 429s {100 * row['share_429']:.1f} % "
        f"of {row['requests']}, ok {row['ok']}/{row['creates']}, lost {row['lost']}, {row['seconds']:.1f} s"
    )


def _goals(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for row in doc["rows"]:
        if row["scenario"] != "adaptive 1..256" and not row["scenario"].endswith("shared Redis limiter"):
            continue
        met = row["goodput_vs_rate"] >= 0.9 and row["share_429"] <= 0.05 and row["lost"] == 0
        out.append({"scenario": row["scenario"], "met": met, "line": _line(row)})
    return out


def markdown(doc: dict[str, Any]) -> str:
    lines = _core_markdown(doc) if doc.get("rows") else []
    if "gateway" in doc:
        from benchmarks import gateway

        section = doc["gateway"]
        m = section["machine"]
        lines += [*([""] if lines else []), *gateway.markdown(section)]
        lines += [
            "",
            f"{m['cpu']}, {m['usable_cores']} cores, {m['python']}; load average {m['loadavg'][0]:.2f} at the start, "
            f"{section['loadavg_end'][0]:.2f} at the end; {m['date']}",
        ]
    return "\n".join(lines) + "\n"


def _core_markdown(doc: dict[str, Any]) -> list[str]:
    m = doc["machine"]
    lines = [
        f"# Rate limits: {doc['rows'][0]['creates']:,} creates, R = {doc['rate']:g}/s, latency {doc['latency']:g} s",
        "",
        f"{m['cpu']}, {m['usable_cores']} cores, {m['python']}; load average {m['loadavg'][0]:.2f} at the start, "
        f"{doc['loadavg_end'][0]:.2f} at the end; {m['date']}",
        "",
        "| run | goodput/s | x R | requests | 429s | 429 share | ok | errors | lost | concurrency mean / max | s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: |",
    ]
    for r in doc["rows"]:
        errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "-"
        conc = f"{r['concurrency_mean']:.1f} / {r['concurrency_max']}" if "workers" not in r else f"64 x {r['workers']}"
        lines.append(
            f"| {r['scenario']} | {r['goodput']:.1f} | {r['goodput_vs_rate']:.2f} | {r['requests']:,} | "
            f"{r['refused_429']:,} | {100 * r['share_429']:.1f} % | {r['ok']:,} | {errors} | {r['lost']} | {conc} | "
            f"{r['seconds']:.1f} |"
        )
    lines += ["", "Goals (goodput >= 0.9 R, 429s <= 5 % of requests, 0 lost):", ""]
    lines += [f"- {g['scenario']}: {'met' if g['met'] else 'MISSED'} ({g['line']})" for g in doc["goals"]]
    if "libraries" in doc:
        lines += [
            "",
            "| library | solo µs / admission | solo round trips / admission | 4 processes: rate | most in 100 ms "
            "(allowed) | round trips / admission |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in doc["libraries"]:
            lines.append(
                f"| {r['library']} | {r['solo_us_per_admission']:.0f} | {r['solo_round_trips_per_admission']:.1f} | "
                f"{r['achieved_rate']:.1f} | {r['most_in_100ms']} ({r['allowed_in_100ms']:g}) | "
                f"{r['round_trips_per_admission']:.2f} |"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        serve = argparse.ArgumentParser()
        serve.add_argument("--rate", type=float)
        serve.add_argument("--latency", type=float)
        a = serve.parse_args(argv[1:])
        asyncio.run(_serve(a.rate, a.latency))
        return 0
    if argv[:1] == ["gateway-serve"]:
        from benchmarks import gateway

        asyncio.run(gateway.serve(float(argv[2])))
        return 0
    if argv[:1] == ["work"]:
        url, start, n, rate, redis_url, concurrency = argv[1:7]
        asyncio.run(
            _work(url, int(start), int(n), float(rate), "" if redis_url == "-" else redis_url, int(concurrency))
        )
        return 0
    if argv[:1] == ["pace"]:
        library, redis_url, rate, n, key = argv[1:6]
        asyncio.run(_pace(library, redis_url, float(rate), int(n), key))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ratelimit", description=__doc__)
    parser.add_argument("--creates", type=int, default=10_000, help="creates per run (default 10,000)")
    parser.add_argument("--rate", type=float, default=200.0, help="the server's limit R, requests/s (default 200)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the server takes to serve (default 0.1)")
    parser.add_argument("--workers", type=int, default=4, help="worker processes of the shared-limit runs")
    parser.add_argument("--libraries", action="store_true", help="also measure pyrate-limiter and limits on Redis")
    parser.add_argument("--library-acquires", type=int, default=500, help="admissions per process (--libraries)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output directory")
    parser.add_argument(
        "--only",
        choices=["core", "gateway"],
        help="run this section alone (core: every scenario but the gateway's); the other is kept from the last results",
    )
    parser.add_argument("--gateway-items", type=int, default=6000, help="gets or creates per gateway run")
    parser.add_argument("--gateway-repeats", type=int, default=3, help="runs of each gateway cell")
    parser.add_argument(
        "--gateway-latencies",
        type=lambda text: [float(x) for x in text.split(",")],
        default=[0.1, 0.005],
        help="the gateway server's latencies, seconds, comma-separated (default 0.1,0.005)",
    )
    parser.add_argument(
        "--gateway-bursts",
        type=lambda text: [int(x) for x in text.split(",")],
        default=None,
        help="the gateway's bucket sizes, comma-separated (default: R and 10)",
    )
    args = parser.parse_args(argv)
    previous = args.out / "ratelimit.json"
    args.previous = json.loads(previous.read_text()) if args.only and previous.exists() else None
    doc = asyncio.run(run(args, lambda line: print(line, file=sys.stderr, flush=True)))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ratelimit.json").write_text(json.dumps(doc, indent=2) + "\n")
    table = markdown(doc)
    (args.out / "ratelimit.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
