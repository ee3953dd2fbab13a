"""Import time of each library in a fresh interpreter: median of several runs."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What a caller writes to start using each library.
STATEMENTS = {
    "sessionkit.jupyter": "import sessionkit.jupyter",
    "sessionkit.orq": "import sessionkit.orq",
    "aiohttp": "import aiohttp",
    "httpx": "import httpx",
    "orq-ai-sdk": "from orq_ai_sdk import Orq",
}

_PROBE = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def import_seconds(statement: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(stmt=statement)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(out.stdout.strip().splitlines()[-1])


def measure(repeats: int) -> dict[str, dict[str, float | list[float] | str]]:
    """Median milliseconds per library; runs are interleaved so that load drifts hit all alike."""
    runs: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(repeats):
        for name, stmt in STATEMENTS.items():
            runs[name].append(import_seconds(stmt) * 1000)
    return {
        name: {"statement": STATEMENTS[name], "median_ms": statistics.median(ms), "runs_ms": [round(m, 2) for m in ms]}
        for name, ms in runs.items()
    }
