"""The event-stream parser against the WHATWG rules, case by case and under hypothesis.

The properties: any bytes parse without an exception; how the bytes are cut into chunks never
changes the events; events written with any mix of line endings, comments, unknown fields and a
leading BOM come back as written; an event the stream cuts off is never dispatched.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionkit._sse import EventTooLargeError, ServerSentEvent, SSEParser

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(*chunks: bytes) -> list[ServerSentEvent]:
    parser = SSEParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


# --- the rules, one by one -------------------------------------------------------------------------


def test_a_blank_line_dispatches_and_fields_fill_the_event() -> None:
    stream = b'id: 7\nevent: content\ndata: {"a":1}\nretry: 30000\n\n'
    assert parse(stream) == [ServerSentEvent("content", '{"a":1}', "7", 30000)]


def test_data_lines_are_joined_with_lf_and_the_last_lf_is_dropped() -> None:
    assert parse(b"data: one\ndata:two\ndata\ndata:  three\n\n") == [ServerSentEvent("message", "one\ntwo\n\n three")]


@pytest.mark.parametrize("ending", [b"\n", b"\r", b"\r\n"])
def test_every_line_ending(ending: bytes) -> None:
    stream = ending.join([b"event: e", b"data: x", b"", b"data: y", b"", b""])
    assert [(e.event, e.data) for e in parse(stream)] == [("e", "x"), ("message", "y")]


def test_a_crlf_split_across_chunks_is_one_line_ending() -> None:
    assert parse(b"data: x\r", b"\n\r", b"\n") == [ServerSentEvent("message", "x")]
    # a lone CR at a chunk's end, then a line that is not empty: two line endings are not made of it
    assert parse(b"data: x\r", b"data: y\r\r") == [ServerSentEvent("message", "x\ny")]


def test_comments_unknown_fields_and_empty_blocks_dispatch_nothing() -> None:
    assert parse(b": hello\nfoo: bar\n\n\n\nevent: only-a-type\n\nid: 3\n\n") == []


def test_the_last_event_id_stays_until_changed_and_an_empty_id_clears_it() -> None:
    events = parse(b"id: 5\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")
    assert [e.id for e in events] == ["5", "5", ""]


def test_an_id_holding_nul_is_ignored() -> None:
    assert [e.id for e in parse(b"id: 1\n\nid: 2\x003\ndata: x\n\n")] == ["1"]


@pytest.mark.parametrize("value", [b"abc", b"-1", b"1.5", b"  10", b"", "\u0661".encode()])
def test_retry_takes_ascii_digits_only(value: bytes) -> None:
    parser = SSEParser()
    assert parser.feed(b"retry: 100\n\nretry:" + value + b"\ndata: x\n\n") == [ServerSentEvent("message", "x")]
    assert parser.retry == 100


def test_one_leading_space_is_stripped_from_a_value_and_nothing_else() -> None:
    assert parse(b"event:  two spaces\ndata:\tx \n\n") == [ServerSentEvent(" two spaces", "\tx ")]


def test_only_a_leading_bom_is_dropped() -> None:
    bom = "\ufeff".encode()
    assert parse(bom + b"data: x\n\n") == [ServerSentEvent("message", "x")]
    # a second BOM makes the field name unknown; a BOM split over chunks is still the first
    assert parse(bom + bom + b"data: x\n\n") == []
    assert parse(bom[:1], bom[1:] + b"data: y\n\n") == [ServerSentEvent("message", "y")]


def test_bad_utf8_is_replaced_and_a_character_split_over_chunks_is_kept() -> None:
    snowman = "☃".encode()
    assert parse(b"data: \xff\n\n") == [ServerSentEvent("message", "\ufffd")]
    assert parse(b"data: " + snowman[:1], snowman[1:] + b"\n\n") == [ServerSentEvent("message", "☃")]


def test_an_event_cut_off_by_the_end_is_not_dispatched() -> None:
    assert parse(b"data: complete\n\ndata: cut off\n") == [ServerSentEvent("message", "complete")]
    assert parse(b"data: no line end at all") == []


def test_a_field_without_colon_has_an_empty_value() -> None:
    assert parse(b"data\n\n") == [ServerSentEvent("message", "")]


def test_an_event_or_line_past_the_limit_raises() -> None:
    parser = SSEParser(max_event_bytes=10)
    with pytest.raises(EventTooLargeError):
        parser.feed(b"data: 0123456789AB\n")
    with pytest.raises(EventTooLargeError):
        SSEParser(max_event_bytes=10).feed(b"data: 01234\ndata: 56789\n")
    with pytest.raises(EventTooLargeError):
        SSEParser(max_event_bytes=10).feed(b"data: no end " + b"x" * 20)
    assert SSEParser(max_event_bytes=10).feed(b"data: 01234\n\ndata: 56789\n\n")  # per event, not per stream


# --- properties --------------------------------------------------------------------------------------


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@FUZZ
@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_any_bytes_parse_the_same_however_they_are_chunked(data: bytes, cuts: list[int]) -> None:
    whole = parse(data)
    assert parse(*_split(data, cuts)) == whole
    assert parse(*[bytes([b]) for b in data]) == whole


# Text a field can hold: no CR or LF (they end lines); names and ids also no colon or NUL.
_line_text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=20)
_name = st.text(st.characters(blacklist_characters="\r\n:\x00", blacklist_categories=["Cs"]), min_size=1, max_size=12)
# An id holding a control character is ignored (it could not be sent back as Last-Event-ID).
_id = st.text(st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters=":"), min_size=1, max_size=12)
_events = st.lists(
    st.tuples(_name, st.lists(_line_text, min_size=1, max_size=4), st.none() | _id, st.none() | st.integers(0, 10**6)),
    max_size=6,
)


@FUZZ
@given(
    events=_events,
    endings=st.lists(st.sampled_from(["\n", "\r", "\r\n"]), min_size=1, max_size=5),
    bom=st.booleans(),
    noise=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=8),
)
def test_written_events_come_back_as_written(
    events: list[tuple[str, list[str], str | None, int | None]],
    endings: list[str],
    bom: bool,
    noise: bool,
    cuts: list[int],
) -> None:
    lines: list[str] = []
    expected: list[ServerSentEvent] = []
    last_id = ""
    for name, data, event_id, retry in events:
        if noise:
            lines += [": a comment", "x-unknown: field"]
        lines.append(f"event: {name}")
        if event_id is not None:
            lines.append(f"id: {event_id}")
            last_id = event_id
        if retry is not None:
            lines.append(f"retry: {retry}")
        lines += [f"data: {d}" for d in data]
        lines.append("")
        expected.append(ServerSentEvent(name, "\n".join(data), last_id, retry))
    text = ""
    for i, line in enumerate(lines):
        ending = endings[i % len(endings)]
        if text.endswith("\r") and not line and ending == "\n":
            ending = "\r"  # CR then an empty line ended by LF would be one CRLF: a different stream
        text += line + ending
    raw = ("\ufeff" if bom else "").encode() + text.encode()
    assert parse(*_split(raw, cuts)) == expected


@FUZZ
@given(events=_events, cut=st.integers(min_value=1, max_value=60))
def test_a_stream_cut_short_never_dispatches_its_last_event(
    events: list[tuple[str, list[str], str | None, int | None]], cut: int
) -> None:
    blocks = ["".join(f"data: {d}\n" for d in data) + "\n" for _, data, _, _ in events]
    text = "".join(blocks).encode()
    cut_off = text[: max(0, len(text) - cut)]
    complete = cut_off.count(b"\n\n")  # every block ends with its one blank line
    assert len(parse(cut_off)) == complete
