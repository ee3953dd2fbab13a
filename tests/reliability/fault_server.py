"""A loopback HTTP/1.1 server that misbehaves on purpose.

It speaks just enough HTTP to answer an aiohttp client, records every request exactly as it arrived
(raw request-target, headers, body, connection number), and answers each request with a
*behaviour*: taken from `plan` first (one per request, in order), else from `route(request)`, else
the `default`. Behaviours write raw bytes, so they can reset a connection, cut a body short, stall
before the headers, or close a keep-alive connection under the client's feet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import ssl
import struct
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

__all__ = [
    "Behaviour",
    "FaultServer",
    "Recorded",
    "close_silently",
    "close_after",
    "json_body",
    "redirect",
    "reset_before_headers",
    "reset_mid_body",
    "respond",
    "slow_headers",
    "truncated_body",
]


@dataclass
class Recorded:
    """One request as the server read it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def header(self, name: str) -> str | None:
        """A header value, by case-insensitive name."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def client_sockets(port: int) -> int:
    """How many of this process's open sockets are connected to `port` on loopback (Linux /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                    count += 1
    return count


class Conn:
    """The server side of one connection, handed to a behaviour."""

    def __init__(self, writer: asyncio.StreamWriter, reader: asyncio.StreamReader | None = None) -> None:
        self.writer = writer
        self.reader = reader
        self.keep_alive = True

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def reset(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0) instead of a graceful FIN."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()
        self.keep_alive = False

    def close(self) -> None:
        self.writer.close()
        self.keep_alive = False


Behaviour = Callable[[Recorded, Conn], Awaitable[None]]


def head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Status"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(
    status: int = 200,
    body: bytes = b"",
    *,
    content_type: str | None = "application/json",
    headers: Iterable[tuple[str, str]] = (),
    chunked: bool = False,
) -> Behaviour:
    """A complete, well-formed response (Content-Length, or chunked encoding)."""
    extra = list(headers)

    async def behave(req: Recorded, conn: Conn) -> None:
        hdrs = list(extra)
        if content_type is not None:
            hdrs.append(("Content-Type", content_type))
        if chunked:
            hdrs.append(("Transfer-Encoding", "chunked"))
            await conn.send(head(status, hdrs))
            step = 1 << 16
            for i in range(0, len(body), step):
                piece = body[i : i + step]
                await conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await conn.send(b"0\r\n\r\n")
        else:
            hdrs.append(("Content-Length", str(len(body))))
            await conn.send(head(status, hdrs) + body)

    return behave


def json_body(value: Any, status: int = 200, **kwargs: Any) -> Behaviour:
    return respond(status, json.dumps(value).encode(), **kwargs)


def redirect(status: int, location: str) -> Behaviour:
    return respond(status, b"", content_type=None, headers=[("Location", location)])


async def reset_before_headers(req: Recorded, conn: Conn) -> None:
    """Read the request, then reset the connection without a byte of response."""
    conn.reset()


async def close_silently(req: Recorded, conn: Conn) -> None:
    """Read the request, then close (FIN) without answering: a keep-alive timeout on the server."""
    conn.close()


def _cut_body(total: int, sent: int, rst: bool) -> Behaviour:
    async def behave(req: Recorded, conn: Conn) -> None:
        hdrs = [("Content-Type", "application/json"), ("Content-Length", str(total))]
        await conn.send(head(200, hdrs) + b"{" + b" " * (sent - 1))
        await asyncio.sleep(0.01)  # let the client start reading the body before it is cut
        conn.reset() if rst else conn.close()

    return behave


def reset_mid_body(total: int = 1000, sent: int = 100) -> Behaviour:
    """Send the headers and part of the body, then reset."""
    return _cut_body(total, sent, rst=True)


def truncated_body(total: int = 1000, sent: int = 100) -> Behaviour:
    """Announce `total` bytes, send `sent`, then close gracefully."""
    return _cut_body(total, sent, rst=False)


def slow_headers(delay: float, then: Behaviour) -> Behaviour:
    """Stall `delay` seconds before answering."""

    async def behave(req: Recorded, conn: Conn) -> None:
        await asyncio.sleep(delay)
        await then(req, conn)

    return behave


def close_after(then: Behaviour) -> Behaviour:
    """Answer as if keeping the connection alive, then close it right after."""

    async def behave(req: Recorded, conn: Conn) -> None:
        await then(req, conn)
        conn.close()

    return behave


@dataclass
class FaultServer:
    """`async with FaultServer(default=...) as srv:`; `srv.url` is `http(s)://host:port`."""

    default: Behaviour = field(default_factory=lambda: json_body({}))
    route: Callable[[Recorded], Behaviour] | None = None
    host: str = "127.0.0.1"
    port: int = 0
    ssl_context: ssl.SSLContext | None = None
    plan: deque[Behaviour] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    open_connections: int = 0
    peak_connections: int = 0
    peak_client_sockets: int = 0  # the most sockets this process held to the server at an accept
    total_connections: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def __aenter__(self) -> FaultServer:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await server.wait_closed()

    async def wait_until(self, predicate: Callable[[FaultServer], bool], timeout: float = 10.0) -> None:
        """Wait (bounded) until `predicate(self)` holds; it is re-checked on every request and close."""

        async def until() -> None:
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)  # not asyncio.timeout: the suite runs on 3.10 too

    def then(self, *behaviours: Behaviour) -> FaultServer:
        """Queue behaviours for the next requests, in order."""
        self.plan.extend(behaviours)
        return self

    def _pick(self, req: Recorded) -> Behaviour:
        if self.plan:
            return self.plan.popleft()
        if self.route is not None:
            return self.route(req)
        return self.default

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.total_connections += 1
        number = self.total_connections
        # The server learns of a client's close only when it reads the EOF, so its own count can
        # overlap a closed connection with the next one. The client's side is exact: at each accept,
        # count the sockets this process (client and server share it) holds open to our port.
        self.peak_client_sockets = max(self.peak_client_sockets, client_sockets(self.port))
        self.open_connections += 1
        self.peak_connections = max(self.peak_connections, self.open_connections)
        conn = Conn(writer, reader)
        try:
            while conn.keep_alive:
                req = await self._read(reader, number)
                if req is None:
                    break
                self.requests.append(req)
                self._changed.set()
                await self._pick(req)(req, conn)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError):
            pass
        finally:
            self.open_connections -= 1
            self._changed.set()
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _read(reader: asyncio.StreamReader, number: int) -> Recorded | None:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        request_line, *lines = raw.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip()] = value.strip()
        length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
        body = await reader.readexactly(length) if length else b""
        return Recorded(method, target, headers, body, number)
