"""`benchmarks/ratelimit.py` end to end on a few creates: every row and figure there, nothing lost.

No timing is asserted: the benchmark measures, this checks that its machinery works.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks import gateway, ratelimit


async def test_the_rate_limit_benchmark_runs_every_scenario(tmp_path: Path) -> None:
    args = argparse.Namespace(
        creates=40,
        rate=100.0,
        latency=0.01,
        workers=2,
        libraries=True,
        library_acquires=5,
        out=tmp_path,
        gateway_items=20,
        gateway_repeats=1,
        gateway_latencies=[0.01],
        gateway_bursts=[100],
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
    assert [(r["op"], r["results"], r["lost"]) for r in doc["gateway"]["rows"]] == [("get", 20, 0), ("create", 20, 0)]
    table = ratelimit.markdown(doc)
    assert "Goals" in table
    assert "whole-second gateway" in table
    assert "pyrate-limiter" in table


async def test_the_gateway_section_runs_gets_and_creates_per_burst_and_latency_and_loses_nothing() -> None:
    logged: list[str] = []
    section = await gateway.run(100.0, 30, [0.02, 0.005], 2, logged.append, bursts=[100, 5])
    rows = section["rows"]
    assert len(rows) == 2 * 2 * 2 * 2  # bursts x latencies x ops x runs
    assert {(r["burst"], r["latency"], r["op"]) for r in rows} == {
        (b, lat, op) for b in (100, 5) for lat in (0.02, 0.005) for op in ("get", "create")
    }
    for row in rows:
        assert row["results"] == row["items"] == 30
        assert row["ok"] + sum(row["errors"].values()) == 30
        assert row["lost"] == 0  # every Ok is on the server, and the server holds nothing else
        assert row["ok"] <= row["requests"] - row["refused_429"]  # every Ok was a served request
    cells = gateway.spread(rows)
    assert len(cells) == 8
    assert all(c["runs"] == 2 for c in cells)
    lines = gateway.markdown(section)
    assert any(line.startswith("| 5 | 5 ms | create | 2 |") for line in lines)
    assert "Spread per cell" in "\n".join(lines)
    assert len(logged) == 2 * len(rows)  # a line before each run and its figures after


def test_a_lost_create_is_counted() -> None:
    stats = {"served": 3, "refused": 1, "gets": [], "created": ["a", "b", "b"]}
    outcome = {"results": 3, "ok": 2, "ok_ids": ["a", "c"], "errors": {}, "seconds": 1.0}
    row = gateway.figures("create", 3, 100.0, 0.1, outcome, stats)
    # "c" was reported Ok but the server has no such thread, "b" exists (twice) but no Ok said so.
    assert row["lost"] == 3
    assert row["share_429"] == 0.25


def test_only_the_gateway_section_keeps_the_others_from_the_last_results(tmp_path: Path) -> None:
    previous = {"machine": {"cpu": "x"}, "rate": 100.0, "rows": [], "kept": True, "gateway": {"stale": True}}
    (tmp_path / "ratelimit.json").write_text(json.dumps(previous))
    argv = ["--only", "gateway", "--rate", "100", "--gateway-items", "10", "--gateway-repeats", "1"]
    argv += ["--gateway-latencies", "0.005", "--gateway-bursts", "100", "--out", str(tmp_path)]
    assert ratelimit.main(argv) == 0
    doc = json.loads((tmp_path / "ratelimit.json").read_text())
    assert doc["kept"] is True
    assert "stale" not in doc["gateway"]
    assert [r["op"] for r in doc["gateway"]["rows"]] == ["get", "create"]
    assert "whole-second gateway" in (tmp_path / "ratelimit.md").read_text()
