"""Pieces the issue-17 attack tests share: raw behaviours for `FaultServer`, a gzip bomb built in
milliseconds, and a `tracemalloc` peak.

A bomb is one highly repetitive block compressed once and repeated: after `Z_FULL_FLUSH` the
compressor starts from an empty window, so every later copy of the block compresses to the same
bytes. `bomb(block, copies)` is a valid gzip stream (without its trailer, which no test reads to)
that inflates to `len(block) * copies` bytes.
"""

from __future__ import annotations

import asyncio
import tracemalloc
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from itertools import count

from .fault_server import Behaviour, Conn, Recorded, head

__all__ = ["MiB", "Peak", "bomb", "event_stream", "eventually", "rss_peak", "stream_body", "traced_peak"]

MiB = 1 << 20


@cache
def bomb(block: bytes, copies: int) -> bytes:
    """A gzip stream (no trailer) of `block` repeated `copies` times (1 to 2.6 KB per MiB inflated)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    return first + again * (copies - 1)


def stream_body(
    pieces: Iterable[bytes],
    *,
    content_type: str | None = "text/event-stream",
    headers: Iterable[tuple[str, str]] = (),
    end: str = "close",
    status: int = 200,
) -> Behaviour:
    """A chunked answer of `pieces`, each written (and drained) as its own chunk; then `end`:
    "close" ends the body cleanly, "reset" drops the connection mid-body (RST), "hang" stays silent."""
    parts, extra = list(pieces), list(headers)

    async def behave(req: Recorded, conn: Conn) -> None:
        hdrs = [*extra, ("Transfer-Encoding", "chunked")]
        if content_type is not None:
            hdrs.append(("Content-Type", content_type))
        await conn.send(head(status, hdrs))
        for piece in parts:
            await conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        if end == "close":
            await conn.send(b"0\r\n\r\n")
        elif end == "reset":
            await asyncio.sleep(0.01)  # let the client read what was sent before the reset
            conn.reset()
        else:
            await asyncio.Event().wait()

    return behave


def event_stream(text: str, *, end: str = "close", content_type: str | None = "text/event-stream") -> Behaviour:
    """`text` as one chunk of an event stream."""
    return stream_body([text.encode()], end=end, content_type=content_type)


async def eventually(condition: Callable[[], bool], guard: float = 60.0) -> None:
    """Return once `condition()` holds, checked every 10 ms; `guard` seconds only stop a hang."""

    async def poll() -> None:
        for _ in count():
            if condition():
                return
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), guard)


class Peak:
    """The `tracemalloc` peak of a block (bytes allocated by Python, both client and server)."""

    bytes: int = 0


@contextmanager
def traced_peak() -> Iterator[Peak]:
    """Trace Python allocations for the block; `peak.bytes` is the highest total seen."""
    peak = Peak()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        yield peak
    finally:
        peak.bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


@contextmanager
def rss_peak() -> Iterator[Peak]:
    """How far the resident set rose above its level at the start of the block: the peak (`VmHWM`,
    reset through /proc/self/clear_refs) minus the `VmRSS` it started from. It costs nothing while
    the block runs, unlike `tracemalloc`, which slows a loop of millions of small objects tenfold."""
    peak = Peak()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # VmHWM := VmRSS
    start = _status_kib("VmRSS")
    try:
        yield peak
    finally:
        peak.bytes = (_status_kib("VmHWM") - start) * 1024
