"""Before/after of two result files: `python -m benchmarks.compare BEFORE.json AFTER.json`.

Prints a markdown table of the pure-Python `sessionkit` client's ratios in each cell (req/s, p99 and
CPU per request against raw aiohttp; CPU per request against the hand-written typed client) and of
its decode speedup over orq-ai-sdk, so a change to the hot path is reported with numbers from both
runs. A figure one file lacks (an older run had no hand-written typed client) shows as a dash.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .report import DASH, FLOOR, HAND, SK, decode_speedup, ratio

# (label, reference client, metric) of each row of a cell.
_ROWS = (
    ("req/s vs raw aiohttp", FLOOR, "rps"),
    ("p99 vs raw aiohttp", FLOOR, "p99"),
    ("CPU/req vs raw aiohttp", FLOOR, "cpu"),
    ("CPU/req vs hand-written typed", HAND, "cpu"),
)


def _figure(value: float) -> str:
    return DASH if value != value else f"{value:,.2f}x"


def _row(label: str, before: float, after: float) -> str:
    missing = before != before or after != after
    change = DASH if missing or not before else f"{(after / before - 1) * 100:+.0f} %"
    return f"| {label} | {_figure(before)} | {_figure(after)} | {change} |"


def _cells(doc: dict[str, Any]) -> list[tuple[str, int]]:
    return list(dict.fromkeys((c["scenario"], c["concurrency"]) for c in doc["cells"] if c["client"] == SK))


def compare(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The markdown before/after table of two result documents."""
    lines = ["| figure | before | after | change |", "| --- | ---: | ---: | ---: |"]
    cells_before = set(_cells(before))
    for scenario, conc in sorted(k for k in _cells(after) if k in cells_before):
        for label, other, metric in _ROWS:
            b = ratio(before["cells"], scenario, conc, SK, other, metric)
            a = ratio(after["cells"], scenario, conc, SK, other, metric)
            if b == b or a == a:  # a row neither file has is left out
                lines.append(_row(f"{scenario} c={conc}: {label}", b, a))
    lines.append(
        _row(
            "decode of 50 sessions: x faster than orq-ai-sdk",
            decode_speedup(before, SK),
            decode_speedup(after, SK),
        )
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    print(compare(json.loads(args.before.read_text()), json.loads(args.after.read_text())), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
