"""`python -m benchmarks.kernels`: running code in a real ipykernel, side by side in one run.

    python -m benchmarks.kernels                 # 500 round trips each, 20 kernels, 200 MB of stdout
    python -m benchmarks.kernels --quick         # 50, 4 kernels, 20 MB
    python -m benchmarks.kernels --name kernels-1   # results/kernels-1.{json,md} instead of kernels.*

One real Jupyter Server (`RealJupyterServer`, iopub rate limits lifted) serves every section:

1. Round trip of `1+1` on a warm channel: `kernels_execute` against `jupyter_client`'s
   `BlockingKernelClient.execute_interactive` on the same kernel (ZMQ straight to the kernel, through
   its connection file, each round in a process of its own), in interleaved rounds; median and p99
   of each, and their ratios.
2. 100 executions in a row on one kernel: the WebSocket connections the core made, and the
   connections the server counts for the kernel.
3. Kernels at once: each runs `time.sleep(1)` from one core, all started together; the wall time
   against one alone (kernels that waited for each other would take N seconds).
4. Memory: 200 MB of stdout, flushed every 1 MB, read through `kernels_execute_stream` in a process
   of its own (`python -m benchmarks.kernels memory`); its RSS (`/proc/self/status`) after a warm-up
   execution, and the highest after any output.

Writes benchmarks/results/kernels.{json,md} (or `--name`) and prints the markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import aclosing
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.memory import rss_kib

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent  # where `python -m benchmarks...` finds the package
STREAM_CODE = """
import sys
block = ("x" * 1023 + "\\n") * 1024
for _ in range({megabytes}):
    sys.stdout.write(block)
    sys.stdout.flush()
