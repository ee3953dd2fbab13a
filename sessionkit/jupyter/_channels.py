"""The channels WebSocket of each kernel a core runs code in.

One `KernelChannel` per kernel (and server and credentials) per core: opened on the first
execution with the v1 subprotocol offered (the legacy JSON framing when the server picks none),
kept for the next ones, closed with the core. Executions take it one at a time, in the order
they asked (`take`, a FIFO lock); between them an idle reader reads it, so the server's pings are
answered, what is left of earlier executions is dropped, and a kernel that shuts down or a
connection that closes is noticed. A dropped channel is opened again with the same session id,
so the server replays what it buffered meanwhile.

This module is plumbing: it raises what aiohttp raises and `DeadlinePassed`; `_execute` turns
those into error values. Every wait of a call (the queue, the connect, each send and receive)
asks that call's `Deadline`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from .._aiohttp_compat import FrameGuard, abort_websocket, guard_frames, queued
from .._deadline import Deadline
from .._loop import LoopRef
from ._framing import V1, Framing, FramingError, decode

__all__ = ["CLOSE_WAIT", "ChannelKey", "KernelChannel", "KernelChannels", "Target"]

CLOSE_WAIT = 2.0
"""Seconds a close waits for the server's close frame (aiohttp's `ws_close`, and `aclose`)."""
_DATA = (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)
ChannelKey = tuple[str, tuple[tuple[str, str], ...]]
Message = Any
"""One `ws.receive()`: aiohttp's `WSMessage` (its static types differ between releases)."""


_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux


def _ack_at_once(sock: Any) -> None:
    """Have the next segment acknowledged at once, not up to 40 ms later.

    Jupyter Server writes each kernel message on its own with Nagle's algorithm on (tornado leaves
    `TCP_NODELAY` off on WebSockets), so its second message of an execution waits for the ACK of
    the first; Linux delays that ACK (measured: 48 ms per `1+1` round trip, 10 ms with this).
    Quick-ACK mode does not last, so it is asked for again after every message.
    """
    if sock is not None and _QUICKACK is not None:
        with contextlib.suppress(OSError, AttributeError):  # a loop whose socket stand-in lacks it
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


class Target:
    """Where a call connects: the channels URL (no session id yet) and its headers, the proxy,
    and the largest message it takes."""

    __slots__ = ("headers", "max_bytes", "proxy", "proxy_headers", "url")

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        proxy: URL | None,
        proxy_headers: Mapping[str, str] | None,
        max_bytes: int,
    ) -> None:
        self.url, self.headers, self.max_bytes = url, headers, max_bytes
        self.proxy, self.proxy_headers = proxy, proxy_headers

    @property
    def key(self) -> ChannelKey:
        """Calls to the same URL with the same headers share a channel."""
        return self.url, tuple(sorted(self.headers.items()))


def _is_shutdown(data: bytes | str, framing: Framing) -> bool:
    """Whether a message says the kernel is gone or going (whoever's request it answers)."""
    try:
        message = decode(data, framing)
        if message.msg_type == "shutdown_reply":
            return True
        return message.msg_type == "status" and message.content().get("execution_state") in ("dead", "restarting")
    except FramingError:
        return True  # a channel that sends garbage is not worth keeping


