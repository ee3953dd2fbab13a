"""Ratios, targets, machine facts, and the markdown table of a results document."""

from __future__ import annotations

import datetime as dt
import os
import platform
from importlib import metadata
from typing import Any

SK, SK_ORJSON, HAND = "sessionkit", "sessionkit[orjson]", "hand-written typed"
FLOOR, PEER, HTTPX, CEILING = "raw aiohttp", "orq-ai-sdk", "raw httpx", "server ceiling"
# The clients whose ratios the tables show, and what they are compared with.
SUBJECTS = (SK, SK_ORJSON, HAND)
REFERENCES = (FLOOR, HAND, HTTPX, PEER, CEILING)
PACKAGES = (
    "sessionkit",
    "aiohttp",
    "httpx",
    "orq-ai-sdk",
    "pydantic",
    "pydantic-core",
    "cattrs",
    "attrs",
    "yarl",
    "orjson",
)
_METRICS = (("rps", "rps"), ("p99", "p99_ms"), ("cpu", "cpu_us_per_request"))
NAN = float("nan")
DASH = "\u2013"  # an en dash: what the tables show for a figure a run does not have


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


def find(cells: list[dict[str, Any]], scenario: str, concurrency: int, client: str) -> dict[str, Any] | None:
    """The cell of `client` in one scenario and concurrency, or None when that client did not run."""
    return next(
        (c for c in cells if (c["scenario"], c["concurrency"], c["client"]) == (scenario, concurrency, client)), None
    )


def _div(a: float, b: float) -> float:
    return a / b if b else NAN


def ratio(cells: list[dict[str, Any]], scenario: str, concurrency: int, client: str, other: str, metric: str) -> float:
    """`client`'s figure over `other`'s in one cell (metric: rps, p99 or cpu); NaN when either is absent."""
    key = dict(_METRICS)[metric]
    ours, theirs = find(cells, scenario, concurrency, client), find(cells, scenario, concurrency, other)
    if ours is None or theirs is None:
        return NAN
    return _div(ours[key], theirs[key])


