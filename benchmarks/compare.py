"""Before/after of two result files: `python -m benchmarks.compare BEFORE.json AFTER.json`.

Prints a markdown table of sessionkit's own figures and its ratios to raw aiohttp in each cell, and
the decode times, so a change to the hot path is reported with numbers from both runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

_OURS, _FLOOR = "sessionkit", "raw aiohttp"


def _cells(doc: dict[str, Any]) -> dict[tuple[str, int, str], dict[str, Any]]:
    return {(c["scenario"], c["concurrency"], c["client"]): c for c in doc["cells"]}


def _row(label: str, before: float, after: float, unit: str = "") -> str:
    change = (after / before - 1) * 100 if before else float("nan")
    return f"| {label} | {before:,.2f}{unit} | {after:,.2f}{unit} | {change:+.0f} % |"


def compare(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The markdown before/after table of two result documents."""
    b, a = _cells(before), _cells(after)
    lines = ["| figure | before | after | change |", "| --- | ---: | ---: | ---: |"]
    for scenario, conc, client in sorted(k for k in a if k[2] == _OURS and k in b):
        ours_b, ours_a = b[(scenario, conc, client)], a[(scenario, conc, client)]
        floor_b, floor_a = b[(scenario, conc, _FLOOR)], a[(scenario, conc, _FLOOR)]
        cell = f"{scenario} c={conc}"
        lines.append(_row(f"{cell}: CPU µs/req", ours_b["cpu_us_per_request"], ours_a["cpu_us_per_request"]))
        lines.append(
            _row(
                f"{cell}: CPU/req vs raw aiohttp",
                ours_b["cpu_us_per_request"] / floor_b["cpu_us_per_request"],
                ours_a["cpu_us_per_request"] / floor_a["cpu_us_per_request"],
                "x",
            )
        )
        lines.append(
            _row(f"{cell}: req/s vs raw aiohttp", ours_b["rps"] / floor_b["rps"], ours_a["rps"] / floor_a["rps"], "x")
        )
    for name in (_OURS, "orq-ai-sdk"):
        lines.append(
            _row(
                f"decode of 50 sessions, {name}: µs",
                before["decode"][name]["median_us"],
                after["decode"][name]["median_us"],
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
