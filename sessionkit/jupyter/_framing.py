"""The two ways Jupyter Server frames kernel messages on a channels WebSocket, both directions.

`v1.kernel.websocket.jupyter.org` (binary): an 8-byte little-endian count of offsets, the offsets
(8 bytes each, from the start of the message), then the channel name and the message parts
(header, parent header, metadata, content, buffers...), each part JSON. The legacy framing (the
server offers no subprotocol): one JSON text message holding `channel`, `header`,
`parent_header`, `metadata` and `content`; one with buffers comes as binary (a 4-byte big-endian
count, 4-byte offsets, the JSON, the buffers).

Decoding checks every count, offset and type a hostile server could get wrong and raises
`FramingError`; the content is parsed only when asked for (`Incoming.content`), so a message for
another request costs two small JSON parses.
"""

from __future__ import annotations

import struct
import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from .. import _json  # pyright: ignore[reportPrivateUsage]  # its loads/dumps are switched at run time

__all__ = ["V1", "Framing", "FramingError", "Incoming", "decode", "encode", "new_header"]

V1 = "v1.kernel.websocket.jupyter.org"
Framing = Literal["v1", "legacy"]
CHANNELS = frozenset({"shell", "iopub", "stdin", "control"})
PROTOCOL_VERSION = "5.4"
_MAX_PARTS = 1024  # header, parent, metadata, content and buffers: far more than any kernel sends
_EMPTY = b"{}"


class FramingError(ValueError):
    """A WebSocket message that is not a kernel message in the channel's framing."""


class Incoming:
    """One kernel message as read off the WebSocket: its channel, header and parent header, and
    its content (parsed on first use). `size` is the content's size on the wire."""

    __slots__ = ("_content", "_raw", "channel", "header", "msg_type", "parent_id", "size")

    def __init__(self, channel: str, header: dict[str, Any], parent: dict[str, Any], raw: bytes | None, content: Any):
        self.channel, self.header = channel, header
        msg_type, parent_id = header.get("msg_type"), parent.get("msg_id")
        if not isinstance(msg_type, str):
            raise FramingError("a message header has no msg_type string")
        self.msg_type = msg_type
        self.parent_id: str | None = parent_id if isinstance(parent_id, str) else None
        self._raw, self._content = raw, content
        self.size = len(raw) if raw is not None else 0

    def content(self) -> dict[str, Any]:
        """The message's content (a JSON object); `FramingError` when it is not one."""
        if self._content is None:
            self._content = _object(self._raw or _EMPTY, "content")
            self._raw = None
        return self._content


def _object(data: bytes | str, what: str) -> dict[str, Any]:
    try:
        value = _json.loads(data)
    except ValueError as exc:
        raise FramingError(f"the {what} of a kernel message is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise FramingError(f"the {what} of a kernel message is not a JSON object")
    return value  # pyright: ignore[reportUnknownVariableType]


def _offsets(data: bytes, count_size: int, order: Literal["little", "big"]) -> list[int]:
    """The offsets a binary message starts with (a count, then that many offsets), checked."""
    width = count_size
    if len(data) < width:
        raise FramingError("a binary kernel message is shorter than its offset count")
    count = int.from_bytes(data[:width], order)
    if count < 1 or count > _MAX_PARTS or width * (count + 1) > len(data):
        raise FramingError(f"a binary kernel message announces {count} offsets, which do not fit it")
    fmt = ("<" if order == "little" else ">") + ("Q" if width == 8 else "I") * count
    offsets = list(struct.unpack_from(fmt, data, width))
    previous = width * (count + 1)
    for offset in offsets:
        if offset < previous or offset > len(data):
            raise FramingError("a binary kernel message has offsets out of order or past its end")
        previous = offset
    return offsets


def _decode_v1(data: bytes) -> Incoming:
    offsets = _offsets(data, 8, "little")
    if len(offsets) < 6:  # channel, header, parent header, metadata, content, end
        raise FramingError(f"a v1 kernel message has {len(offsets) - 2} parts, fewer than 4")
    try:
        channel = data[offsets[0] : offsets[1]].decode("ascii")
    except UnicodeDecodeError:
        raise FramingError("a v1 kernel message names no channel") from None
    if channel not in CHANNELS:
        raise FramingError(f"a v1 kernel message names no known channel ({channel[:40]!r})")
    header = _object(data[offsets[1] : offsets[2]], "header")
    parent = _object(data[offsets[2] : offsets[3]] or _EMPTY, "parent header")
    return Incoming(channel, header, parent, data[offsets[4] : offsets[5]], None)


def _decode_legacy(text: str | bytes, size: int) -> Incoming:
    message = _object(text, "message")
    channel, header = message.get("channel"), message.get("header")
    parent: Any = message.get("parent_header") or {}
    if channel not in CHANNELS or not isinstance(header, dict) or not isinstance(parent, dict):
        raise FramingError("a legacy kernel message lacks its channel, header or parent header")
    content = message.get("content")
    if not isinstance(content, dict):
        raise FramingError("the content of a kernel message is not a JSON object")
    incoming = Incoming(str(channel), header, parent, None, content)  # pyright: ignore[reportUnknownArgumentType]
    incoming.size = size
    return incoming


def decode(data: bytes | str, framing: Framing) -> Incoming:
    """One WebSocket message as a kernel message; `FramingError` for anything else."""
    if isinstance(data, str):
        if framing == "v1":
            raise FramingError("a text message on a v1 channel (v1 frames every message as binary)")
        return _decode_legacy(data, len(data))
    if framing == "v1":
        return _decode_v1(data)
    offsets = _offsets(data, 4, "big")  # legacy with buffers: the JSON is the first part
    end = offsets[1] if len(offsets) > 1 else len(data)
    return _decode_legacy(data[offsets[0] : end], len(data))


def new_header(msg_type: str, session: str, wall: float) -> dict[str, Any]:
    """A request's header: a fresh `msg_id`, this client's `session`, the time `wall` (epoch seconds)."""
    return {
        "msg_id": uuid.uuid4().hex,
        "msg_type": msg_type,
        "username": "sessionkit",
        "session": session,
        "date": datetime.fromtimestamp(wall, timezone.utc).isoformat(),
        "version": PROTOCOL_VERSION,
    }


def encode(
    channel: str, header: dict[str, Any], content: dict[str, Any], parent: dict[str, Any], framing: Framing
) -> bytes | str:
    """A message for the server: bytes in the v1 framing, JSON text in the legacy one."""
    if framing == "legacy":
        message: dict[str, Any] = {
            "channel": channel,
            "header": header,
            "msg_id": header["msg_id"],
            "msg_type": header["msg_type"],
            "parent_header": parent,
            "metadata": {},
            "content": content,
            "buffers": [],
        }
        return _json.dumps(message).decode("utf-8")
    name = channel.encode("ascii")
    parts = (_json.dumps(header), _json.dumps(parent) if parent else _EMPTY, _EMPTY, _json.dumps(content))
    offsets = [8 * (len(parts) + 3)]
    offsets.append(offsets[0] + len(name))
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    return struct.pack(f"<{len(offsets) + 1}Q", len(offsets), *offsets) + name + b"".join(parts)