def ratios(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each sessionkit client (and the hand-written typed one) against every other, per cell."""
    out: list[dict[str, Any]] = []
    for scenario, concurrency in dict.fromkeys((c["scenario"], c["concurrency"]) for c in cells):
        for client in SUBJECTS:
            if find(cells, scenario, concurrency, client) is None:
                continue
            row: dict[str, Any] = {"scenario": scenario, "concurrency": concurrency, "client": client}
            for other in REFERENCES:
                if other != client and find(cells, scenario, concurrency, other) is not None:
                    for metric, _ in _METRICS:
                        row[f"{metric}_vs_{other}"] = ratio(cells, scenario, concurrency, client, other, metric)
            out.append(row)
    return out


def decode_speedup(doc: dict[str, Any], decoder: str) -> float:
    """How many times faster `decoder` reads the list page than orq-ai-sdk; NaN when either is absent."""
    dec = doc.get("decode", {})
    if decoder not in dec or PEER not in dec:
        return NAN
    return _div(dec[PEER]["median_us"], dec[decoder]["median_us"])


def targets(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every goal line with its measured figure and whether it was met.

    Each is `{"id", "target", "measured", "unit", "met", "run"}`; `run` is False when a client or
    decoder the line needs is absent from the document (an older results file, or no orjson), and
    such a line counts as not met. Figures are the `sessionkit` client's (standard-library JSON)
    unless the line names `sessionkit[orjson]`. The concurrencies are the run's lowest and highest (1 and 64).
    """
    cells: list[dict[str, Any]] = doc["cells"]
    out: list[dict[str, Any]] = []
    lo = min(c["concurrency"] for c in cells)
    hi = max(c["concurrency"] for c in cells)

    def add(key: str, name: str, measured: float, met: bool, unit: str = "x") -> None:
        run = measured == measured  # NaN: something the line needs did not run
        out.append(
            {
                "id": key,
                "target": name,
                "measured": measured,
                "unit": unit if run else "not run",
                "met": bool(met) and run,
                "run": run,
            }
        )

    def at_least(key: str, name: str, measured: float, bound: float) -> None:
        add(key, name, measured, measured >= bound)

    def at_most(key: str, name: str, measured: float, bound: float) -> None:
        add(key, name, measured, measured <= bound)

    at_least("get.hi.rps", f"get c={hi}: req/s >= 0.95x raw aiohttp", ratio(cells, "get", hi, SK, FLOOR, "rps"), 0.95)
    at_least("get.lo.rps", f"get c={lo}: req/s >= 0.90x raw aiohttp", ratio(cells, "get", lo, SK, FLOOR, "rps"), 0.90)
    at_most("get.lo.p99", f"get c={lo}: p99 <= 1.10x raw aiohttp", ratio(cells, "get", lo, SK, FLOOR, "p99"), 1.10)
    at_most("get.hi.p99", f"get c={hi}: p99 <= 1.10x raw aiohttp", ratio(cells, "get", hi, SK, FLOOR, "p99"), 1.10)
    at_least(
        "create.hi.rps",
        f"create c={hi}: req/s >= 0.85x raw aiohttp",
        ratio(cells, "create", hi, SK, FLOOR, "rps"),
        0.85,
    )
    at_most(
        "create.hi.cpu_hand",
        f"create c={hi}: CPU/req <= 1.10x hand-written typed",
        ratio(cells, "create", hi, SK, HAND, "cpu"),
        1.10,
    )
    at_most(
        "list.hi.cpu_hand",
        f"list c={hi}: CPU/req <= 1.15x hand-written typed",
        ratio(cells, "list", hi, SK, HAND, "cpu"),
        1.15,
    )
    at_least(
        "list.hi.rps", f"list c={hi}: req/s >= 0.62x raw aiohttp", ratio(cells, "list", hi, SK, FLOOR, "rps"), 0.62
    )
    at_least(
        "list.hi.rps_orjson",
        f"list c={hi}: req/s >= 0.75x raw aiohttp ({SK_ORJSON})",
        ratio(cells, "list", hi, SK_ORJSON, FLOOR, "rps"),
        0.75,
    )
    at_least("decode", "decode of a 50-session page >= 1.6x faster than orq-ai-sdk", decode_speedup(doc, SK), 1.6)
    at_least(
        "decode.orjson",
        f"decode of a 50-session page >= 2x faster than orq-ai-sdk ({SK_ORJSON})",
        decode_speedup(doc, SK_ORJSON),
        2.0,
    )
    mem = doc.get("memory", {})
    if "growth_mib" in mem:
        add(
            "rss",
            f"RSS growth over {mem['requests']:,} batch requests <= 10 MiB",
            mem["growth_mib"],
            mem["growth_mib"] <= 10,
            "MiB",
        )
    else:  # a measurement that failed is a miss, not a line that did not apply
        out.append(
            {
                "id": "rss",
                "target": "RSS growth <= 10 MiB",
                "measured": NAN,
                "unit": f"not measured: {mem.get('error')}",
                "met": False,
                "run": True,
            }
        )
    wrong = sum(c["wrong"] for c in cells)
    add("correct", "every response of every client was correct", wrong, wrong == 0, "wrong")
    return out


def target_figure(t: dict[str, Any]) -> str:
    """A target's measured figure as the tables show it ("0.93x", "0.80 MiB", "0 wrong", or a dash)."""
    if not t.get("run", True):
        return DASH
    if t["unit"] == "wrong":
        return f"{_num(t['measured'], 0)} wrong"
    if t["unit"] == "x":
        return f"{_num(t['measured'])}x"
    return f"{_num(t['measured'])} {t['unit']}"


def target_status(t: dict[str, Any]) -> str:
    if not t.get("run", True):
        return "not run"
    return "met" if t["met"] else "**missed**"


def _num(value: float, digits: int = 2) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"


def markdown(doc: dict[str, Any]) -> str:
    m, cfg, cells = doc["machine"], doc["config"], doc["cells"]
    slow: list[str] = doc.get("slow_clients", [])
    lines = [
        f"# sessionkit benchmarks ({cfg['mode']} run, {m['date']})",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['python']}, {m['platform']}; "
        f"load average at start {_num(m['loadavg'][0]) if m['loadavg'] else 'n/a'}, "
        f"at end {_num(doc['loadavg_end'][0]) if doc.get('loadavg_end') else 'n/a'}.",
        "",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v) + ".",
        "",
        f"{cfg['requests']:,} timed requests per client per cell"
        + (
            f" ({cfg['slow_requests']:,} for the slow httpx-based clients: {', '.join(slow)})"
            if slow and cfg.get("slow_requests", cfg["requests"]) != cfg["requests"]
            else ""
        )
        + (f", in {cfg['rounds']} interleaved rounds" if cfg["rounds"] > 1 else ", in one round")
        + f", after {cfg['warmup']} warm-up requests; "
        "server in a separate process on loopback.",
        "",
        "## Targets",
        "",
        f"Figures are the `{SK}` client's (standard-library JSON) unless a line names `{SK_ORJSON}`.",
        "",
        "| target | measured | met |",
        "| --- | ---: | :---: |",
    ]
    for t in doc["targets"]:
        lines.append(f"| {t['target']} | {target_figure(t)} | {target_status(t)} |")
    lines += [
        "",
        "## Throughput and latency",
        "",
        "| scenario | concurrency | client | req/s | p50 ms | p99 ms | client CPU µs/req | requests | wrong |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in cells:
        lines.append(
            f"| {c['scenario']} | {c['concurrency']} | {c['client']} | {_num(c['rps'], 0)} | {_num(c['p50_ms'], 3)} "
            f"| {_num(c['p99_ms'], 3)} | {_num(c['cpu_us_per_request'], 0)} | {c['requests']:,} | {c['wrong']} |"
        )
    columns = (
        ("req/s vs raw aiohttp", f"rps_vs_{FLOOR}"),
        ("p99 vs raw aiohttp", f"p99_vs_{FLOOR}"),
        ("CPU/req vs raw aiohttp", f"cpu_vs_{FLOOR}"),
        ("CPU/req vs hand-written typed", f"cpu_vs_{HAND}"),
        ("req/s vs hand-written typed", f"rps_vs_{HAND}"),
        ("req/s vs orq-ai-sdk", f"rps_vs_{PEER}"),
        ("CPU/req vs orq-ai-sdk", f"cpu_vs_{PEER}"),
        ("req/s vs server ceiling", f"rps_vs_{CEILING}"),
    )
    lines += [
        "",
        "## Ratios (client / other, per cell: req/s higher is better, p99 and CPU lower is better)",
        "",
        "| scenario | concurrency | client | " + " | ".join(title for title, _ in columns) + " |",
        "| --- | ---: | --- |" + " ---: |" * len(columns),
    ]
    for r in doc["ratios"]:
        figures = " | ".join(DASH if key not in r else _num(r[key]) for _, key in columns)
        lines.append(f"| {r['scenario']} | {r['concurrency']} | {r.get('client', SK)} | {figures} |")
    lines += [
        "",
        "## Decode of one 50-session list page (from bytes)",
        "",
        "| decoder | median µs | min µs | x faster than orq-ai-sdk |",
    ]
    lines.append("| --- | ---: | ---: | ---: |")
    for name, d in doc["decode"].items():
        lines.append(
            f"| {name} | {_num(d['median_us'], 1)} | {_num(d['min_us'], 1)} | {_num(decode_speedup(doc, name))} |"
        )
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
