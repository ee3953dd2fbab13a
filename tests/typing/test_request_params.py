"""pyright flags each mistake in `request_mistakes.py` once its ignore comment is gone."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
IGNORE = re.compile(r"  # pyright: ignore\[[^\]]*\]")


def test_pyright_reports_every_marked_mistake_and_nothing_else(tmp_path: Path) -> None:
    pyright = shutil.which("pyright", path=str(Path(sys.executable).parent)) or shutil.which("pyright")
    if pyright is None:
        pytest.fail("pyright is a dev dependency: install the dev extra")
    source = (HERE / "request_mistakes.py").read_text(encoding="utf-8")
    expected = {n for n, line in enumerate(source.splitlines(), 1) if "# pyright: ignore" in line}
    assert len(expected) >= 13
    stripped = tmp_path / "request_mistakes.py"
    stripped.write_text(IGNORE.sub("", source), encoding="utf-8")
    done = subprocess.run(
        [pyright, "--outputjson", "--pythonpath", sys.executable, str(stripped)],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(done.stdout)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    flagged = {d["range"]["start"]["line"] + 1 for d in errors}
    assert flagged == expected, [(d["range"]["start"]["line"] + 1, d["message"][:120]) for d in errors]
