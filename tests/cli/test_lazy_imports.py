"""The CLI imports only the service package a command names."""

from __future__ import annotations

import json

from ._run import sessionkit

SCRIPT = """
import json, sys
from sessionkit.cli import main
code = main()
loaded = sorted({m.split(".")[1] for m in sys.modules if m.startswith("sessionkit.") and m.count(".") >= 1})
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""
SERVICES = {"jupyter", "orq", "mix", "devin", "log10", "testing"}


async def test_a_jupyter_command_imports_no_other_service() -> None:
    run = await sessionkit(
        "jupyter", "sessions", "list", "--server-url", "http://127.0.0.1:9", "--retries", "0", python=SCRIPT
    )
    report = json.loads(run.stderr.strip().splitlines()[-1])
    assert report["code"] == 3, run
    assert set(report["loaded"]) & SERVICES == {"jupyter"}
