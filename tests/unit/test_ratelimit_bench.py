"""`benchmarks/ratelimit.py` end to end on a few creates: every row and figure there, nothing lost.

No timing is asserted: the benchmark measures, this checks that its machinery works.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks import ratelimit


async def test_the_rate_limit_benchmark_runs_every_scenario(tmp_path: Path) -> None:
    args = argparse.Namespace(
        creates=40, rate=100.0, latency=0.01, workers=2, libraries=True, library_acquires=5, out=tmp_path
    )
    doc = await ratelimit.run(args, log=lambda line: None)
    rows = {row["scenario"]: row for row in doc["rows"]}
    assert set(rows) == {
        "adaptive 1..256",
        "fixed 256",
        "adaptive 1..256, 5 retries",
        "2 processes, shared Redis limiter",
        "2 processes, local limiters",
    }
    for row in rows.values():
        assert row["results"] == row["creates"] == 40
        assert row["lost"] == 0
        assert row["requests"] >= row["ok"]
    assert {lib["library"] for lib in doc["libraries"]} == {"pyrate-limiter", "limits"}
    assert all(lib["admissions"] == 10 for lib in doc["libraries"])
    assert [goal["scenario"] for goal in doc["goals"]] == ["adaptive 1..256", "2 processes, shared Redis limiter"]
    table = ratelimit.markdown(doc)
    assert "Goals" in table
    assert "pyrate-limiter" in table
