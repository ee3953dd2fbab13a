"""`python -m benchmarks [--quick] [--requests N]`: run everything, write results/latest.{json,md}."""

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


def write(doc: dict[str, Any], out: Path) -> str:
    """Write latest.json and latest.md into `out`; returns the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(doc, indent=2) + "\n")
    table = report.markdown(doc)
    (out / "latest.md").write_text(table)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="far fewer requests (under a minute)")
    parser.add_argument("--requests", type=int, help="timed requests per client per cell")
    parser.add_argument("--memory-requests", type=int, help="requests of the RSS measurement")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output directory")
    args = parser.parse_args(argv)

    cfg = QUICK if args.quick else FULL
    if args.requests:
        cfg = attrs.evolve(cfg, requests=args.requests)
    if args.memory_requests:
        cfg = attrs.evolve(cfg, memory_requests=args.memory_requests)

    doc = build(cfg, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(write(doc, args.out))
    print(f"wrote {args.out / 'latest.json'} and latest.md in {doc['seconds']:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
