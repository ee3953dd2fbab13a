"""`python -m benchmarks [--quick] [--requests N] [--name NAME]`: run everything, write results/NAME.{json,md}."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from . import report
from .runner import FULL, QUICK, Config, run_all

RESULTS = Path(__file__).parent / "results"


def build(cfg: Config, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run every section and return the results document: machine, cells, ratios, targets."""
    started = time.monotonic()
    doc: dict[str, Any] = {"machine": report.machine()}
    doc.update(run_all(cfg, log=log))
    doc["loadavg_end"] = list(os.getloadavg())
    doc["seconds"] = time.monotonic() - started
    doc["ratios"] = report.ratios(doc["cells"])
    doc["targets"] = report.targets(doc)
    return doc


def write(doc: dict[str, Any], out: Path, name: str = "latest") -> str:
    """Write `name`.json and `name`.md into `out`; returns the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
    table = report.markdown(doc)
    (out / f"{name}.md").write_text(table)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="far fewer requests (under a minute)")
    parser.add_argument(
        "--requests", type=int, help="timed requests per client per cell (the slow clients: at most as many)"
    )
    parser.add_argument("--slow-requests", type=int, help="timed requests per cell of the slow httpx-based clients")
    parser.add_argument("--memory-requests", type=int, help="requests of the RSS measurement")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output directory")
    parser.add_argument(
        "--name", default="latest", help="file name (without suffix) of the results: NAME.json, NAME.md"
    )
    args = parser.parse_args(argv)
    if "/" in args.name or args.name in ("", ".", ".."):
        parser.error(f"--name takes a file name, not a path: {args.name!r}")

    cfg = QUICK if args.quick else FULL
    if args.requests:
        # The slow clients keep their smaller count (never more than N); where the mode gives them
        # as many as the others (quick), they follow N.
        slow = min(cfg.slow_requests, args.requests) if cfg.slow_requests < cfg.requests else args.requests
        cfg = attrs.evolve(cfg, requests=args.requests, slow_requests=slow)
    if args.slow_requests:
        cfg = attrs.evolve(cfg, slow_requests=args.slow_requests)
    if args.memory_requests:
        cfg = attrs.evolve(cfg, memory_requests=args.memory_requests)

    doc = build(cfg, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(write(doc, args.out, args.name))
    print(f"wrote {args.out / args.name}.json and .md in {doc['seconds']:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
