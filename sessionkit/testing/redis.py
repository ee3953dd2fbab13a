"""`RedisServer`: a throwaway `redis-server` for tests of a shared `RedisRateLimiter`.

    with RedisServer() as redis:                    # Debian's redis-server, 127.0.0.1, a free port
        limiter = RedisRateLimiter(redis.url, 50)

Nothing is saved to disk. `stop()` then `start()` restarts it on the same port (an outage).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from types import TracebackType

__all__ = ["RedisServer", "free_port", "redis_server_binary"]


def redis_server_binary() -> str:
    """The `redis-server` executable; `FileNotFoundError` naming the package when there is none."""
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise FileNotFoundError("redis-server is not installed (Debian: apt-get install redis-server)")
    return found


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listened on a moment ago (for a server, or for a refused connection)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A `redis-server` process on 127.0.0.1; `port=0` picks a free port on first start."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """`redis://127.0.0.1:PORT/0`."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start it and wait until it answers PING; `RuntimeError` if it exits or stays silent."""
        if self._proc is not None:
            return self
        self.port = self.port or free_port()
        args = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        proc = subprocess.Popen([*args, "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._proc = proc
        until = time.monotonic() + timeout
        while not _pings(self.port):
            if proc.poll() is not None or time.monotonic() > until:
                err = (
                    proc.stderr.read().decode(errors="replace")[-500:]
                    if proc.poll() is not None and proc.stderr
                    else ""
                )
                self.stop()
                raise RuntimeError(f"redis-server on port {self.port} did not start: {err or 'no PONG'}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop it (its data is gone). Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
