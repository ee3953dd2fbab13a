"""Run the real `sessionkit` console script in a subprocess without blocking the test's event loop.

The fakes live on the test's own loop, so the CLI must be awaited (`asyncio.create_subprocess_exec`),
never run with a blocking `subprocess.run`, or the fake could not answer it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Cleared for every run so a developer's own credentials never leak into (or change) a test.
SERVICE_ENV = ("JUPYTER_TOKEN", "ORQ_API_KEY", "DEVIN_API_KEY", "LOG10_TOKEN", "LOG10_ORG_ID", "SESSIONKIT_LOG")


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        """stdout as one JSON document."""
        return json.loads(self.stdout)

    def lines(self) -> list[Any]:
        """stdout as NDJSON."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def error(self) -> dict[str, Any]:
        """The JSON error: the last line of stderr."""
        lines = self.stderr.strip().splitlines()
        assert lines, f"no error on stderr (exit {self.code}, stdout {self.stdout!r})"
        value = json.loads(lines[-1])
        assert isinstance(value, dict)
        return value

    def __repr__(self) -> str:
        return f"CliRun(code={self.code}, stdout={self.stdout[:2000]!r}, stderr={self.stderr[-2000:]!r})"


async def sessionkit(
    *args: str, stdin: str = "", env: Mapping[str, str] | None = None, timeout: float = 60.0, python: str = ""
) -> CliRun:
    """`python -m sessionkit.cli *args` (or `python -c <python>` with `args` as argv), awaited."""
    environ = {k: v for k, v in os.environ.items() if k not in SERVICE_ENV}
    environ.update(env or {})
    command = [sys.executable, "-c", python, *args] if python else [sys.executable, "-m", "sessionkit.cli", *args]
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environ,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return CliRun(proc.returncode, out.decode(), err.decode(), time.perf_counter() - started)
