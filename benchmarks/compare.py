"""Before/after of result files: `python -m benchmarks.compare BEFORE.json AFTER.json [AFTER2.json ...]`.

Prints a markdown table of the pure-Python `sessionkit` client's ratios in each cell (req/s, p99 and
CPU per request against raw aiohttp; CPU per request against the hand-written typed client) and of
its decode speedup over orq-ai-sdk, so a change to the hot path is reported with numbers from both
runs. A figure one file lacks (an older run had no hand-written typed client) shows as a dash.
With several AFTER files (repeated runs of the same code) each gets a column, and the change is
that of their median.
"""

from __future__ import annotations

import argparse
import json
import statistics
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


def _row(label: str, before: float, afters: list[float]) -> str:
    present = [a for a in afters if a == a]
    after = statistics.median(present) if present else float("nan")
    missing = before != before or after != after
    change = DASH if missing or not before else f"{(after / before - 1) * 100:+.0f} %"
    return f"| {label} | {_figure(before)} | " + " | ".join(_figure(a) for a in afters) + f" | {change} |"


def _cells(doc: dict[str, Any]) -> list[tuple[str, int]]:
    return list(dict.fromkeys((c["scenario"], c["concurrency"]) for c in doc["cells"] if c["client"] == SK))


def compare(before: dict[str, Any], *afters: dict[str, Any]) -> str:
    """The markdown before/after table of result documents (one `before`, one or more after)."""
    heads = ["after"] if len(afters) == 1 else [f"after {i}" for i in range(1, len(afters) + 1)]
    lines = [
        "| figure | before | " + " | ".join(heads) + " | change |",
        "| --- | ---: | " + " | ".join("---:" for _ in heads) + " | ---: |",
    ]
    cells_before = set(_cells(before))
    for scenario, conc in sorted(k for k in _cells(afters[0]) if k in cells_before):
        for label, other, metric in _ROWS:
            b = ratio(before["cells"], scenario, conc, SK, other, metric)
            values = [ratio(a["cells"], scenario, conc, SK, other, metric) for a in afters]
            if b == b or any(v == v for v in values):  # a row no file has is left out
                lines.append(_row(f"{scenario} c={conc}: {label}", b, values))
    lines.append(
        _row(
            "decode of 50 sessions: x faster than orq-ai-sdk",
            decode_speedup(before, SK),
            [decode_speedup(a, SK) for a in afters],
        )
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path, nargs="+")
    args = parser.parse_args(argv)
    afters = [json.loads(path.read_text()) for path in args.after]
    print(compare(json.loads(args.before.read_text()), *afters), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
