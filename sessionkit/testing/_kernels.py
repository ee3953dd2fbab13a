"""FakeJupyter's kernels on their channels WebSocket: what a test registers a piece of code to do,
and a kernel that does it, speaking Jupyter's messaging protocol in both framings.

This side is written from Jupyter Server's own framing code (`serialize_msg_to_ws_v1`), not from
sessionkit's client, so the client is tested against an independent reading of the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from aiohttp import WSMsgType, web

from .._clock import Clock

__all__ = ["CodeOutputs", "FakeKernel", "KernelMessage", "V1"]

V1 = "v1.kernel.websocket.jupyter.org"
_BUFFER_LIMIT = 10_000  # messages kept for a session whose only connection dropped


@dataclass(frozen=True)
class KernelMessage:
    """A raw message the kernel sends while it runs the code: on `channel`, of `msg_type`, whose
    parent is the execute request (`"request"`), some other request (`"other"`) or none (`"none"`)."""

    channel: str
    msg_type: str
    content: Mapping[str, Any]
    parent: Literal["request", "other", "none"] = "request"


@dataclass(frozen=True)
class CodeOutputs:
    """What a piece of code does in a `FakeJupyter` kernel, in this order: ask for `input`
    (`input_prompt`, with `allow_stdin`; the answer is printed), write `stdout` and `stderr`
    (a string is one stream message, a list one message per item), show `displays` (MIME
    bundles), take `delay` seconds on the fake's clock, run until interrupted (`hang`), then raise
    `error` (`(ename, evalue)`) or return `result` (a MIME bundle, or a string as `text/plain`).
    `messages` are sent first, as they are; `idle=False` leaves out the final `idle` status.

    Code no test registered runs as a statement that prints nothing: status `"ok"`, no output.
    """

    stdout: str | Sequence[str] = ()
    stderr: str | Sequence[str] = ()
    displays: Sequence[Mapping[str, Any]] = ()
    result: Mapping[str, Any] | str | None = None
    error: tuple[str, str] | None = None
    hang: bool = False
    delay: float = 0.0
    idle: bool = True
    input_prompt: str | None = None
    messages: Sequence[KernelMessage] = ()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _header(msg_type: str, session: str) -> dict[str, Any]:
    return {
        "msg_id": uuid.uuid4().hex,
        "msg_type": msg_type,
        "username": "kernel",
        "session": session,
        "date": _now(),
        "version": "5.4",
    }


def _frame_v1(channel: str, parts: list[bytes]) -> bytes:
    """Jupyter Server's `serialize_msg_to_ws_v1`."""
    name = channel.encode()
    offsets = [8 * (1 + 1 + len(parts) + 1)]
    offsets.append(len(name) + offsets[-1])
    for part in parts:
        offsets.append(len(part) + offsets[-1])
    return (
        len(offsets).to_bytes(8, "little") + b"".join(o.to_bytes(8, "little") for o in offsets) + name + b"".join(parts)
    )


