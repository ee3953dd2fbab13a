"""`sessionkit demo`: the whole tour on the embedded defaults. Run alone with `pytest tests/cli -m demo -s`."""

from __future__ import annotations

import importlib.util

import pytest

from sessionkit._cli import demo
from sessionkit._cli.tally import Section
from sessionkit.errors import InternalServerError
from sessionkit.result import Err

from ._run import sessionkit

pytestmark = pytest.mark.demo

DEMO_BUDGET = 20.0  # seconds, on the 2-core CI machine: reported, not asserted (a busy machine is no bug)


async def test_demo_tours_every_service_and_exits_0() -> None:
    run = await sessionkit("demo", timeout=120)
    print(f"\n`sessionkit demo` wall time: {run.seconds:.2f}s (budget {DEMO_BUDGET:.0f}s)\n{run.stdout}")
    assert run.code == 0, run
    report = run.stdout
    for section in ("jupyter", "orq", "retries (503 burst)", "mix", "devin", "log10", "total"):
        assert f"\n{section} " in report, section
    assert "500 sessions created by batch (concurrency 32), results in input order" in report
    assert "120 threads read back over 3 pages of up to 50" in report
    assert "get of a missing session -> Err(NotFoundError), status 404" in report
    assert "503, 503, then 200: Ok after 3 attempts" in report
    assert "forked" in report
    assert report.rstrip().endswith("result: OK")
    # The progress counter went to stderr, the report to stdout.
    assert "jupyter creates: 500/500" in run.stderr
    assert "jupyter creates" not in report


def test_an_unexpected_failure_makes_the_demo_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broken_log10(s: Section, core: object) -> None:
        s.value(Err(InternalServerError("boom", status=500)), "create")

    monkeypatch.setattr(demo, "log10_tour", broken_log10)
    assert demo.run_demo() == 1
    out = capsys.readouterr().out
    assert "result: FAILED (1 problem(s))" in out
    assert "! log10: create: InternalServerError: boom" in out


async def test_demo_jupyter_without_jupyter_server_says_so_and_exits_2() -> None:
    # `sys.modules[name] = None` makes the module unimportable, as if it were not installed.
    script = "import sys; sys.modules['jupyter_server'] = None; from sessionkit.cli import main; sys.exit(main())"
    run = await sessionkit("demo", "--jupyter", python=script)
    assert run.code == 2, run
    assert "cannot start a Jupyter Server" in run.stderr
    assert "pip install jupyter_server" in run.stderr
    assert run.stdout == ""


@pytest.mark.integration
@pytest.mark.skipif(importlib.util.find_spec("jupyter_server") is None, reason="jupyter_server is not installed")
async def test_demo_against_a_real_jupyter_server() -> None:
    run = await sessionkit("demo", "--jupyter", timeout=180)
    print(f"\n`sessionkit demo --jupyter` wall time: {run.seconds:.2f}s\n{run.stdout}")
    assert run.code == 0, run
    assert "jupyter (real)" in run.stdout
    assert run.stdout.rstrip().endswith("result: OK")
