"""The benchmark machinery end to end on a handful of requests: every cell present, every answer right.

No timing is asserted: a benchmark measures, a test checks behaviour.
"""

from __future__ import annotations

import copy
import itertools
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from benchmarks import clients, payloads
from benchmarks.__main__ import build, main, write
from benchmarks.clients import CLIENTS, SCENARIOS
from benchmarks.compare import compare
from benchmarks.decode import decoders
from benchmarks.report import DASH, HAND, SK, SK_ORJSON
from benchmarks.runner import Config
from benchmarks.server import route
from benchmarks.summary import summary

SMOKE = Config(
    mode="smoke",
    requests=6,
    slow_requests=4,
    rounds=2,
    warmup=2,
    concurrencies=(1, 3),
    decode_seconds=0.001,
    decode_repeats=1,
    import_repeats=1,
    memory_requests=30,
    memory_warmup=5,
)
NAMES = [cls.name for cls in CLIENTS]
ORJSON = clients.orjson_available() and clients.json_module() is not None
GOALS = [
    "get.hi.rps",
    "get.lo.rps",
    "get.lo.p99",
    "get.hi.p99",
    "create.hi.rps",
    "create.hi.cpu_hand",
    "list.hi.cpu_hand",
    "list.hi.rps",
    "list.hi.rps_orjson",
    "decode",
    "decode.orjson",
    "rss",
    "correct",
]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("bench")
    backend = clients.json_backend()
    # In a thread of its own: `build` runs its own event loop and must not touch pytest-asyncio's.
    with ThreadPoolExecutor(1) as pool:
        doc = pool.submit(build, SMOKE).result(timeout=600)
    assert clients.json_backend() == backend  # the load section put the default backend back
    write(doc, out)
    return doc, out


