"""Ratios, targets, machine facts, and the markdown table of a results document."""

from __future__ import annotations

import datetime as dt
import os
import platform
from importlib import metadata
from typing import Any

SK, FLOOR, PEER, HTTPX, CEILING = "sessionkit", "raw aiohttp", "orq-ai-sdk", "raw httpx", "server ceiling"
PACKAGES = ("sessionkit", "aiohttp", "httpx", "orq-ai-sdk", "pydantic", "pydantic-core", "cattrs", "attrs", "yarl")


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "packages": versions,
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _find(cells: list[dict[str, Any]], scenario: str, concurrency: int, client: str) -> dict[str, Any]:
    return next(c for c in cells if (c["scenario"], c["concurrency"], c["client"]) == (scenario, concurrency, client))


def _div(a: float, b: float) -> float:
    return a / b if b else float("nan")


def ratios(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """sessionkit against every other client, per scenario and concurrency."""
    out = []
    for scenario, concurrency in dict.fromkeys((c["scenario"], c["concurrency"]) for c in cells):
        sk = _find(cells, scenario, concurrency, SK)
        row: dict[str, Any] = {"scenario": scenario, "concurrency": concurrency}
        for other in (FLOOR, HTTPX, PEER, CEILING):
            o = _find(cells, scenario, concurrency, other)
            row[f"rps_vs_{other}"] = _div(sk["rps"], o["rps"])
            row[f"p99_vs_{other}"] = _div(sk["p99_ms"], o["p99_ms"])
            row[f"cpu_vs_{other}"] = _div(sk["cpu_us_per_request"], o["cpu_us_per_request"])
        out.append(row)
    return out


def targets(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target with its measured figure and whether it was met."""
    cells, out = doc["cells"], []

    def add(name: str, measured: float, met: bool, unit: str = "x") -> None:
        out.append({"target": name, "measured": measured, "unit": unit, "met": bool(met)})

    top = max(c["concurrency"] for c in cells)
    for r in ratios(cells):
        s, c = r["scenario"], r["concurrency"]
        if c == top:
            add(f"{s} c={c}: req/s >= 0.85x raw aiohttp", r[f"rps_vs_{FLOOR}"], r[f"rps_vs_{FLOOR}"] >= 0.85)
            add(f"{s} c={c}: req/s >= 2x orq-ai-sdk", r[f"rps_vs_{PEER}"], r[f"rps_vs_{PEER}"] >= 2.0)
    for r in ratios(cells):
        s, c = r["scenario"], r["concurrency"]
        add(f"{s} c={c}: p99 <= 1.25x raw aiohttp", r[f"p99_vs_{FLOOR}"], r[f"p99_vs_{FLOOR}"] <= 1.25)
    dec = doc["decode"]
    speedup = _div(dec[PEER]["median_us"], dec[SK]["median_us"])
    add("decode of a 50-session page >= 2x faster than orq-ai-sdk", speedup, speedup >= 2.0)
    mem = doc["memory"]
    if "growth_mib" in mem:
        add(
            f"RSS growth over {mem['requests']:,} batch requests <= 10 MiB",
            mem["growth_mib"],
            mem["growth_mib"] <= 10,
            "MiB",
        )
    else:
        add("RSS growth <= 10 MiB", float("nan"), False, f"not measured: {mem.get('error')}")
    wrong = sum(c["wrong"] for c in cells)
    add("every response of every client was correct", wrong, wrong == 0, "wrong")
    return out


def _num(value: float, digits: int = 2) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"


def markdown(doc: dict[str, Any]) -> str:
    m, cfg, cells = doc["machine"], doc["config"], doc["cells"]
    lines = [
        f"# sessionkit benchmarks ({cfg['mode']} run, {m['date']})",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['python']}, {m['platform']}; "
        f"load average at start {_num(m['loadavg'][0]) if m['loadavg'] else 'n/a'}, "
        f"at end {_num(doc['loadavg_end'][0]) if doc.get('loadavg_end') else 'n/a'}.",
        "",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v) + ".",
        "",
        f"{cfg['requests']:,} timed requests per client per cell (in {cfg['rounds']} interleaved rounds, "
        f"after {cfg['warmup']} warm-up requests); server in a separate process on loopback.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "| --- | ---: | :---: |",
    ]
    for t in doc["targets"]:
        digits = 0 if t["unit"] == "wrong" else 2
        lines.append(
            f"| {t['target']} | {_num(t['measured'], digits)} {t['unit']} | {'met' if t['met'] else '**missed**'} |"
        )
    lines += [
        "",
        "## Throughput and latency",
        "",
        "| scenario | concurrency | client | req/s | p50 ms | p99 ms | client CPU µs/req | wrong |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in cells:
        lines.append(
            f"| {c['scenario']} | {c['concurrency']} | {c['client']} | {_num(c['rps'], 0)} | {_num(c['p50_ms'], 3)} "
            f"| {_num(c['p99_ms'], 3)} | {_num(c['cpu_us_per_request'], 0)} | {c['wrong']} |"
        )
    lines += [
        "",
        "## Ratios (sessionkit / other: req/s higher is better, p99 lower is better)",
        "",
        "| scenario | concurrency | req/s vs raw aiohttp | p99 vs raw aiohttp | CPU/req vs raw aiohttp "
        "| req/s vs raw httpx | req/s vs orq-ai-sdk | p99 vs orq-ai-sdk | CPU/req vs orq-ai-sdk | req/s vs server ceiling |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in doc["ratios"]:
        lines.append(
            f"| {r['scenario']} | {r['concurrency']} | {_num(r[f'rps_vs_{FLOOR}'])} | {_num(r[f'p99_vs_{FLOOR}'])} "
            f"| {_num(r[f'cpu_vs_{FLOOR}'])} | {_num(r[f'rps_vs_{HTTPX}'])} | {_num(r[f'rps_vs_{PEER}'])} "
            f"| {_num(r[f'p99_vs_{PEER}'])} | {_num(r[f'cpu_vs_{PEER}'])} "
            f"| {_num(r[f'rps_vs_{CEILING}'])} |"
        )
    lines += ["", "## Decode of one 50-session list page (from bytes)", "", "| decoder | median µs | min µs |"]
    lines.append("| --- | ---: | ---: |")
    for name, d in doc["decode"].items():
        lines.append(f"| {name} | {_num(d['median_us'], 1)} | {_num(d['min_us'], 1)} |")
    lines += ["", "## Import time (fresh interpreter, median)", "", "| import | median ms | runs ms |"]
    lines.append("| --- | ---: | --- |")
    for d in doc["imports"].values():
        lines.append(
            f"| `{d['statement']}` | {_num(d['median_ms'], 1)} | {', '.join(f'{x:.1f}' for x in d['runs_ms'])} |"
        )
    mem = doc["memory"]
    lines += ["", "## Memory", ""]
    if "growth_mib" in mem:
        lines.append(
            f"RSS {mem['rss_before_kib'] / 1024:.1f} MiB -> {mem['rss_after_kib'] / 1024:.1f} MiB "
            f"(growth {mem['growth_mib']:.2f} MiB) over {mem['requests']:,} `sessions_get` calls through "
            f"`sessionkit.batch.batch` at concurrency {mem['concurrency']} (after {mem['warmup']:,} warm-up calls); "
            f"{mem['correct']:,} correct. RSS after each chunk of calls (MiB): "
            + ", ".join(f"{kib / 1024:.1f}" for kib in mem.get("rss_after_each_chunk_kib", []))
            + "."
        )
    else:
        lines.append(f"Not measured: {mem.get('error')}")
    lines += ["", "## Clients", ""]
    lines += [f"- **{name}**: {desc}" for name, desc in doc["clients"].items()]
    return "\n".join(lines) + "\n"
