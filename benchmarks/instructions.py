"""`python -m benchmarks.instructions`: instructions per request of each client, counted by callgrind.

Wall-clock ratios swing on a shared 2-core machine; instruction counts do not. The server runs in
its own process (not counted); each client runs in a child process under
`valgrind --tool=callgrind`, once with `--low` and once with `--high` sequential requests after the
same warm-up, and the difference divided by `high - low` is its cost per request: start-up, imports
and the warm-up cancel out.

    python -m benchmarks.instructions                       # get, create, list; every client below
    python -m benchmarks.instructions --scenarios get --clients "raw aiohttp" sessionkit
    python -m benchmarks.instructions --json out.json       # also write the numbers

Clients: raw aiohttp, hand-written typed, sessionkit (standard-library json), sessionkit[orjson].
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .clients import CLIENTS, SCENARIOS
from .runner import ROOT, server_process

DEFAULT_CLIENTS = ("raw aiohttp", "hand-written typed", "sessionkit", "sessionkit[orjson]")
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


async def _child(url: str, client_name: str, scenario: str, warmup: int, requests: int) -> None:
    from .load import drive

    client = next(cls for cls in CLIENTS if cls.name == client_name)()
    await client.open(url)
    try:
        client.activate()
        call = client.call(scenario)
        await drive(call, warmup, 1)
        sample = await drive(call, requests, 1)
        if sample.wrong:
            raise SystemExit(f"{client_name} {scenario}: {sample.wrong} wrong answers ({sample.first_error})")
    finally:
        await client.close()


def _count(url: str, client: str, scenario: str, warmup: int, requests: int) -> int:
    """Instructions of one child process: start-up, `warmup` requests, then `requests` more."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "benchmarks.instructions",
            "child",
            url,
            client,
            scenario,
            str(warmup),
            str(requests),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, check=False)
        found = _COLLECTED.findall(proc.stderr)
        if proc.returncode != 0 or not found:
            raise RuntimeError(f"callgrind run failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return int(found[-1])


def measure(url: str, client: str, scenario: str, low: int, high: int, warmup: int) -> float:
    """Instructions per request: (count at `high` - count at `low`) / (high - low)."""
    return (_count(url, client, scenario, warmup, high) - _count(url, client, scenario, warmup, low)) / (high - low)


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one row per scenario, one column per client, and each client's ratio to raw aiohttp."""
    clients = list(dict.fromkeys(r["client"] for r in rows))
    lines = [
        "| scenario | " + " | ".join(clients) + " |",
        "| --- | " + " | ".join("---:" for _ in clients) + " |",
    ]
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        cells = {r["client"]: r["per_request"] for r in rows if r["scenario"] == scenario}
        base = cells.get("raw aiohttp")
        shown = []
        for c in clients:
            value = cells.get(c)
            if value is None:
                shown.append("-")
            elif base and c != "raw aiohttp":
                shown.append(f"{value:,.0f} ({value / base:.3f}x)")
            else:
                shown.append(f"{value:,.0f}")
        lines.append(f"| {scenario} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        url, client, scenario, warmup, requests = sys.argv[2:7]
        asyncio.run(_child(url, client, scenario, int(warmup), int(requests)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument("--clients", nargs="+", default=list(DEFAULT_CLIENTS))
    parser.add_argument("--low", type=int, default=100)
    parser.add_argument("--high", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this file")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    rows: list[dict[str, Any]] = []
    with server_process() as url:
        for scenario in args.scenarios:
            for client in args.clients:
                per_request = measure(url, client, scenario, args.low, args.high, args.warmup)
                rows.append({"scenario": scenario, "client": client, "per_request": per_request})
                print(f"{scenario:7} {client:20} {per_request:12,.0f} instructions/request", flush=True)
    print()
    print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
