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
from collections.abc import Callable, Mapping
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
        """stdout as NDJSON (split at `\n` only, as the CLI writes it)."""
        return [json.loads(line) for line in self.stdout.split("\n") if line.strip()]

    def error(self) -> dict[str, Any]:
        """The JSON error: the last line of stderr."""
        lines = self.stderr.strip().splitlines()
        assert lines, f"no error on stderr (exit {self.code}, stdout {self.stdout!r})"
        value = json.loads(lines[-1])
        assert isinstance(value, dict)
        return value

    def __repr__(self) -> str:
        return f"CliRun(code={self.code}, stdout={self.stdout[:2000]!r}, stderr={self.stderr[-2000:]!r})"


def _command(args: tuple[str, ...], env: Mapping[str, str] | None, python: str) -> tuple[list[str], dict[str, str]]:
    environ = {k: v for k, v in os.environ.items() if k not in SERVICE_ENV}
    environ.update(env or {})
    command = [sys.executable, "-c", python, *args] if python else [sys.executable, "-m", "sessionkit.cli", *args]
    return command, environ


async def sessionkit(
    *args: str, stdin: str | bytes = "", env: Mapping[str, str] | None = None, timeout: float = 60.0, python: str = ""
) -> CliRun:
    """`python -m sessionkit.cli *args` (or `python -c <python>` with `args` as argv), awaited."""
    command, environ = _command(args, env, python)
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environ,
    )
    data = stdin.encode() if isinstance(stdin, str) else stdin
    try:
        out, err = await asyncio.wait_for(proc.communicate(data), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return CliRun(proc.returncode, out.decode(), err.decode(), time.perf_counter() - started)


class LiveCli:
    """A `sessionkit` process still running: its stdout and stderr lines as they come, and signals."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        assert proc.stderr is not None
        self.proc = proc
        self.out: list[str] = []
        self.err: list[str] = []
        self._arrived = asyncio.Event()
        self._started = time.perf_counter()
        self._pumps = [
            asyncio.ensure_future(self._pump(proc.stdout, self.out)),
            asyncio.ensure_future(self._pump(proc.stderr, self.err)),
        ]

    async def _pump(self, stream: asyncio.StreamReader, into: list[str]) -> None:
        try:
            while line := await stream.readline():
                into.append(line.decode())
                self._arrived.set()
        finally:
            self._arrived.set()  # end of output wakes the waiters too

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        """Return once `condition()` holds (checked at each new line); `timeout` only guards against a hang."""

        async def until() -> None:
            while not condition():
                assert not all(p.done() for p in self._pumps), f"the CLI ended first: {self.out} {self.err}"
                self._arrived.clear()
                await self._arrived.wait()

        try:
            await asyncio.wait_for(until(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"still waiting after {timeout}s: {self.out} {self.err}") from None

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    async def finish(self, timeout: float = 60.0) -> CliRun:
        """Wait for the exit; everything it wrote."""
        try:
            await asyncio.wait_for(asyncio.gather(*self._pumps, self.proc.wait()), timeout)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise
        assert self.proc.returncode is not None
        return CliRun(self.proc.returncode, "".join(self.out), "".join(self.err), time.perf_counter() - self._started)


async def start(*args: str, stdin: bytes, env: Mapping[str, str] | None = None) -> LiveCli:
    """Start `python -m sessionkit.cli *args` with all of `stdin` written and closed; do not wait for it."""
    command, environ = _command(args, env, "")
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environ,
    )
    assert proc.stdin is not None
    proc.stdin.write(stdin)
    await proc.stdin.drain()
    proc.stdin.close()
    return LiveCli(proc)
