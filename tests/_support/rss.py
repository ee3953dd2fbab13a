"""Measuring a transfer's memory from inside a fresh process (the memory tests run their script in a
subprocess, so nothing else of the suite is in it): the peak resident set of a block of code, and a
large source file with its digest.

`Peak` samples `VmRSS` of /proc/self/status from a thread every 2 ms, and reads `VmHWM` (the kernel's
high-water mark, reset through /proc/self/clear_refs on entry) on exit, which catches what sampling
misses. Client and fake share the process, so both sides of a transfer are measured.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["BLOCK", "Peak", "digest_of", "run_script", "status", "write_source"]

BLOCK = 1 << 20


def status(field: str) -> int:
    """A size field of /proc/self/status (`VmRSS`, `VmHWM`), in bytes."""
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


class Peak:
    """The highest resident set seen while the block ran (`peak`); `hwm` says whether VmHWM was reset."""

    def __init__(self) -> None:
        self.peak, self.hwm, self._running = 0, False, True
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while self._running:
            self.peak = max(self.peak, status("VmRSS"))
            time.sleep(0.002)

    def __enter__(self) -> Peak:
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")
            self.hwm = True
        except OSError:
            self.hwm = False
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._running = False
        self._thread.join()
        if self.hwm:
            self.peak = max(self.peak, status("VmHWM"))


def write_source(path: Path, size: int) -> str:
    """Write `size` bytes of varied data to `path` (one random block, rotated); their sha256."""
    digest = hashlib.sha256()
    block = os.urandom(BLOCK)
    with open(path, "wb") as out:
        for i in range(size // BLOCK):
            chunk = block[i % 7 :] + block[: i % 7]  # not one repeated block, yet cheap
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def digest_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(BLOCK):
            digest.update(chunk)
    return digest.hexdigest()


ROOT = Path(__file__).resolve().parents[2]  # the scripts import tests._support from here


def run_script(script: str, *args: object) -> dict[str, Any]:
    """Run `script` in a fresh interpreter (from the repository's root) and return the JSON object
    its last line prints; the script's stderr is in the assertion when it fails."""
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(result, indent=2))  # the figures, for the report (-s)
    return result
