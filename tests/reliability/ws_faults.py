"""A hostile kernel channels WebSocket on top of `fault_server.FaultServer`: the handshake done by hand,
then a script that writes whatever bytes it likes (garbage, a frame that never ends, a close
mid-message) and reads what the client sends. Also answers the REST calls an execution makes
(`GET /api/kernels/{id}`, interrupt, restart) so a script only decides the WebSocket's part."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .fault_server import Behaviour, Conn, Recorded, head, json_body, respond

V1 = "v1.kernel.websocket.jupyter.org"
KERNEL = "22222222-2222-2222-2222-222222222222"
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(
    payload: bytes, opcode: int = 0x2, fin: bool = True, length: int | None = None, compressed: bool = False
) -> bytes:
    """One unmasked server frame; `length` may lie about the payload's size; `compressed` sets RSV1
    (permessage-deflate)."""
    size = len(payload) if length is None else length
    first = bytes([(0x80 if fin else 0) | (0x40 if compressed else 0) | opcode])
    if size < 126:
        return first + bytes([size]) + payload
    if size < 1 << 16:
        return first + bytes([126]) + struct.pack("!H", size) + payload
    return first + bytes([127]) + struct.pack("!Q", size) + payload


def v1_message(channel: str, msg_type: str, content: Any, parent: dict[str, Any]) -> bytes:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": "k", "username": "k", "version": "5.4"}
    parts = [json.dumps(p).encode() for p in (header, parent, {}, content)]
    name = channel.encode()
    offsets = [8 * (len(parts) + 3), 8 * (len(parts) + 3) + len(name)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    return struct.pack(f"<{len(offsets) + 1}Q", len(offsets), *offsets) + name + b"".join(parts)


class Peer:
    """The server's end of one kernel channels WebSocket."""

    def __init__(self, conn: Conn, request: Recorded) -> None:
        self.conn, self.request = conn, request

    async def send(self, data: bytes) -> None:
        await self.conn.send(data)

    async def message(self, channel: str, msg_type: str, content: Any, parent: dict[str, Any]) -> None:
        await self.send(frame(v1_message(channel, msg_type, content, parent)))

    async def read_request(self) -> dict[str, Any]:
        """The next data frame the client sends (a v1 message): its header."""
        reader = self.conn.reader
        assert reader is not None
        while True:
            first, second = await reader.readexactly(2)
            size = second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", await reader.readexactly(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", await reader.readexactly(8))
            mask = await reader.readexactly(4)
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(await reader.readexactly(size)))
            if first & 0x0F == 0x2:
                count = int.from_bytes(payload[:8], "little")
                offsets = [int.from_bytes(payload[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(count)]
                return json.loads(payload[offsets[1] : offsets[2]])

    async def busy(self, parent: dict[str, Any]) -> None:
        await self.message("iopub", "status", {"execution_state": "busy"}, parent)


Script = Callable[[Peer], Awaitable[None]]


def websocket(script: Script, protocol: str | None = V1, extensions: str | None = None) -> Behaviour:
    """Answer the upgrade with 101 (offering `protocol`, accepting `extensions`), then run `script`
    on the connection."""

    async def behave(req: Recorded, conn: Conn) -> None:
        key = req.header("Sec-WebSocket-Key") or ""
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept)]
        if protocol is not None:
            headers.append(("Sec-WebSocket-Protocol", protocol))
        if extensions is not None:
            headers.append(("Sec-WebSocket-Extensions", extensions))
        await conn.send(head(101, headers))
        try:
            await script(Peer(conn, req))
        finally:
            conn.close()

    return behave


KERNEL_JSON = {"id": KERNEL, "name": "python3", "execution_state": "busy", "connections": 1}


def kernel_api(*channels: Behaviour, then: Behaviour | None = None) -> Callable[[Recorded], Behaviour]:
    """A route: each channels handshake takes the next of `channels` (then `then`, by default a 404),
    and the REST calls an execution makes are answered as a live kernel's."""
    queue = deque(channels)
    after = then or respond(404, b"<html>404</html>", content_type="text/html")

    def route(req: Recorded) -> Behaviour:
        if req.path.endswith("/channels"):
            return queue.popleft() if queue else after
        if req.path.endswith(("/interrupt",)):
            return respond(204, b"", content_type=None)
        if req.path.endswith("/restart"):
            return json_body(KERNEL_JSON)
        return json_body(KERNEL_JSON)

    return route
