"""A lean HTTP/1.1 keep-alive responder for the benchmarks: `python -m benchmarks.server [--port N]`.

It answers by method + path prefix with pre-encoded responses and parses only the request line and
`Content-Length`, so that the clients, not the server, are what a run measures. It prints
`PORT <n>` on stdout once it listens, and exits when stdin closes (its parent went away).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from . import payloads


def _response(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


_THREAD = _response("200 OK", payloads.THREAD_BYTES)
_PAGE = _response("200 OK", payloads.PAGE_BYTES)
_NOT_FOUND = _response("404 Not Found", b'{"message":"no such route"}')

# (method, path prefix, exact?) -> response; the first match wins, so longer prefixes come first.
ROUTES: tuple[tuple[bytes, bytes, bool, bytes], ...] = (
    (b"POST", b"/v2/sessions/query", True, _PAGE),
    (b"POST", b"/v2/sessions", True, _THREAD),
    (b"GET", b"/v2/sessions/", False, _THREAD),
)


def route(method: bytes, target: bytes) -> bytes:
    path = target.split(b"?", 1)[0]
    for m, prefix, exact, response in ROUTES:
        if m == method and (path == prefix if exact else path.startswith(prefix)):
            return response
    return _NOT_FOUND


class _Responder(asyncio.Protocol):
    __slots__ = ("buffer", "transport")

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data if self.buffer else data
        out: list[bytes] = []
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else len(head)])
            total = end + 4 + length
            if len(buf) < total:
                break
            line_end = head.find(b"\r\n")
            method, target, _ = (head[:line_end] if line_end >= 0 else head).split(b" ", 2)
            out.append(route(method, target))
            buf = buf[total:]
        self.buffer = buf
        if out and self.transport is not None:
            self.transport.write(b"".join(out) if len(out) > 1 else out[0])

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Responder, host, port, backlog=1024)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    # Exit with the parent: stdin reaches EOF when the benchmark driver closes the pipe or dies.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