"""


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _summary(seconds: list[float]) -> dict[str, float]:
    return {
        "n": len(seconds),
        "median_ms": statistics.median(seconds) * 1000,
        "p99_ms": _percentile(seconds, 0.99) * 1000,
        "mean_ms": statistics.fmean(seconds) * 1000,
    }


# -- 1. round trips ------------------------------------------------------------------------------------


def _jupyter_client_round(connection_file: str, count: int) -> list[float]:
    """`count` timed `execute_interactive("1+1")` calls (a fresh client, warmed up first)."""
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=connection_file)
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=30)
        for _ in range(3):
            client.execute_interactive("1+1", output_hook=lambda _message: None, timeout=30)
        times: list[float] = []
        for _ in range(count):
            started = time.perf_counter()
            reply = client.execute_interactive("1+1", output_hook=lambda _message: None, timeout=30)
            times.append(time.perf_counter() - started)
            assert reply["content"]["status"] == "ok"
        return times
    finally:
        client.stop_channels()


async def _jupyter_client_process(connection_file: str, count: int) -> list[float]:
    """A round of `jupyter_client` in a process of its own (its threads and loops stay out of ours)."""
    command = [sys.executable, "-m", "benchmarks.kernels", "jupyter-client", connection_file, str(count)]
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, cwd=ROOT)
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the jupyter_client round failed with exit code {process.returncode}")
    return [float(x) for x in json.loads(out.decode().strip().splitlines()[-1])]


async def round_trips(core: Any, kernel_id: str, connection_file: str, total: int, rounds: int) -> dict[str, Any]:
    from sessionkit.jupyter import kernels_execute

    request = {"kernel_id": kernel_id, "code": "1+1", "store_history": False}
    for _ in range(5):  # the channel opened and warm
        (await kernels_execute(core, request)).unwrap()
    ours: list[float] = []
    theirs: list[float] = []
    per_round = max(1, total // rounds)
    for index in range(rounds):

        async def sessionkit_round() -> None:
            for _ in range(per_round):
                started = time.perf_counter()
                execution = (await kernels_execute(core, request)).unwrap()
                ours.append(time.perf_counter() - started)
                assert execution.result == {"text/plain": "2"}

        if index % 2 == 0:  # who goes first alternates, so a burst of load elsewhere hits both
            await sessionkit_round()
            theirs.extend(await _jupyter_client_process(connection_file, per_round))
        else:
            theirs.extend(await _jupyter_client_process(connection_file, per_round))
            await sessionkit_round()
    mine, other = _summary(ours), _summary(theirs)
    return {
        "sessionkit": mine,
        "jupyter_client": other,
        "median_ratio": mine["median_ms"] / other["median_ms"],
        "p99_ratio": mine["p99_ms"] / other["p99_ms"],
    }


# -- 2. one connection ------------------------------------------------------------------------------------


async def one_connection(server_url: str, token: str, kernel_id: str, count: int) -> dict[str, Any]:
    from sessionkit.jupyter import JupyterCore, kernels_execute, kernels_get

    async with JupyterCore(server_url=server_url, token=token) as core:
        already = (await kernels_get(core, {"kernel_id": kernel_id})).unwrap().connections or 0
        started = time.perf_counter()
        for i in range(count):
            execution = (await kernels_execute(core, {"kernel_id": kernel_id, "code": f"{i}+1"})).unwrap()
            assert execution.result == {"text/plain": str(i + 1)}
        seconds = time.perf_counter() - started
        channels = core.kernel_channels()
        assert not isinstance(channels, str)
        made = channels.connections()
        counted = ((await kernels_get(core, {"kernel_id": kernel_id})).unwrap().connections or 0) - already
    # `server_connections`: how many more the server counts for the kernel than before this core
    return {"executions": count, "seconds": seconds, "connections_made": made, "server_connections": counted}


# -- 3. kernels at once -------------------------------------------------------------------------------------


async def kernels_at_once(core: Any, count: int, sleep: float) -> dict[str, Any]:
    from sessionkit.jupyter import kernels_delete, kernels_execute, kernels_start

    started = await asyncio.gather(*(kernels_start(core) for _ in range(count)))
    kernels = [k.unwrap().id for k in started]
    code = f"import time; time.sleep({sleep})"
    try:
        # Every kernel connected and warm first: what is measured is the executions, not the starts.
        await asyncio.gather(*(kernels_execute(core, {"kernel_id": k, "code": "1", "timeout": 120}) for k in kernels))
        alone_started = time.perf_counter()
        (await kernels_execute(core, {"kernel_id": kernels[0], "code": code, "timeout": 60})).unwrap()
        alone = time.perf_counter() - alone_started

        async def timed(kernel_id: str) -> float:
            begun = time.perf_counter()
            (await kernels_execute(core, {"kernel_id": kernel_id, "code": code, "timeout": 60})).unwrap()
            return time.perf_counter() - begun

        together_started = time.perf_counter()
        each = await asyncio.gather(*(timed(k) for k in kernels))
        together = time.perf_counter() - together_started
    finally:
        await asyncio.gather(*(kernels_delete(core, {"kernel_id": k}) for k in kernels))
    return {
        "kernels": count,
        "sleep_s": sleep,
        "alone_s": alone,
        "together_s": together,
        "slowest_s": max(each),
        "ratio_to_alone": together / alone,
    }


# -- 4. memory, in a process of its own ------------------------------------------------------------------------


async def stream_memory(server_url: str, token: str, kernel_id: str, megabytes: int) -> dict[str, Any]:
    import gc

    from sessionkit.jupyter import JupyterCore, StreamText, kernels_execute, kernels_execute_stream

    async with JupyterCore(server_url=server_url, token=token) as core:
        warm = STREAM_CODE.format(megabytes=2)  # the same code, small: channel, parser and buffers warm
        (await kernels_execute(core, {"kernel_id": kernel_id, "code": warm, "timeout": 60})).unwrap()
        gc.collect()
        before = peak = rss_kib()
        received, messages = 0, 0
        started = time.perf_counter()
        request = {"kernel_id": kernel_id, "code": STREAM_CODE.format(megabytes=megabytes), "timeout": 600}
        async with aclosing(kernels_execute_stream(core, request)) as outputs:
            async for item in outputs:
                output = item.unwrap()
                if isinstance(output, StreamText):
                    received += len(output.text)
                    messages += 1
                    peak = max(peak, rss_kib())
        seconds = time.perf_counter() - started
    return {
        "megabytes": megabytes,
        "received_bytes": received,
        "messages": messages,
        "seconds": seconds,
        "rss_before_kib": before,
        "rss_peak_kib": peak,
        "growth_mib": (peak - before) / 1024,
    }


def _memory_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kernels memory")
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(stream_memory(args.url, args.token, args.kernel, args.megabytes))))
    return 0


def memory_in_process(server_url: str, token: str, kernel_id: str, megabytes: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.kernels", "memory", "--url", server_url, "--token", token]
    command += ["--kernel", kernel_id, "--megabytes", str(megabytes)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT, timeout=900)
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the run ----------------------------------------------------------------------------------------------------


async def run_all(
    server_url: str,
    token: str,
    connection_file: Any,
    *,
    round_trips_n: int,
    rounds: int,
    in_a_row: int,
    kernels: int,
    megabytes: int,
    log: Any = print,
) -> dict[str, Any]:
    """Every section against one server; `connection_file(kernel_id)` finds a kernel's connection file."""
    from sessionkit.jupyter import JupyterCore, kernels_delete, kernels_start

    doc: dict[str, Any] = {}
    async with JupyterCore(server_url=server_url, token=token) as core:
        kernel = (await kernels_start(core)).unwrap().id
        try:
            log(f"round trips of 1+1: {round_trips_n} each, {rounds} rounds")
            doc["round_trip"] = await round_trips(core, kernel, str(connection_file(kernel)), round_trips_n, rounds)
            log(f"{in_a_row} executions in a row")
            doc["in_a_row"] = await one_connection(server_url, token, kernel, in_a_row)
            log(f"{megabytes} MB of stdout through kernels_execute_stream")
            doc["memory"] = await asyncio.to_thread(memory_in_process, server_url, token, kernel, megabytes)
        finally:
            await kernels_delete(core, {"kernel_id": kernel})
        log(f"{kernels} kernels at once")
        doc["at_once"] = await kernels_at_once(core, kernels, 1.0)
    doc["targets"] = targets(doc)
    return doc


