"""`RealJupyterServer`: a real `jupyter server` subprocess on 127.0.0.1, isolated from user config.

Used by the integration tests and by `sessionkit demo --jupyter`; it needs `jupyter_server` and
`ipykernel` in the running interpreter's environment, and nothing from pytest.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

__all__ = ["LIFT_IOPUB_LIMITS", "RealJupyterServer"]

LIFT_IOPUB_LIMITS = (
    "--ZMQChannelsWebsocketConnection.iopub_data_rate_limit=0",
    "--ZMQChannelsWebsocketConnection.iopub_msg_rate_limit=0",
)
"""Options that stop the server dropping a kernel's output past 1 MB/s (or 1,000 messages/s) over
3 s (its defaults, `ServerApp.iopub_data_rate_limit` in older releases): for code that prints a lot."""

_LOG_TAIL = 4000


def _jupyter_server_installed() -> bool:
    try:
        return importlib.util.find_spec("jupyter_server") is not None
    except (ImportError, ValueError):  # ValueError: sys.modules holds None for it
        return False


def _child_pids(pid: int) -> list[int]:
    """Direct children of `pid` (Linux /proc; elsewhere none are known)."""
    children: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):
            children.append(int(stat.parent.name))
    return children


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


class RealJupyterServer:
    """Start and stop one real Jupyter Server.

    Use `async with RealJupyterServer(token="t") as server:` or call `start()` / `stop()` (both
    blocking). `url` and `token` are set once it answers `GET /api`. `args` are more command-line
    options, e.g. `LIFT_IOPUB_LIMITS` for code that prints megabytes.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        root_dir: str | os.PathLike[str] | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.token: str = token if token is not None else secrets.token_hex(16)
        self.args = tuple(args)
        self._root_dir = Path(root_dir) if root_dir is not None else None
        self._tmp: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._abort = threading.Event()  # set when an `async with` start is cancelled
        self.port: int = 0

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("the Jupyter server is not running; call start() first")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until `GET /api` answers 200."""
        if not _jupyter_server_installed():
            raise RuntimeError(
                "jupyter_server is not installed in this environment; install it with `pip install jupyter_server ipykernel`"
            )
        if self._proc is not None:
            raise RuntimeError("this RealJupyterServer is already started")
        self._abort.clear()
        tmp = self._tmp = Path(tempfile.mkdtemp(prefix="sessionkit-jupyter-"))
        root = self._root_dir or tmp / "root"
        root.mkdir(parents=True, exist_ok=True)
        runtime = tmp / "runtime"
        env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE")}
        env.update(
            JUPYTER_CONFIG_DIR=str(tmp / "config"),
            JUPYTER_RUNTIME_DIR=str(runtime),
            JUPYTER_DATA_DIR=str(tmp / "data"),
            JUPYTER_PLATFORM_DIRS="1",
            IPYTHONDIR=str(tmp / "ipython"),
        )
        args = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--ip=127.0.0.1",
            "--port=0",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--allow-root",
            *self.args,
        ]
        self._log = (tmp / "server.log").open("wb")
        self._proc = subprocess.Popen(
            args, env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            self._wait_ready(runtime / f"jpserver-{self._proc.pid}.json", time.monotonic() + timeout)
            if self._abort.is_set():
                raise RuntimeError("the start was cancelled")
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, info_file: Path, deadline: float) -> None:
        proc = self._proc
        assert proc is not None
        while time.monotonic() < deadline and not self._abort.is_set():
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited with code {proc.returncode}\n{self.log_tail()}")
            if not self.port:
                try:
                    self.port = int(json.loads(info_file.read_text())["port"])
                except (OSError, ValueError, KeyError):
                    time.sleep(0.05)
                    continue
            try:
                with urllib.request.urlopen(f"{self.url}/api", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"jupyter server did not answer GET /api in time\n{self.log_tail()}")

    def connection_file(self, kernel_id: str) -> Path:
        """The connection file of one of its kernels (what `jupyter_client` connects to it with)."""
        if self._tmp is None:
            raise RuntimeError("the Jupyter server is not running; call start() first")
        return self._tmp / "runtime" / f"kernel-{kernel_id}.json"

    def log_tail(self) -> str:
        """The end of the server's log, for error messages."""
        if self._tmp is None:
            return ""
        try:
            text = (self._tmp / "server.log").read_text(errors="replace")
        except OSError:
            return ""
        return "--- jupyter server log (tail) ---\n" + text[-_LOG_TAIL:]

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (the server shuts its kernels down), then SIGKILL it and any kernel it left."""
        proc, self._proc = self._proc, None
        if proc is not None:
            kernels = _child_pids(proc.pid)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for pid in kernels:  # only still alive if the server died before shutting them down
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
        self.port = 0
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> RealJupyterServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    async def __aenter__(self) -> RealJupyterServer:
        try:
            await asyncio.to_thread(self.start)
        except asyncio.CancelledError:
            self._abort.set()  # the starting thread then stops the server itself
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)
