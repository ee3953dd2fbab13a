"""Run Prism (`@stoplight/prism-cli`, pinned in tests/package.json) as a mock of an OpenAPI document.

    server = start_prism(spec_path("mix/out.openapi.v0.10.1.yaml"))   # blocks until it listens
    ... MixCore(server_url=server.url) ...
    server.stop()

Prism runs with `--errors`: a request that violates the document is answered with an error status
(a declared 4xx carrying an `sl-violations` header, or Prism's own 4xx problem+json), so
`assert_no_violation(result)` turns any such request into a test failure.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import pytest

from sessionkit import Err, Ok
from sessionkit.errors import APIError

__all__ = [
    "PRISM_BIN",
    "PrismServer",
    "assert_no_violation",
    "prism_error",
    "spec_path",
    "specs_dir",
    "start_prism",
    "violations",
]

REPO = Path(__file__).resolve().parents[2]
PRISM_BIN = REPO / "tests" / "node_modules" / ".bin" / "prism"
STARTUP_TIMEOUT = 90.0  # Prism needs ~2-3 s alone, much more on a busy 2-core box
_LISTENING = re.compile(r"Prism is listening on (http://[0-9.]+:\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PRISM_ERRORS = "https://stoplight.io/prism/errors#"


def specs_dir() -> Path | None:
    """`SESSIONKIT_SPECS_DIR`, else `<repo>/../shared/specs`; None when it does not exist."""
    configured = os.environ.get("SESSIONKIT_SPECS_DIR")
    path = Path(configured) if configured else REPO.parent / "shared" / "specs"
    return path if path.is_dir() else None


def spec_path(relative: str) -> Path:
    """A vendor document under the specs dir; skips the calling test when it is not there."""
    root = specs_dir()
    if root is None:
        pytest.skip("vendor specs not found: set SESSIONKIT_SPECS_DIR or provide ../shared/specs")
    path = root / relative
    if not path.is_file():
        pytest.skip(f"vendor spec {relative} not found under {root}")
    return path


class PrismServer:
    """A running `prism mock` process. `url` is its base URL, e.g. `http://127.0.0.1:41234`."""

    def __init__(self, spec: Path, process: subprocess.Popen[bytes], log: IO[bytes], url: str) -> None:
        self.spec = spec
        self.process = process
        self.url = url
        self._log = log

    def log_text(self) -> str:
        self._log.flush()
        return _ANSI.sub("", Path(self._log.name).read_text("utf-8", "replace"))

    def stop(self) -> None:
        """Stop Prism (its whole process group) and remove its log."""
        _kill(self.process)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"PrismServer({self.spec.name!r}, url={self.url!r})"


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def start_prism(spec: Path, *, timeout: float = STARTUP_TIMEOUT) -> PrismServer:
    """Start `prism mock <spec>` on a free loopback port and wait until it listens.

    Fails (never skips) when Prism is not installed: run `npm ci` in tests/.
    """
    if not PRISM_BIN.exists():
        pytest.fail(f"Prism is not installed ({PRISM_BIN} missing): run `npm ci` in {PRISM_BIN.parents[2]}")
    log = tempfile.NamedTemporaryFile(prefix="prism-", suffix=".log", delete=False)  # noqa: SIM115 - PrismServer closes it
    # Port 0: Prism binds a free port itself and prints it, so there is no race for the port.
    process = subprocess.Popen(
        [str(PRISM_BIN), "mock", str(spec), "-h", "127.0.0.1", "-p", "0", "--errors"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=PRISM_BIN.parents[2],
        start_new_session=True,  # its own process group, so stop() reaches any child too
    )
    server = PrismServer(spec, process, log, url="")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = server.log_text()
        match = _LISTENING.search(text)
        if match:
            server.url = match.group(1)
            return server
        if process.poll() is not None:
            server.stop()
            pytest.fail(f"Prism exited with {process.returncode} while starting on {spec}:\n{text[-4000:]}")
        time.sleep(0.1)
    text = server.log_text()
    server.stop()
    pytest.fail(f"Prism did not start within {timeout:.0f}s on {spec}:\n{text[-4000:]}")


def violations(headers: Mapping[str, str]) -> list[Any]:
    """The decoded `sl-violations` header: what Prism found wrong with the request (or response)."""
    raw = next((v for k, v in headers.items() if k.lower() == "sl-violations"), None)
    if raw is None:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return [raw]
    return value if isinstance(value, list) else [value]


def prism_error(body: Any) -> str | None:
    """The kind of a problem+json Prism generated itself (e.g. "NOT_FOUND", "UNPROCESSABLE_ENTITY")."""
    kind = body.get("type") if isinstance(body, Mapping) else None
    if isinstance(kind, str) and kind.startswith(_PRISM_ERRORS):
        return kind.removeprefix(_PRISM_ERRORS)
    return None


def assert_no_violation(result: Ok[Any] | Err[Any], *, allow: tuple[str, ...] = ()) -> None:
    """Fail unless Prism accepted the request: no `sl-violations`, no Prism-made error but `allow`."""
    if isinstance(result, Ok):
        assert result.meta is not None
        found = violations(result.meta.headers)
        assert not found, f"Prism reported violations on a success: {found}"
        return
    error = result.error
    found = violations(getattr(error, "headers", None) or {})
    assert not found, f"the request violates the document: {found}"
    if not isinstance(error, APIError):
        return
    kind = prism_error(error.body)
    assert kind is None or kind in allow, f"Prism rejected the request ({kind}): {error.raw_text[:2000]}"
