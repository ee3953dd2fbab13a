"""The goal lines over several runs: `python -m benchmarks.summary A.json B.json C.json`.

Prints one markdown table: each goal line of `report.targets`, its figure in each run (a missed one
in bold), and in how many of the runs it was met. The targets are computed afresh from each file's
cells, so an older results file is judged by the current goal lines; a line whose client or decoder
that file lacks shows a dash and counts as not met.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .report import DASH, target_figure, targets


def summary(runs: list[tuple[str, dict[str, Any]]]) -> str:
    """The markdown table of `(run name, results document)` pairs, in the order given."""
    per_run = [{t["id"]: t for t in targets(doc)} for _, doc in runs]
    ids: dict[str, str] = {}  # id -> the line's name, in goal order, first run's wording
    for lines in per_run:
        for key, t in lines.items():
            ids.setdefault(key, t["target"])
    header = "| goal | " + " | ".join(name for name, _ in runs) + " | met |"
    out = [header, "| --- |" + " ---: |" * len(runs) + " :---: |"]
    for key, name in ids.items():
        figures: list[str] = []
        met = not_run = 0
        for lines in per_run:
            t = lines.get(key)
            if t is None or not t.get("run", True):
                figures.append(DASH)
                not_run += 1
                continue
            met += bool(t["met"])
            figure = target_figure(t)
            figures.append(figure if t["met"] else f"**{figure}**")
        count = f"{met}/{len(runs)}" + (f" ({not_run} not run)" if not_run else "")
        out.append(f"| {name} | " + " | ".join(figures) + f" | {count} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.summary", description=__doc__)
    parser.add_argument("results", type=Path, nargs="+", help="results files (benchmarks/results/NAME.json)")
    args = parser.parse_args(argv)
    runs = [(path.stem, json.loads(path.read_text())) for path in args.results]
    print(summary(runs), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
