"""Server-sent events: the WHATWG event-stream parser, and a stream that reconnects within the retry policy.

`SSEParser` follows https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream:
UTF-8 (bad bytes replaced), one leading BOM dropped, lines ended by CRLF, LF or CR (also split across
chunks), `:` comments, the `event`, `data` (lines joined with LF), `id` and `retry` (ASCII digits
only) fields, unknown fields ignored, an event dispatched on a blank line only when it has data, and
an event cut off by the end of the stream never dispatched. Two rules are sessionkit's own: an `id`
holding a control character (NUL, ESC, DEL, ...) is ignored, as the spec ignores one with NUL,
since it could not be sent back as a `Last-Event-ID` header; and a `retry` of more than ten digits
is ignored. A line is buffered in pieces, so one endless line costs time linear in its length
until it passes the event size limit.

`event_stream` opens a streamed operation through the pipeline and yields its events. Its body is
read by the bounded reader (pieces of at most 64 KiB, so no chunk of a compression bomb turns into
one huge batch of events). A 2xx answer that is not `text/event-stream` is an `Err`, not an empty
stream. A dropped connection (cut short, or silent for longer than `Timeout.attempt`) is opened
again after a backoff wait from the call's `RetryConfig` on the core's clock, sending the last
event id when there is one. `max_retries` drops in a row (or waits past `max_total_wait`) end it
with the error; a connection that brought more than one event (servers often greet with one, as
Mix's `connected`) starts the count again. One `Timeout.total`, if set, bounds the whole stream,
reconnections included. The server's `retry:` field is kept on the events but does not set the
wait. A stream the server ends cleanly ends the iteration. Leaving the iteration (or cancelling
it) closes the connection.
"""

from __future__ import annotations

import asyncio
import codecs
import re
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from ._deadline import Deadline
from ._operation import Operation
from ._options import OptionError, RequestOptions, resolve_retry, resolve_timeout
from ._pipeline import execute
from ._reader import ByteStream
from ._retry import RetryConfig
from ._tracing import TRACING, OperationSpan, end_stream, stream_span
from ._tracing import current as tracing_current
from ._tracing import tracer as current_tracer
from .errors import ConnectionError, RequestTimeoutError, ResponseValidationError, SessionkitError
from .result import Err, Ok, Result

if TYPE_CHECKING:
    from ._core import BaseCore

__all__ = ["EventTooLargeError", "SSEParser", "ServerSentEvent", "event_stream"]

T = TypeVar("T")
_LINE_END = re.compile(r"\r\n|\r|\n")
_HEADER_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # what a header value may not hold
_MAX_RETRY_DIGITS = 10
_EVENTS_PER_TURN = 256  # events handed out between two turns of the event loop, at most
EVENT_STREAM = "text/event-stream"


@attrs.frozen
class ServerSentEvent:
    """One dispatched event. `id` is the stream's last event id when it was dispatched (the
    WHATWG `lastEventId`, "" for none); `retry` the reconnection time in ms its block gave, if any."""

    event: str
    data: str
    id: str = ""
    retry: int | None = None


class EventTooLargeError(Exception):
    """One event (or one line) grew past the parser's limit."""


