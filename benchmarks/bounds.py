"""`python -m benchmarks.bounds`: the memory a hostile body costs, measured (docs/security.md quotes it).

A server in a child process sends compression bombs; this process reads them through the public
API and reports its peak RSS growth (`VmHWM` in /proc/self/status, reset before each case through
/proc/self/clear_refs) next to the cap that held:

- an event stream (`sessions_stream`) of tiny gzip-compressed events that inflates to 1 GiB, read
  for 200,000 events and then left;
- a download (`sessions_files_download`, default 1 GiB cap) of 1 GiB of zeros sent as about 1 MB
  of gzip, read to its end in chunks;
- a JSON answer (`sessions_get`) of the same kind against the core's 64 MiB `max_response_bytes`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
EVENT = b'event: heartbeat\ndata: {"type":"heartbeat"}\n\n'


def _bomb(unit: bytes, total: int) -> bytes:
    """`unit` repeated to `total` bytes, gzip-compressed (written in pieces: never held inflated)."""
    out = io.BytesIO()
    piece = unit * (MIB // len(unit))
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as gz:
        for _ in range(total // len(piece)):
            gz.write(piece)
    return out.getvalue()


async def _serve(port_file: Path) -> None:
    from aiohttp import web

    stream = _bomb(EVENT, 1 << 30)
    zeros = _bomb(b"\0" * 4096, 1 << 30)
    json_bomb = _bomb(b" " * 4096, 1 << 30)  # white space: valid JSON padding, if it were ever read

    async def events(request: web.Request) -> web.StreamResponse:
        return _gzip(stream, "text/event-stream")

    async def download(request: web.Request) -> web.StreamResponse:
        return _gzip(zeros, "application/octet-stream")

    async def session(request: web.Request) -> web.StreamResponse:
        return _gzip(json_bomb, "application/json")

    app = web.Application()
    app.router.add_get("/stream", events)
    app.router.add_get("/api/sessions/{id}/files/{path:.*}", download)
    app.router.add_get("/api/sessions/{id}", session)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    info = json.dumps({"port": port, "sizes": [len(stream), len(zeros), len(json_bomb)]})
    await asyncio.to_thread(port_file.write_text, info)
    await asyncio.Event().wait()


def _gzip(body: bytes, kind: str) -> Any:
    from aiohttp import web

    return web.Response(body=body, headers={"Content-Type": kind, "Content-Encoding": "gzip"})


@contextlib.contextmanager
def _server(tmp: Path) -> Iterator[dict[str, Any]]:
    port_file = tmp / "port.json"
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.bounds", "serve", str(port_file)], cwd=ROOT)
    try:
        while not port_file.exists() or not port_file.read_text():
            if proc.poll() is not None:
                raise RuntimeError("the bomb server did not start")
            import time

            time.sleep(0.05)
        yield json.loads(port_file.read_text())
    finally:
        proc.terminate()
        proc.wait(10)


def _restart_peak() -> None:
    """Restart the peak (VmHWM) from the current RSS."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


@contextlib.asynccontextmanager
async def _measure(name: str, rows: list[dict[str, Any]], **facts: Any) -> AsyncIterator[dict[str, Any]]:
    import gc

    gc.collect()
    _restart_peak()
    before = _peak_kib()
    row: dict[str, Any] = {"case": name, **facts}
    yield row
    row["peak_growth_mib"] = round((_peak_kib() - before) / 1024, 1)
    rows.append(row)
    print(json.dumps(row), flush=True)


async def _measure_all(base: str, sizes: list[int]) -> list[dict[str, Any]]:
    from sessionkit import Err
    from sessionkit.jupyter import JupyterCore, sessions_get
    from sessionkit.mix import MixCore, sessions_files_download, sessions_stream

    rows: list[dict[str, Any]] = []
    async with MixCore(server_url=base) as mix:
        async with _measure("gzip event stream of tiny events", rows, compressed_bytes=sizes[0]) as row:
            events = 0
            async with contextlib.aclosing(sessions_stream(mix, {"id": "s"})) as stream:
                async for item in stream:
                    events += 1
                    if events >= 200_000 or isinstance(item, Err):
                        break
            row["events_read"] = events
        async with _measure("gzip download, 1 GiB inflated, default cap", rows, compressed_bytes=sizes[1]) as row:
            opened = await sessions_files_download(mix, {"id": "s", "filename": "zeros.bin"})
            largest = total = 0
            if isinstance(opened, Err):
                row["ended_with"] = type(opened.error).__name__
            else:
                async with opened.value as body:
                    async for chunk in body:
                        if isinstance(chunk, Err):
                            row["ended_with"] = type(chunk.error).__name__
                            break
                        largest, total = max(largest, len(chunk.value)), total + len(chunk.value)
            row["bytes_read"], row["largest_chunk"] = total, largest
    json_case = _measure("gzip JSON answer against max_response_bytes", rows, compressed_bytes=sizes[2])
    async with JupyterCore(server_url=base, token="t") as jupyter, json_case as row:
        result = await sessions_get(jupyter, {"session": "s"})
        row["outcome"] = type(result.error).__name__ if isinstance(result, Err) else "Ok"
        row["cap_mib"] = jupyter.max_response_bytes // MIB
    return rows


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "serve":
        asyncio.run(_serve(Path(sys.argv[2])))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this file")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, _server(Path(tmp)) as info:
        rows = asyncio.run(_measure_all(f"http://127.0.0.1:{info['port']}", info["sizes"]))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"python {sys.version.split()[0]}, pid {os.getpid()}")


if __name__ == "__main__":
    main()
