"""The kernels benchmark (`benchmarks/kernels.py`) end to end on a handful of executions against the
shared real server: every section runs, every answer is right, the table is written. No timing is
asserted: a benchmark measures, a test checks behaviour."""

from __future__ import annotations

import pytest

from benchmarks import kernels, report
from sessionkit.testing.real_jupyter import RealJupyterServer

pytestmark = pytest.mark.integration


async def test_every_section_runs_and_reads_right(jupyter_server: RealJupyterServer) -> None:
    doc = await kernels.run_all(
        jupyter_server.url,
        jupyter_server.token,
        jupyter_server.connection_file,
        round_trips_n=4,
        rounds=2,
        in_a_row=5,
        kernels=1,
        megabytes=2,
        log=lambda line: None,
    )
    assert doc["round_trip"]["sessionkit"]["n"] == 4
    assert doc["round_trip"]["jupyter_client"]["n"] == 4
    assert (doc["in_a_row"]["connections_made"], doc["in_a_row"]["server_connections"]) == (1, 1)
    assert doc["at_once"]["kernels"] == 1
    assert doc["memory"]["received_bytes"] == 2 * 1024 * 1024
    assert [t["goal"].split(":")[0] for t in doc["targets"]][:2] == ["1+1 round trip, median", "1+1 round trip, p99"]
    doc.update(machine=report.machine(), loadavg_end=[0.0, 0.0, 0.0], seconds=1.0)
    table = kernels.markdown(doc)
    assert "| sessionkit | 4 |" in table
    assert "RSS growth < 32 MB" in table