def _old_style(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` as a run from before the hand-written typed and orjson clients would have written it."""
    old = copy.deepcopy(doc)
    old["cells"] = [c for c in old["cells"] if c["client"] not in (HAND, SK_ORJSON)]
    for name in (HAND, SK_ORJSON, "orjson.loads only"):
        old["decode"].pop(name, None)
    return old


def test_the_new_clients_are_in_the_run() -> None:
    assert NAMES[:4] == ["server ceiling", "raw aiohttp", HAND, SK]
    assert (SK_ORJSON in NAMES) == ORJSON
    assert {"raw httpx", "orq-ai-sdk"} <= set(NAMES)
    assert {cls.name for cls in CLIENTS if cls.slow} == {"raw httpx", "orq-ai-sdk"}


def test_every_cell_is_present_and_every_client_answered_correctly(results: tuple[dict[str, Any], Path]) -> None:
    doc, _ = results
    cells = {(c["scenario"], c["concurrency"], c["client"]): c for c in doc["cells"]}
    expected = set(itertools.product(SCENARIOS, SMOKE.concurrencies, NAMES))
    assert set(cells) == expected
    slow = {cls.name for cls in CLIENTS if cls.slow}
    for key, cell in cells.items():
        assert cell["requests"] == (SMOKE.slow_requests if key[2] in slow else SMOKE.requests), key
        assert cell["wrong"] == 0, (key, cell["first_error"])
        assert cell["rps"] > 0, key


def test_every_aiohttp_client_sends_the_headers_sessionkit_sends() -> None:
    headers = clients.sessionkit_headers()
    assert headers["Accept"] == "application/json"
    assert headers["Authorization"] == f"Bearer {clients.API_KEY}"
    assert headers["User-Agent"].startswith("sessionkit-python/")
    assert clients._post_headers() == {**headers, "Content-Type": "application/json"}  # pyright: ignore[reportPrivateUsage]


def test_the_sessionkit_clients_select_their_json_backend() -> None:
    if clients.json_module() is None:
        pytest.skip("this sessionkit has no switchable JSON backend")
    before = clients.json_backend()
    try:
        clients.Sessionkit().activate()
        assert clients.json_backend() == "json"
        if ORJSON:
            clients.SessionkitOrjson().activate()
            assert clients.json_backend() == "orjson"
    finally:
        clients.use_json_backend(before)


def test_without_sessionkit_json_only_the_pure_client_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # An older sessionkit checkout has no `_json` module: importing it fails.
    monkeypatch.setitem(sys.modules, "sessionkit._json", None)
    assert clients.json_module() is None
    assert not clients.SessionkitOrjson.available()
    assert clients.Sessionkit.available()
    clients.Sessionkit().activate()  # nothing to switch, and no error
    assert clients.json_backend() is None


def test_hand_written_typed_sends_and_reads_what_sessionkit_does() -> None:
    from sessionkit._serde import unstructure
    from sessionkit.orq.sessions import GET_SESSION, LIST_SESSIONS

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    create, listing = clients.create_request(), clients.list_request()
    assert clients.hand_dumps(clients.hand_create_body(create)) == dumps(unstructure(create))
    assert clients.hand_dumps(clients.hand_list_body(listing)) == dumps(unstructure(listing))
    page = json.loads(payloads.PAGE_BYTES)
    assert clients.hand_page(page) == LIST_SESSIONS.structure_fn()(json.loads(payloads.PAGE_BYTES))
    thread = json.loads(payloads.THREAD_BYTES)
    assert clients.hand_thread(thread) == GET_SESSION.structure_fn()(json.loads(payloads.THREAD_BYTES))


def test_json_and_markdown_are_written_with_targets_and_machine(results: tuple[dict[str, Any], Path]) -> None:
    doc, out = results
    written = json.loads((out / "latest.json").read_text())
    assert len(written["cells"]) == len(SCENARIOS) * len(SMOKE.concurrencies) * len(CLIENTS)
    assert written["machine"]["packages"]["orq-ai-sdk"]
    assert written["config"]["slow_requests"] == SMOKE.slow_requests
    assert [t["id"] for t in written["targets"]] == GOALS
    for t in written["targets"]:
        assert t["run"] == (ORJSON or not t["id"].endswith("orjson")), t
    assert all(t["met"] for t in written["targets"] if t["unit"] == "wrong")
    table = (out / "latest.md").read_text()
    for name in NAMES:
        assert f"| {name} |" in table
    assert "met" in table
    # The ratio table has a row per cell for each sessionkit client and the hand-written typed one.
    ratio_rows = {(r["scenario"], r["concurrency"], r["client"]) for r in doc["ratios"]}
    subjects = [n for n in (SK, SK_ORJSON, HAND) if n in NAMES]
    assert ratio_rows == set(itertools.product(SCENARIOS, SMOKE.concurrencies, subjects))
    assert all(f"cpu_vs_{HAND}" in r for r in doc["ratios"] if r["client"] != HAND)
    for scenario, concurrency, client in ratio_rows:
        assert f"| {scenario} | {concurrency} | {client} | " in table


def test_write_takes_a_run_name(results: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    doc, _ = results
    write(doc, tmp_path, "full-1")
    assert json.loads((tmp_path / "full-1.json").read_text())["cells"] == json.loads(json.dumps(doc["cells"]))
    assert (tmp_path / "full-1.md").read_text().startswith("# sessionkit benchmarks")
    with pytest.raises(SystemExit):
        main(["--name", "../elsewhere"])  # a name, not a path: refused before anything runs


def test_decode_memory_and_import_sections_measured_something(results: tuple[dict[str, Any], Path]) -> None:
    doc, _ = results
    expected = {SK, HAND, "orq-ai-sdk", "pydantic model_validate_json", "json.loads only"}
    if clients.orjson_available():
        expected |= {SK_ORJSON, "orjson.loads only"}
    assert set(doc["decode"]) == expected == set(decoders())
    assert doc["memory"]["correct"] == SMOKE.memory_requests, doc["memory"]
    assert set(doc["imports"]) >= {"sessionkit.orq", "aiohttp", "orq-ai-sdk"}


def test_compare_reports_every_sessionkit_cell_and_the_decode(results: tuple[dict[str, Any], Path]) -> None:
    doc, _ = results
    table = compare(doc, doc)
    for scenario, concurrency in itertools.product(SCENARIOS, SMOKE.concurrencies):
        for label in ("req/s vs raw aiohttp", "p99 vs raw aiohttp", "CPU/req vs raw aiohttp"):
            assert f"| {scenario} c={concurrency}: {label} |" in table
        assert f"| {scenario} c={concurrency}: CPU/req vs hand-written typed |" in table
    assert "| decode of 50 sessions: x faster than orq-ai-sdk |" in table
    rows = [line for line in table.splitlines()[2:] if line]
    assert rows
    assert all(line.endswith("| +0 % |") for line in rows)  # a run against itself changes nothing


def test_compare_takes_repeated_runs_as_columns(results: tuple[dict[str, Any], Path]) -> None:
    doc, _ = results
    table = compare(doc, doc, doc, doc)
    assert table.splitlines()[0] == "| figure | before | after 1 | after 2 | after 3 | change |"
    rows = [line for line in table.splitlines()[2:] if line]
    assert all(line.count("|") == 7 for line in rows)
    assert all(line.endswith("| +0 % |") for line in rows)  # the median of three identical runs


def test_compare_tolerates_an_older_results_file(results: tuple[dict[str, Any], Path]) -> None:
    doc, _ = results
    table = compare(_old_style(doc), doc)
    line = next(row for row in table.splitlines() if "get c=1: CPU/req vs hand-written typed" in row)
    assert line.startswith(f"| get c=1: CPU/req vs hand-written typed | {DASH} | ")
    assert line.endswith(f"| {DASH} |")
    assert "| get c=1: req/s vs raw aiohttp |" in table


def test_summary_has_every_goal_line_and_counts_the_runs(results: tuple[dict[str, Any], Path]) -> None:
    doc, _ = results
    table = summary([("run-1", doc), ("run-2", doc), ("old", _old_style(doc))])
    lines = table.splitlines()
    assert lines[0] == "| goal | run-1 | run-2 | old | met |"
    assert len(lines) == 2 + len(GOALS)
    correct = next(line for line in lines if line.startswith("| every response of every client was correct |"))
    assert correct.endswith("| 3/3 |")
    hand = next(line for line in lines if "CPU/req <= 1.10x hand-written typed" in line)
    assert hand.split(" | ")[-2] == DASH  # the old run has no hand-written typed client
    assert hand.endswith(" not run) |")


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