class SSEParser:
    """An incremental event-stream parser: `feed(bytes)` returns the events those bytes complete."""

    def __init__(self, max_event_bytes: int | None = None, last_event_id: str = "") -> None:
        self.last_event_id = last_event_id
        """The last event ID buffer (kept across events, and across connections by the caller)."""
        self.retry: int | None = None
        """The reconnection time (ms) the stream asked for last."""
        self._limit = max_event_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._started = False
        self._pending: list[str] = []  # the pieces of a line not ended yet
        self._pending_size = 0
        self._skip_lf = False  # the last chunk ended in CR: an LF opening the next one ends nothing
        self._data: list[str] = []
        self._size = 0
        self._event = ""
        self._block_retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by `chunk`. Raises `EventTooLargeError` past the size limit."""
        text = self._decoder.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._skip_lf and text:
            self._skip_lf = False
            text = text.removeprefix("\n")
        events: list[ServerSentEvent] = []
        start = 0
        for end in _LINE_END.finditer(text):
            line = text[start : end.start()]
            if self._pending:
                self._pending.append(line)
                line = "".join(self._pending)
                self._pending, self._pending_size = [], 0
            start = end.end()
            event = self._line_done(line)
            if event is not None:
                events.append(event)
        if start < len(text):
            rest = text[start:]
            self._pending.append(rest)
            self._pending_size += len(rest)
            self._check_size(self._pending_size)
        elif text.endswith("\r"):
            self._skip_lf = True
        return events

    def _check_size(self, extra: int) -> None:
        if self._limit is not None and self._size + extra > self._limit:
            raise EventTooLargeError(f"an event is longer than {self._limit} characters")

    def _line_done(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._check_size(len(value) + 1)
            self._size += len(value) + 1
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if _HEADER_UNSAFE.search(value) is None:
                self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit() and len(value) <= _MAX_RETRY_DIGITS:
            self.retry = self._block_retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data, event, retry = self._data, self._event, self._block_retry
        self._data, self._size, self._event, self._block_retry = [], 0, "", None
        if not data:
            return None
        return ServerSentEvent(event or "message", "\n".join(data), self.last_event_id, retry)


def _resumed(request: Any, field: str, last_event_id: str) -> Any:
    """`request` asking to resume after `last_event_id` (a mapping or an attrs model)."""
    if isinstance(request, Mapping):
        return {**cast("Mapping[str, Any]", request), field: last_event_id}
    return attrs.evolve(request, **{field: last_event_id})


def _as_is(event: ServerSentEvent) -> Result[Any, SessionkitError]:
    return Ok(event)


async def _not_an_event_stream(body: ByteStream, op: Operation[Any, Any]) -> SessionkitError:
    """The error for a success answer that is not an event stream (an HTML page, a JSON body)."""
    text = ""
    async with aclosing(body.__aiter__()) as chunks:
        async for chunk in chunks:  # one bounded piece is enough to show what it was
            text = chunk.value.decode("utf-8", "replace")[:1000] if isinstance(chunk, Ok) else ""
            break
    shown = body.content_type or "no Content-Type"
    reason = f"expected an event stream ({EVENT_STREAM}), got {shown}"
    return ResponseValidationError(reason, raw_text=text, status=body.status, headers=body.headers, operation_id=op.id)


async def event_stream(
    core: BaseCore,
    op: Operation[Any, ByteStream],
    request: Any,
    options: RequestOptions | None = None,
    *,
    resume_field: str = "last_event_id",
    decode: Callable[[ServerSentEvent], Result[T, SessionkitError]] = _as_is,
    deadline: Deadline | None = None,
) -> AsyncGenerator[Result[T, SessionkitError], None]:
    """The events of `op` (a streamed operation), each passed through `decode`; a failure of the
    stream comes once as `Err` and ends it, an `Err` from `decode` (one bad event) is yielded and the
    stream goes on. `resume_field` is the request field sent as `Last-Event-ID` on a reconnect.
    `deadline` is one the stream shares with the rest of a longer call (a Mix turn): its total
    deadline then bounds the stream instead of the options' own. Every error is scrubbed of the
    core's secrets."""
    cfg = core.config
    try:
        retry = resolve_retry(options.retries if options else None, cfg.retry)
        timeout = resolve_timeout(options.timeout if options else None, cfg.timeout)
    except OptionError:  # the first open below refuses the same options with their field path
        retry, timeout = cfg.retry, cfg.timeout
    if deadline is None:
        deadline = Deadline(timeout, cfg.clock)  # one for the whole stream, reconnections included
    tracer = current_tracer() if TRACING else None
    if tracer is None:
        async for item in _events(core, op, request, options, resume_field, decode, retry, deadline, None):
            yield item
        return
    span = stream_span(tracer, op, cfg.service, request)
    last: SessionkitError | None = None
    finished = False
    try:
        async for item in _events(core, op, request, options, resume_field, decode, retry, deadline, span):
            if isinstance(item, Ok):
                span.events += 1
            else:
                last = item.error
            yield item
        finished = True
    finally:
        end_stream(span, last, cancelled=not finished and last is None)


async def _events(
    core: BaseCore,
    op: Operation[Any, ByteStream],
    request: Any,
    options: RequestOptions | None,
    resume_field: str,
    decode: Callable[[ServerSentEvent], Result[T, SessionkitError]],
    retry: RetryConfig,
    deadline: Deadline,
    span: OperationSpan | None,
) -> AsyncGenerator[Result[T, SessionkitError], None]:
    cfg = core.config
    secrets = cfg.secrets
    current = request
    last_id = ""
    drops, waited = 0, 0.0
    waits = None
    while True:
        with tracing_current(span):  # the connection's HTTP spans are the stream span's children
            opened = await execute(cfg, core, op, current, options, deadline=deadline, span=span)
        if isinstance(opened, Err):
            yield opened
            return
        body: ByteStream = opened.value
        if body.content_type.split(";", 1)[0].strip().lower() != EVENT_STREAM:
            yield Err(secrets.scrub_error(await _not_an_event_stream(body, op)))
            return
        parser = SSEParser(cfg.max_response_bytes, last_id)
        failure: SessionkitError | None = None
        delivered = 0
        async with body, aclosing(body.__aiter__()) as chunks:
            async for chunk in chunks:
                if isinstance(chunk, Err):
                    failure = chunk.error
                    break
                try:
                    events = parser.feed(chunk.value)
                except EventTooLargeError as exc:
                    yield Err(secrets.scrub_error(ResponseValidationError(str(exc), operation_id=op.id)))
                    return
                for event in events:
                    delivered += 1
                    if delivered % _EVENTS_PER_TURN == 0:
                        await asyncio.sleep(0)  # a flood of tiny events leaves the loop its turns
                    decoded = decode(event)
                    yield decoded if isinstance(decoded, Ok) else Err(secrets.scrub_error(decoded.error))
        if failure is None:
            return  # the server ended the stream
        last_id = parser.last_event_id
        if delivered > 1 or waits is None:  # one that went past its greeting starts the count again
            drops, waited, waits = 0, 0.0, retry.waits()
        drops += 1
        wait = next(waits)
        worth_it = isinstance(failure, ConnectionError) or (
            isinstance(failure, RequestTimeoutError) and failure.deadline == "attempt"
        )
        if not worth_it or drops > retry.max_retries or waited + wait > retry.max_total_wait or core.closed_by_caller:
            yield Err(failure)
            return
        if span is not None:
            span.retry(drops, wait, f"reconnect after {type(failure).__name__}")
        waited += wait
        if not await deadline.sleep(wait):
            yield Err(failure)
            return
        current = _resumed(request, resume_field, last_id) if last_id else request
