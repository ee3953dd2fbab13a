"""The kernel channels framing (`sessionkit/jupyter/_framing.py`): both framings read what Jupyter
Server writes, and any bytes a hostile server sends are a `FramingError`, never another exception."""

from __future__ import annotations

import contextlib
import json
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionkit.jupyter._framing import FramingError, decode, encode, new_header
from sessionkit.testing._kernels import _frame_v1, _unframe_v1, legacy_binary  # pyright: ignore[reportPrivateUsage]

HEADER = {"msg_id": "m1", "msg_type": "stream", "session": "s", "username": "k", "date": "", "version": "5.4"}
PARENT = {"msg_id": "p1", "msg_type": "execute_request"}
CONTENT = {"name": "stdout", "text": "hi\n"}


def server_v1(channel: str = "iopub", header: Any = HEADER, parent: Any = PARENT, content: Any = CONTENT) -> bytes:
    """A message as Jupyter Server frames it (its own `serialize_msg_to_ws_v1`, copied in the fake)."""
    parts = [json.dumps(p).encode() for p in (header, parent, {}, content)]
    return _frame_v1(channel, parts)


def test_a_v1_message_from_the_server() -> None:
    message = decode(server_v1(), "v1")
    assert (message.channel, message.msg_type, message.parent_id) == ("iopub", "stream", "p1")
    assert message.content() == CONTENT
    assert message.size == len(json.dumps(CONTENT))


def test_a_v1_message_with_buffers_and_an_empty_parent() -> None:
    parts = [json.dumps(p).encode() for p in (HEADER, {}, {}, CONTENT)] + [b"\x00\x01", b"buffer"]
    message = decode(_frame_v1("shell", parts), "v1")
    assert (message.channel, message.parent_id) == ("shell", None)
    assert message.content() == CONTENT


def test_a_legacy_text_message_and_one_with_buffers() -> None:
    legacy = {"channel": "iopub", "header": HEADER, "parent_header": PARENT, "metadata": {}, "content": CONTENT}
    text = decode(json.dumps(legacy), "legacy")
    binary = decode(legacy_binary({**legacy, "buffers": []}, [b"\xff\xfe"]), "legacy")
    for message in (text, binary):
        assert (message.channel, message.msg_type, message.parent_id) == ("iopub", "stream", "p1")
        assert message.content() == CONTENT


@pytest.mark.parametrize("framing", ["v1", "legacy"])
def test_what_the_client_sends_is_what_the_server_reads(framing: str) -> None:
    header = new_header("execute_request", "session-1", 1_700_000_000.5)
    content = {"code": "print('é')", "silent": False}
    data = encode("shell", header, content, {}, framing)  # type: ignore[arg-type]
    if framing == "v1":
        assert isinstance(data, bytes)
        channel, parts = _unframe_v1(data)  # the server's `deserialize_msg_from_ws_v1`
        assert channel == "shell"
        assert [json.loads(p) for p in parts] == [header, {}, {}, content]
    else:
        assert isinstance(data, str)
        message = json.loads(data)
        assert (message["channel"], message["header"], message["content"]) == ("shell", header, content)
        assert message["parent_header"] == {}
    assert header["session"] == "session-1"
    assert header["date"].startswith("2023-11-14T22:13:20.5")
    assert len(header["msg_id"]) == 32


def test_a_reply_names_its_parent() -> None:
    data = encode("stdin", new_header("input_reply", "s", 0), {"value": "x"}, PARENT, "v1")
    assert isinstance(data, bytes)
    assert json.loads(_unframe_v1(data)[1][1]) == PARENT


def _offsets(count: int, *offsets: int) -> bytes:
    return struct.pack(f"<{len(offsets) + 1}Q", count, *offsets)


@pytest.mark.parametrize(
    ("data", "framing", "says"),
    [
        (b"", "v1", "shorter than"),
        (b"\x01\x00", "v1", "shorter than"),
        (_offsets(2**63, 16), "v1", "do not fit"),
        (_offsets(0), "v1", "do not fit"),
        (_offsets(3, 32, 33, 34) + b"xx", "v1", "fewer than 4"),
        (_offsets(6, 56, 40, 41, 42, 43, 44) + b"x" * 60, "v1", "out of order"),
        (_offsets(6, 56, 61, 62, 63, 64, 10_000) + b"x" * 60, "v1", "past its end"),
        (server_v1(channel="bogus"), "v1", "no known channel"),
        (_frame_v1("iopub", [b"not json", b"{}", b"{}", b"{}"]), "v1", "header of a kernel message is not JSON"),
        (_frame_v1("iopub", [b"[1]", b"{}", b"{}", b"{}"]), "v1", "not a JSON object"),
        (server_v1(header={"msg_type": 7}), "v1", "no msg_type"),
        (_frame_v1("iopub", [json.dumps(HEADER).encode(), b"[]", b"{}", b"{}"]), "v1", "parent header"),
        ("[" * 600 + "]" * 600, "legacy", "nested"),
        ("not json", "legacy", "not JSON"),
        ("[]", "legacy", "not a JSON object"),
        (json.dumps({"channel": "iopub", "header": HEADER, "content": "x"}), "legacy", "content"),
        (json.dumps({"channel": "nope", "header": HEADER, "content": {}}), "legacy", "channel"),
        ("a text frame", "v1", "text message on a v1 channel"),
    ],
)
def test_bad_messages_are_framing_errors(data: bytes | str, framing: str, says: str) -> None:
    with pytest.raises(FramingError, match=says):
        decode(data, framing)  # type: ignore[arg-type]


def test_content_that_is_not_an_object_fails_when_read() -> None:
    message = decode(_frame_v1("iopub", [json.dumps(HEADER).encode(), b"{}", b"{}", b'"text"']), "v1")
    with pytest.raises(FramingError, match="content"):
        message.content()


def test_deep_json_is_refused_by_the_one_depth_rule() -> None:
    deep = b'{"a":' * 600 + b"1" + b"}" * 600
    message = decode(_frame_v1("iopub", [json.dumps(HEADER).encode(), b"{}", b"{}", deep]), "v1")
    with pytest.raises(FramingError, match="nested"):
        message.content()


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), framing=st.sampled_from(["v1", "legacy"]))
def test_random_bytes_are_a_framing_error_or_a_message(data: bytes, framing: str) -> None:
    with contextlib.suppress(FramingError):
        decode(data, framing).content()  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=2**64 - 1), min_size=1, max_size=8),
    tail=st.binary(max_size=64),
)
def test_random_offsets_are_a_framing_error_or_a_message(offsets: list[int], tail: bytes) -> None:
    data = _offsets(len(offsets), *offsets) + tail
    with contextlib.suppress(FramingError):
        decode(data, "v1").content()
