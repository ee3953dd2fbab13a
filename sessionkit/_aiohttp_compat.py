"""Every use of a private aiohttp name, in one place, each with a public fallback.

aiohttp may rename or drop any of these in a release. Each is looked up once at import; when it is
missing or not of the expected shape, sessionkit takes the public path (a little slower, or a
little less strict), and `tests/unit/test_aiohttp_compat.py` says which path the installed aiohttp
takes, so an upgrade that changes one shows in the test output, not in production.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

__all__ = [
    "DIRECT_REQUEST",
    "NO_RESEND",
    "FrameGuard",
    "abandon",
    "abort_websocket",
    "guard_frames",
    "queued",
    "request_function",
    "session_loop",
    "turn_off_resend",
]


def _takes_our_arguments() -> bool:
    """Whether `ClientSession._request` takes what the transport passes, as keyword-only parameters.

    `ClientSession.request` only wraps it (keywords packed into a dict and out again, a context
    manager around the coroutine): calling it straight is about 14,000 fewer instructions on a get
    (benchmarks/instructions.py).
    """
    method = getattr(aiohttp.ClientSession, "_request", None)
    if method is None:
        return False
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    wanted = {"headers", "data", "timeout", "allow_redirects", "proxy", "proxy_headers", "trace_request_ctx"}
    return wanted <= params.keys() and all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in wanted)


DIRECT_REQUEST = _takes_our_arguments()
"""Whether `request_function` hands out aiohttp's private `ClientSession._request`."""


def request_function(session: aiohttp.ClientSession) -> Callable[..., Awaitable[aiohttp.ClientResponse]]:
    """What sends one request on `session`: `_request` when its signature is the expected one."""
    if DIRECT_REQUEST:
        return session._request  # pyright: ignore[reportPrivateUsage]
    return session.request  # pyright: ignore[reportReturnType]


NO_RESEND = "_retry_connection" in getattr(aiohttp.ClientSession, "ATTRS", ())
"""Whether aiohttp's own silent resend of an idempotent request after a reset can be turned off."""


def turn_off_resend(session: aiohttp.ClientSession) -> None:
    """aiohttp resends an idempotent request once after a reset; the pipeline's retry loop owns that
    decision, so `max_retries=0` means exactly one request on the wire."""
    if NO_RESEND:
        session._retry_connection = False  # pyright: ignore[reportPrivateUsage]


def session_loop(session: aiohttp.ClientSession) -> Any:
    """The event loop `session` was made in (None when aiohttp no longer says)."""
    return getattr(session, "_loop", None)


def abandon(session: aiohttp.ClientSession) -> None:
    """Drop a pool whose event loop has closed. Its connector is marked closed (aiohttp does no I/O
    on a closed loop), so neither object warns; the sockets close when they are collected."""
    connector = session.connector
    session.detach()
    close = getattr(connector, "_close", None)  # aiohttp's synchronous part of `close()`
    if close is not None:
        with contextlib.suppress(Exception):
            close()


FRAME_OVERHEAD = 14
"""The most bytes a WebSocket frame adds to its payload (2 + 8 length + 4 mask)."""


class FrameGuard:
    """Bounds the bytes a WebSocket's parser holds for messages the reader has not taken yet.

    aiohttp's `max_msg_size` refuses an oversized message, but up to 3.13 (3.13.4 included) only
    once the whole frame is buffered: a server announcing a frame of 2**62 bytes would be buffered
    until the deadline (3.14 refuses the announced length before reading it). The guard sits in front of the parser, counts what it is fed, and is told what the
    reader took (`taken`); past `limit` bytes held it closes the connection (`tripped`), so a
    frame that never ends costs at most `limit` bytes. What it counts over: frame headers, and the
    messages aiohttp's own queue holds (flow control stops the socket past 64 KiB of those).
    """

    def __init__(self, parser: Any, transport: Any, limit: int) -> None:
        self._parser, self._transport, self.limit = parser, transport, limit
        self.held = 0
        self.tripped = False

    def feed_data(self, data: bytes) -> Any:
        if self.tripped:
            return False, b""  # the connection is being closed: nothing more is parsed
        self.held += len(data)
        if self.held > self.limit:
            self.tripped = True
            self._transport.abort()
            return False, b""
        return self._parser.feed_data(data)

    def feed_eof(self) -> Any:
        return self._parser.feed_eof()

    def taken(self, size: int) -> None:
        """The reader took a message of `size` payload bytes (a control frame counts too)."""
        self.held = max(0, self.held - size - FRAME_OVERHEAD)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


def guard_frames(ws: aiohttp.ClientWebSocketResponse[bool], limit: int) -> FrameGuard | None:
    """Put a `FrameGuard` of `limit` bytes in front of `ws`'s frame parser (the protocol's private
    `_payload_parser`); None when this aiohttp keeps it elsewhere (then `max_msg_size` alone holds)."""
    response = getattr(ws, "_response", None)
    connection = getattr(response, "connection", None)
    protocol = getattr(connection, "protocol", None)
    parser = getattr(protocol, "_payload_parser", None)
    transport = getattr(protocol, "transport", None)
    if protocol is None or parser is None or transport is None or not hasattr(parser, "feed_data"):
        return None
    guard = FrameGuard(parser, transport, limit)
    protocol._payload_parser = guard  # pyright: ignore[reportAttributeAccessIssue]
    return guard


def abort_websocket(ws: aiohttp.ClientWebSocketResponse[bool]) -> bool:
    """Close `ws`'s connection at once, without the close handshake a hostile server would never
    finish (its response's private `_response`); False when this aiohttp keeps it elsewhere (the
    caller then closes politely, within `ws_close`)."""
    response = getattr(ws, "_response", None)
    close = getattr(response, "close", None)
    if close is None:
        return False
    close()
    return True


def queued(ws: aiohttp.ClientWebSocketResponse[bool]) -> bool:
    """Whether `ws.receive()` would return at once: a message aiohttp has read off the socket is
    waiting, or the stream ended (its reader's private `_buffer`, and `is_eof()` where it has it).
    False when this aiohttp keeps them elsewhere: the caller then learns of them by reading."""
    reader = getattr(ws, "_reader", None)
    buffer = getattr(reader, "_buffer", None)
    is_eof = getattr(reader, "is_eof", None)
    try:
        return bool(buffer) or (callable(is_eof) and bool(is_eof()))
    except Exception:  # a shape this code does not know
        return False