def targets(doc: dict[str, Any]) -> list[dict[str, Any]]:
    trip, row, once, memory = doc["round_trip"], doc["in_a_row"], doc["at_once"], doc["memory"]
    return [
        {
            "goal": "1+1 round trip, median: <= 1.2x jupyter_client",
            "figure": f"{trip['median_ratio']:.2f}x",
            "met": trip["median_ratio"] <= 1.2,
        },
        {
            "goal": "1+1 round trip, p99: <= 1.2x jupyter_client",
            "figure": f"{trip['p99_ratio']:.2f}x",
            "met": trip["p99_ratio"] <= 1.2,
        },
        {
            "goal": f"{row['executions']} executions in a row on one kernel open one connection",
            "figure": f"{row['connections_made']} made, {row['server_connections']} more on the server",
            "met": row["connections_made"] == 1 and row["server_connections"] == 1,
        },
        {
            "goal": f"{once['kernels']} kernels at once do not block each other (wall < 2x one alone)",
            "figure": f"{once['together_s']:.2f}s vs {once['alone_s']:.2f}s alone ({once['ratio_to_alone']:.2f}x)",
            "met": once["ratio_to_alone"] < 2.0,
        },
        {
            "goal": f"{memory['megabytes']} MB of stdout through kernels_execute_stream: RSS growth < 32 MB",
            "figure": f"{memory['growth_mib']:.1f} MiB",
            "met": memory["growth_mib"] < 32,
        },
    ]


_SHOWN = ("aiohttp", "jupyter_server", "ipykernel", "jupyter_client", "tornado")


def markdown(doc: dict[str, Any]) -> str:
    machine = doc["machine"]
    trip = doc["round_trip"]
    lines = [
        f"# Kernels: {machine['date']}",
        "",
        f"{machine['cpu']}, {machine['usable_cores']} cores, {machine['python']}; load average "
        f"{' / '.join(f'{x:.2f}' for x in machine['loadavg'] or [])} at the start, "
        f"{' / '.join(f'{x:.2f}' for x in doc['loadavg_end'])} at the end; {doc['seconds']:.0f} s.",
        "",
        ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if k in _SHOWN and v),
        "",
        "| 1+1 on a warm channel | n | median ms | p99 ms | mean ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in ("sessionkit", "jupyter_client"):
        row = trip[name]
        lines.append(f"| {name} | {row['n']} | {row['median_ms']:.2f} | {row['p99_ms']:.2f} | {row['mean_ms']:.2f} |")
    lines.append(f"| ratio | | {trip['median_ratio']:.2f}x | {trip['p99_ratio']:.2f}x | |")
    row, once, memory = doc["in_a_row"], doc["at_once"], doc["memory"]
    lines += [
        "",
        f"{row['executions']} executions in a row: {row['seconds']:.2f} s, {row['connections_made']} connection(s) "
        f"made, {row['server_connections']} more counted by the server.",
        "",
        f"{once['kernels']} kernels running `time.sleep({once['sleep_s']})` at once: {once['together_s']:.2f} s "
        f"(slowest call {once['slowest_s']:.2f} s); one alone {once['alone_s']:.2f} s.",
        "",
        f"{memory['megabytes']} MB of stdout ({memory['messages']} messages, {memory['received_bytes']:,} characters) "
        f"in {memory['seconds']:.1f} s: RSS {memory['rss_before_kib'] / 1024:.1f} MiB after the warm-up, "
        f"{memory['rss_peak_kib'] / 1024:.1f} MiB at the highest (+{memory['growth_mib']:.1f} MiB).",
        "",
        "| goal | figure | met |",
        "| --- | --- | :---: |",
    ]
    lines += [f"| {t['goal']} | {t['figure']} | {'yes' if t['met'] else '**no**'} |" for t in doc["targets"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["memory"]:
        return _memory_main(argv[1:])
    if argv[:1] == ["jupyter-client"]:  # one round of the peer, in its own process
        print(json.dumps(_jupyter_client_round(argv[1], int(argv[2]))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kernels", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50 round trips, 4 kernels, 20 MB")
    parser.add_argument("--name", default="kernels", help="results file name (without suffix)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from sessionkit.testing.real_jupyter import LIFT_IOPUB_LIMITS, RealJupyterServer

    sizes = (
        {"round_trips_n": 50, "rounds": 2, "in_a_row": 100, "kernels": 4, "megabytes": 20}
        if args.quick
        else {"round_trips_n": 500, "rounds": 10, "in_a_row": 100, "kernels": 20, "megabytes": 200}
    )
    started = time.monotonic()
    doc: dict[str, Any] = {"machine": report.machine()}
    for name in ("jupyter_server", "ipykernel", "jupyter_client", "tornado"):
        doc["machine"]["packages"][name] = metadata.version(name)
    with RealJupyterServer(args=LIFT_IOPUB_LIMITS) as server:
        log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
        doc.update(asyncio.run(run_all(server.url, server.token, server.connection_file, log=log, **sizes)))
    doc["loadavg_end"] = list(os.getloadavg())
    doc["seconds"] = time.monotonic() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(doc, indent=2) + "\n")
    table = markdown(doc)
    (args.out / f"{args.name}.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