def _unframe_v1(data: bytes) -> tuple[str, list[bytes]]:
    """Jupyter Server's `deserialize_msg_from_ws_v1`."""
    count = int.from_bytes(data[:8], "little")
    offsets = [int.from_bytes(data[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(count)]
    channel = data[offsets[0] : offsets[1]].decode()
    return channel, [data[offsets[i] : offsets[i + 1]] for i in range(1, count - 1)]


@dataclass
class _Message:
    channel: str
    header: dict[str, Any]
    parent: dict[str, Any]
    content: Mapping[str, Any]

    def frame(self, framing: str) -> bytes | str:
        if framing == V1:
            parts = [json.dumps(p).encode() for p in (self.header, self.parent, {}, self.content)]
            return _frame_v1(self.channel, parts)
        message: dict[str, Any] = {
            "channel": self.channel,
            "header": self.header,
            "msg_id": self.header["msg_id"],
            "msg_type": self.header["msg_type"],
            "parent_header": self.parent,
            "metadata": {},
            "content": self.content,
            "buffers": [],
        }
        return json.dumps(message)


@dataclass
class _Connection:
    """One client WebSocket on a kernel's channels."""

    ws: web.WebSocketResponse
    session: str
    framing: str
    transport: asyncio.BaseTransport | None

    async def send(self, message: _Message) -> None:
        if self.ws.closed:
            return
        data = message.frame(self.framing)
        with contextlib.suppress(ConnectionError, RuntimeError):
            if isinstance(data, bytes):
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(data)


@dataclass
class _Request:
    connection: _Connection
    header: dict[str, Any]
    content: Mapping[str, Any]


@dataclass
class FakeKernel:
    """A kernel's message side: its execution queue, its connections, what it buffers."""

    kernel_id: str
    outputs_for: Callable[[str], CodeOutputs]
    clock: Clock
    on_state: Callable[[str], None]  # the kernel's execution_state changed
    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    execution_count: int = 0
    connections: list[_Connection] = field(default_factory=list[_Connection])
    buffers: dict[str, list[_Message]] = field(default_factory=dict[str, list[_Message]])
    queue: asyncio.Queue[_Request] = field(default_factory=asyncio.Queue[_Request])
    running: asyncio.Task[None] | None = None
    worker: asyncio.Task[None] | None = None
    answers: dict[str, asyncio.Future[str]] = field(default_factory=dict[str, asyncio.Future[str]])
    ending: Literal["", "shutdown", "death"] = ""  # why the running code is being cancelled

    # --- sending -----------------------------------------------------------------------------------
    def message(self, channel: str, msg_type: str, content: Mapping[str, Any], parent: Mapping[str, Any]) -> _Message:
        return _Message(channel, _header(msg_type, self.session), dict(parent), content)

    async def publish(self, message: _Message) -> None:
        """An iopub message: to every connection, or into the buffer of a session that dropped."""
        if self.connections:
            for connection in list(self.connections):
                await connection.send(message)
            return
        for buffered in self.buffers.values():
            if len(buffered) < _BUFFER_LIMIT:
                buffered.append(message)

    async def answer(self, connection: _Connection, message: _Message) -> None:
        """A shell or stdin message to the session that asked (its connection now), or to its buffer."""
        for current in reversed(self.connections):
            if current.session == connection.session:
                await current.send(message)
                return
        buffered = self.buffers.get(connection.session)
        if buffered is not None and len(buffered) < _BUFFER_LIMIT:
            buffered.append(message)

    async def status(self, state: str, parent: Mapping[str, Any]) -> None:
        self.on_state(state)
        await self.publish(self.message("iopub", "status", {"execution_state": state}, parent))

    # --- connections -------------------------------------------------------------------------------
    async def serve(self, request: web.Request, offer_v1: bool, heartbeat: float | None) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(
            protocols=(V1,) if offer_v1 else (), max_msg_size=64 * 1024 * 1024, heartbeat=heartbeat
        )
        await ws.prepare(request)
        session = request.query.get("session_id") or uuid.uuid4().hex
        connection = _Connection(ws, session, V1 if ws.ws_protocol == V1 else "legacy", request.transport)
        replay = self.buffers.pop(session, [])
        self.buffers.clear()  # the real server keeps one buffer: another session's is discarded
        for message in replay:
            await connection.send(message)  # what the real server replays to a returning session
        self.connections.append(connection)
        if self.worker is None or self.worker.done():
            self.ending = ""
            self.worker = asyncio.get_running_loop().create_task(self._work())
        if self.running is None:
            self.on_state("idle")
        try:
            async for frame in ws:
                if frame.type in (WSMsgType.BINARY, WSMsgType.TEXT):
                    self._received(connection, frame.data)
        finally:
            self._disconnected(connection)
        return ws

    def _disconnected(self, connection: _Connection) -> None:
        if connection not in self.connections:
            return
        self.connections.remove(connection)
        if not self.connections:
            self.buffers[connection.session] = []  # the real server buffers for the last session to leave
        self.on_state("busy" if self.running is not None else "idle")  # the kernel model counts connections

    async def drop(self) -> None:
        """Cut every connection (no close handshake), as a network failure would."""
        for connection in list(self.connections):
            transport: Any = connection.transport
            if transport is not None:
                transport.abort()
            self._disconnected(connection)  # what the server does once it sees the connection end

    def _received(self, connection: _Connection, data: bytes | str) -> None:
        header: Any
        parent: Any
        content: Any
        try:
            if isinstance(data, bytes) and connection.framing == V1:
                channel, parts = _unframe_v1(data)
                header, parent, content = json.loads(parts[0]), json.loads(parts[1]), json.loads(parts[3])
            else:
                message: Any = json.loads(data)
                channel, header = message.get("channel", "shell"), message["header"]
                parent, content = message.get("parent_header") or {}, message.get("content") or {}
        except (ValueError, KeyError, IndexError, UnicodeDecodeError, AttributeError):
            return  # the real server logs a bad message and drops it
        kind = header.get("msg_type")
        if channel == "shell" and kind == "execute_request":
            self.queue.put_nowait(_Request(connection, header, content))
        elif channel == "stdin" and kind == "input_reply":
            waiting = self.answers.pop(str(parent.get("msg_id")), None)
            if waiting is not None and not waiting.done():
                waiting.set_result(str(content.get("value", "")))

    # --- running code ------------------------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            request = await self.queue.get()
            self.running = asyncio.get_running_loop().create_task(self._run(request))
            try:
                await asyncio.wait((self.running,))
            finally:
                self.running = None

    async def _run(self, request: _Request) -> None:
        parent = request.header
        code = str(request.content.get("code", ""))
        if request.content.get("store_history", True):
            self.execution_count += 1
        count = self.execution_count
        outputs: CodeOutputs = self.outputs_for(code)
        await self.status("busy", parent)
        await self.publish(self.message("iopub", "execute_input", {"code": code, "execution_count": count}, parent))
        try:
            error = await self._outputs(request, outputs, count)
        except asyncio.CancelledError:  # interrupted, shut down, or the kernel died
            if self.ending == "death":
                return  # a dead process sends nothing more
            await self._raised(request, ("KeyboardInterrupt", ""), count, reply=self.ending != "shutdown")
            await self.status("idle", parent)
            return
        if error is not None:
            await self._raised(request, error, count)
        else:
            content: dict[str, Any] = {"status": "ok", "execution_count": count, "user_expressions": {}, "payload": []}
            await self.answer(request.connection, self.message("shell", "execute_reply", content, parent))
        if outputs.idle:
            await self.status("idle", parent)

    async def _outputs(self, request: _Request, outputs: CodeOutputs, count: int) -> tuple[str, str] | None:
        """Send what the code outputs; the error it raises, if any."""
        parent = request.header
        for extra in outputs.messages:
            origin = parent if extra.parent == "request" else {} if extra.parent == "none" else _header("x", "y")
            message = self.message(extra.channel, extra.msg_type, extra.content, origin)
            await (self.publish(message) if extra.channel == "iopub" else self.answer(request.connection, message))
        if outputs.input_prompt is not None:
            if not request.content.get("allow_stdin"):
                return (
                    "StdinNotImplementedError",
                    "raw_input was called, but this frontend does not support input requests.",
                )
            answer = await self._ask(request, outputs.input_prompt)
            await self._stream("stdout", answer + "\n", parent)
        for name, text in (("stdout", outputs.stdout), ("stderr", outputs.stderr)):
            for piece in [text] if isinstance(text, str) else text:
                await self._stream(name, piece, parent)
        for bundle in outputs.displays:
            content = {"data": dict(bundle), "metadata": {}, "transient": {}}
            await self.publish(self.message("iopub", "display_data", content, parent))
        if outputs.delay:
            await self.clock.sleep(outputs.delay)
        if outputs.hang:
            await asyncio.Event().wait()  # until interrupted, restarted or shut down
        if outputs.error is not None:
            return outputs.error
        if outputs.result is not None:
            data = {"text/plain": outputs.result} if isinstance(outputs.result, str) else dict(outputs.result)
            content = {"data": data, "metadata": {}, "execution_count": count}
            await self.publish(self.message("iopub", "execute_result", content, parent))
        return None

    async def _stream(self, name: str, text: str, parent: Mapping[str, Any]) -> None:
        if text:
            await self.publish(self.message("iopub", "stream", {"name": name, "text": text}, parent))

    async def _ask(self, request: _Request, prompt: str) -> str:
        message = self.message("stdin", "input_request", {"prompt": prompt, "password": False}, request.header)
        waiting: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.answers[message.header["msg_id"]] = waiting
        await self.answer(request.connection, message)
        return await waiting

    async def _raised(self, request: _Request, error: tuple[str, str], count: int, reply: bool = True) -> None:
        ename, evalue = error
        lines = [f"\x1b[31m{ename}\x1b[39m: {evalue}"]
        content: dict[str, Any] = {"ename": ename, "evalue": evalue, "traceback": lines}
        await self.publish(self.message("iopub", "error", content, request.header))
        if not reply:
            return  # a kernel shut down mid-execution sends the error and idle, never the reply
        reply_content = {"status": "error", "execution_count": count, **content}
        await self.answer(request.connection, self.message("shell", "execute_reply", reply_content, request.header))

    # --- what the REST side does to it ---------------------------------------------------------------
    def interrupt(self) -> None:
        if self.running is not None:
            self.running.cancel()

    async def shut_down(self, restart: bool) -> None:
        """What a delete (or a restart) sends: a `shutdown_reply`; the running code is interrupted
        (its error and idle come, its reply never does)."""
        request = _header("shutdown_request", uuid.uuid4().hex)
        await self.status("busy", request)
        await self.publish(self.message("iopub", "shutdown_reply", {"status": "ok", "restart": restart}, request))
        await self.status("idle", request)
        running = self.running
        if running is not None:
            self.ending = "shutdown"
            running.cancel()
            await asyncio.wait((running,))
            self.ending = ""
        if restart:
            self.execution_count = 0

    async def die(self, restarts: bool) -> None:
        """The kernel process dies: the code's messages stop; `restarting` (or `dead`) follows."""
        running, worker = self.running, self.worker
        self.ending = "death"
        for task in (running, worker):
            if task is not None:
                task.cancel()
        for task in (running, worker):
            if task is not None:
                await asyncio.wait((task,))
        self.worker, self.ending = None, ""
        self.execution_count = 0
        self.queue = asyncio.Queue()  # what was queued died with the process
        await self.status("restarting" if restarts else "dead", {})
        if restarts and self.connections:
            self.worker = asyncio.get_running_loop().create_task(self._work())

    async def stop_working(self) -> None:
        """Stop running code for good (the kernel is gone; its connections stay open, as on the real server)."""
        self.ending = "death"
        for task in (self.running, self.worker):
            if task is not None:
                task.cancel()
                await asyncio.wait((task,))
        self.worker = None

    def abandon(self) -> None:
        """Stop at once, without waiting (the fake's state is being reset)."""
        self.ending = "death"
        for task in (self.running, self.worker):
            if task is not None:
                task.cancel()

    async def close(self) -> None:
        """Stop and close every connection (the fake is stopping)."""
        await self.stop_working()
        for connection in list(self.connections):
            with contextlib.suppress(Exception):
                await connection.ws.close()


def legacy_binary(message: Mapping[str, Any], buffers: Sequence[bytes]) -> bytes:
    """Jupyter Server's `serialize_binary_message`: the legacy framing of a message with buffers."""
    parts = [json.dumps(dict(message)).encode(), *buffers]
    offsets = [4 * (len(parts) + 1)]
    for part in parts[:-1]:
        offsets.append(offsets[-1] + len(part))
    return struct.pack("!" + "I" * (len(parts) + 1), len(parts), *offsets) + b"".join(parts)