class KernelChannel:
    """One kernel's channels WebSocket, shared by a core's executions on it, one at a time."""

    def __init__(self, kernel_id: str, owner: KernelChannels) -> None:
        self.kernel_id = kernel_id
        self.session_id = uuid.uuid4().hex
        """Sent on every connection, so the server replays what it buffered while one was down."""
        self.ws: aiohttp.ClientWebSocketResponse[bool] | None = None
        self.framing: Framing = "v1"
        self.connections = 0
        """How many connections this channel has made (1 while it never dropped)."""
        self._guard: FrameGuard | None = None
        self._socket: Any = None
        self._lock = asyncio.Lock()
        self._idle: asyncio.Task[None] | None = None
        self._owner = owner

    @property
    def is_open(self) -> bool:
        return self.ws is not None and not self.ws.closed

    @property
    def too_big(self) -> bool:
        """Whether the last connection was closed for a message past the size cap."""
        return self._guard is not None and self._guard.tripped

    # --- taking turns ----------------------------------------------------------------------------
    async def catch_up(self) -> None:
        """Read what came since the idle reader stopped and is already queued (no waiting): what
        earlier calls left is dropped, and a kernel that shut down, restarted or died before this
        call's request, or a connection that ended, closes the channel, so the request goes out on
        a new connection (to the restarted kernel, or to a 404 for a deleted one) rather than
        being taken for dead by news older than it."""
        ws = self.ws
        while ws is not None and not ws.closed and queued(ws):
            message = await ws.receive()  # queued: it returns at once
            self._taken(message)
            if message.type not in _DATA or _is_shutdown(message.data, self.framing):
                await self.abort()
                return

    async def take(self, deadline: Deadline) -> None:
        """Wait (within `deadline`) for this call's turn; then the channel is the caller's alone.

        The lock is acquired in a task of its own, so that a deadline (or a cancellation) that
        comes in the very turn the lock is granted gives it back (Python 3.10's `wait_for` would
        lose it)."""
        acquiring = asyncio.ensure_future(self._lock.acquire())
        try:
            await deadline.within(asyncio.shield(acquiring))
            await self._stop_idle()
        except BaseException:
            if acquiring.done() and not acquiring.cancelled() and acquiring.exception() is None:
                self._lock.release()
            else:
                acquiring.cancel()  # a waiter cancelled before its turn hands the turn on
            raise

    def give_back(self) -> None:
        """End this call's turn: the idle reader reads until the next one."""
        ws = self.ws
        if ws is not None and not ws.closed and not self._owner.closed:
            self._idle = asyncio.get_running_loop().create_task(self._read_idle(ws))
        self._lock.release()

    async def _stop_idle(self) -> None:
        task, self._idle = self._idle, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait((task,))  # cancelled within a loop turn; its `receive` is then free

    async def _read_idle(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        """Read while no call does: answer pings, drop what earlier calls left, notice the end."""
        while True:
            message = await ws.receive()
            self._taken(message)
            if message.type not in _DATA:
                return  # closed: the next call opens it again
            if _is_shutdown(message.data, self.framing):
                self._idle = None  # this task: `close` must not wait for itself
                self._owner.forget(self)
                abort_websocket(ws)
                await self._close_ws()
                return

    # --- the connection --------------------------------------------------------------------------
    async def connect(
        self, session: aiohttp.ClientSession, target: Target, deadline: Deadline, silence: float | None
    ) -> None:
        """Open (or open again) the WebSocket, within `deadline` (each attempt at most `silence`).

        Raises `DeadlinePassed`, `aiohttp.WSServerHandshakeError` (a status other than 101), or
        what aiohttp raises for the network.
        """
        await self.close()
        if self._owner.closed:
            raise aiohttp.ClientConnectionError("the core's kernel channels were closed")
        url = URL(target.url, encoded=True).update_query(session_id=self.session_id)
        ws = await deadline.within(
            session.ws_connect(
                url,
                protocols=(V1,),
                headers=target.headers,
                max_msg_size=target.max_bytes,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_WAIT),  # pyright: ignore[reportCallIssue]
                proxy=target.proxy,
                proxy_headers=target.proxy_headers,
            ),
            silence,
        )
        self.ws, self.framing = ws, "v1" if ws.protocol == V1 else "legacy"
        # What the reader has not taken may hold one whole message and the start of the next.
        self._guard = guard_frames(ws, 2 * target.max_bytes + (1 << 20))
        self._socket = ws.get_extra_info("socket")  # asyncio's TransportSocket: setsockopt passes through
        self.connections += 1

    async def send(self, data: bytes | str, deadline: Deadline) -> None:
        """Send one message; raises when the connection is gone (the message was then not sent)."""
        ws = self.ws
        if ws is None or ws.closed:
            raise aiohttp.ClientConnectionError("the kernel channel is closed")
        if isinstance(data, bytes):
            await deadline.within(ws.send_bytes(data))
        else:
            await deadline.within(ws.send_str(data))

    async def receive(self, deadline: Deadline, silence: float | None) -> Message:
        """The next message (data, or CLOSE/CLOSED/ERROR when the connection ended), waiting at
        most `silence` seconds and within `deadline` (`DeadlinePassed` says which passed)."""
        ws = self.ws
        if ws is None:
            return aiohttp.WSMessage(aiohttp.WSMsgType.CLOSED, None, None)
        message = await deadline.within(ws.receive(), silence)
        self._taken(message)
        _ack_at_once(self._socket)
        return message

    def _taken(self, message: Message) -> None:
        guard = self._guard
        if guard is not None and message.type in _DATA:
            guard.taken(len(message.data))

    async def close(self) -> None:
        """Close the connection (waiting at most `CLOSE_WAIT` for the server); the channel can connect again."""
        await self._stop_idle()
        await self._close_ws()

    async def abort(self) -> None:
        """Close the connection at once (a server that broke the protocol gets no close handshake)."""
        await self._stop_idle()
        ws = self.ws
        if ws is not None and not ws.closed:
            abort_websocket(ws)
        await self._close_ws()

    async def _close_ws(self) -> None:
        ws, self.ws = self.ws, None
        if ws is not None and not ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), CLOSE_WAIT)


class KernelChannels:
    """A core's kernel channels, for the aiohttp session (and loop) they were opened on."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.home = LoopRef.current()
        self.closed = False
        self._by_key: dict[ChannelKey, KernelChannel] = {}

    def get(self, kernel_id: str, target: Target) -> KernelChannel:
        channel = self._by_key.get(target.key)
        if channel is None:
            channel = self._by_key[target.key] = KernelChannel(kernel_id, self)
        return channel

    def holds(self, channel: KernelChannel) -> bool:
        """Whether `channel` is still kept (not dropped after its kernel went away)."""
        return any(value is channel for value in self._by_key.values())

    def forget(self, channel: KernelChannel) -> None:
        """Drop `channel` (its kernel is gone): a later call on the same id starts a new one."""
        for key, value in list(self._by_key.items()):
            if value is channel:
                del self._by_key[key]

    def connections(self) -> int:
        """Connections made by the channels still kept (a channel reopened after a drop counts twice)."""
        return sum(channel.connections for channel in self._by_key.values())

    async def aclose(self) -> None:
        """Close every channel (calls still reading one end with an error)."""
        self.closed = True
        channels, self._by_key = list(self._by_key.values()), {}
        if not self.home.here():
            return  # their loop is gone: nothing of them can be awaited
        await asyncio.gather(*(channel.close() for channel in channels), return_exceptions=True)
