"""The benchmark machinery end to end on a handful of requests: every cell present, every answer right.

No timing is asserted: a benchmark measures, a test checks behaviour.
"""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from benchmarks import payloads
from benchmarks.__main__ import build, write
from benchmarks.clients import CLIENTS, SCENARIOS
from benchmarks.compare import compare
from benchmarks.runner import Config
from benchmarks.server import route

SMOKE = Config(
    mode="smoke",
    requests=6,
    rounds=2,
    warmup=2,
    concurrencies=(1, 3),
    decode_seconds=0.001,
    decode_repeats=1,
    import_repeats=1,
    memory_requests=30,
    memory_warmup=5,
)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("bench")
    # In a thread of its own: `build` runs its own event loop and must not touch pytest-asyncio's.
    with ThreadPoolExecutor(1) as pool:
        doc = pool.submit(build, SMOKE).result(timeout=600)
    write(doc, out)
    return doc, out


def test_every_cell_is_present_and_every_client_answered_correctly(results: tuple[dict[str, Any], Path]) -> None:
    doc, _ = results
    cells = {(c["scenario"], c["concurrency"], c["client"]): c for c in doc["cells"]}
    expected = set(itertools.product(SCENARIOS, SMOKE.concurrencies, (cls.name for cls in CLIENTS)))
    assert set(cells) == expected
    for key, cell in cells.items():
        assert cell["requests"] == SMOKE.requests, key
        assert cell["wrong"] == 0, (key, cell["first_error"])
        assert cell["rps"] > 0, key


def test_json_and_markdown_are_written_with_targets_and_machine(results: tuple[dict[str, Any], Path]) -> None:
    _, out = results
    written = json.loads((out / "latest.json").read_text())
    assert len(written["cells"]) == len(SCENARIOS) * len(SMOKE.concurrencies) * len(CLIENTS)
    assert written["machine"]["packages"]["orq-ai-sdk"]
    assert {t["target"] for t in written["targets"]} >= {"every response of every client was correct"}
    assert all(t["met"] for t in written["targets"] if t["unit"] == "wrong")
    table = (out / "latest.md").read_text()
    for cls in CLIENTS:
        assert f"| {cls.name} |" in table
    assert "met" in table


def test_decode_memory_and_import_sections_measured_something(results: tuple[dict[str, Any], Path]) -> None:
    doc, _ = results
    assert set(doc["decode"]) >= {"sessionkit", "orq-ai-sdk"}
    assert doc["memory"]["correct"] == SMOKE.memory_requests, doc["memory"]
    assert set(doc["imports"]) >= {"sessionkit.orq", "aiohttp", "orq-ai-sdk"}


def test_compare_reports_every_sessionkit_cell_and_the_decode(results: tuple[dict[str, Any], Path]) -> None:
    doc, _ = results
    table = compare(doc, doc)
    for scenario, concurrency in itertools.product(SCENARIOS, SMOKE.concurrencies):
        assert f"| {scenario} c={concurrency}: CPU µs/req |" in table
    assert "| decode of 50 sessions, sessionkit: µs |" in table
    rows = [line for line in table.splitlines()[2:] if line]
    assert rows
    assert all(line.endswith("| +0 % |") for line in rows)  # a run against itself changes nothing


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        (b"GET", b"/v2/sessions/abc", payloads.THREAD_BYTES),
        (b"POST", b"/v2/sessions/query", payloads.PAGE_BYTES),
        (b"POST", b"/v2/sessions", payloads.THREAD_BYTES),
        (b"POST", b"/v2/sessions?x=1", payloads.THREAD_BYTES),
        (b"DELETE", b"/v2/sessions/abc", b'{"message":"no such route"}'),
    ],
)
def test_server_routes_by_method_and_path(method: bytes, target: bytes, expected: bytes) -> None:
    assert route(method, target).endswith(b"\r\n\r\n" + expected)
