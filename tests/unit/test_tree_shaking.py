"""Importing one service package must not import any other service (the Python form of tree-shaking)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

import sessionkit

SERVICES = ("jupyter", "orq", "mix", "devin", "log10")
PACKAGE_DIR = Path(sessionkit.__file__).parent
# Never needed by a service client: the fakes, the CLI, and the official SDK used as a test oracle.
NEVER = ("sessionkit.testing", "sessionkit.cli", "sessionkit._cli", "orq_ai_sdk")
PROBE = "import json, sys, sessionkit.{service}; print(json.dumps(sorted(sys.modules)))"


def _under(modules: Iterable[str], packages: Iterable[str]) -> list[str]:
    roots = tuple(packages)
    return sorted(m for m in modules if m in roots or m.startswith(tuple(r + "." for r in roots)))


@pytest.mark.parametrize("service", SERVICES)
def test_importing_a_service_imports_no_other_service(service: str) -> None:
    if not (PACKAGE_DIR / service / "__init__.py").is_file():
        pytest.skip(f"sessionkit.{service} does not exist yet")
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(service=service)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout)
    assert f"sessionkit.{service}" in modules
    assert _under(modules, (f"sessionkit.{s}" for s in SERVICES if s != service)) == []
    assert _under(modules, NEVER) == []
