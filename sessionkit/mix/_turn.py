"""`sessions_run`: one Mix turn, from the message that starts it to its end.

The order matters because the server broadcasts events only to streams open at the time (nothing is
replayed): the session's event stream is opened first, the message is sent once the stream has
said it is connected, and the turn is then followed on that stream. Every wait of the turn (the
stream's reads, each callback, each answer, the messages list) asks one `Deadline`, which ends a
few seconds before the call's total deadline: those seconds are kept to cancel the turn on the
server when it passes. A turn with no total deadline gets `DEFAULT_TURN_SECONDS`.

A dropped stream is opened again by `event_stream` (within the retry policy), or here when the
server ends it cleanly. Each new connection (its `connected` event) is reconciled through the
session's messages list (what the agent said and ran while the stream was down) and its export,
whose last `finishReason` tells whether the turn ended meanwhile (UNCONFIRMED: the documents do not
say when the server sets it). A permission asked while the stream was down is lost on today's
servers, which replay nothing; the turn then waits for its deadline. Each question is answered at
most once: its id is remembered before the answer is sent, across connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import weakref
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from typing import Any, NoReturn, cast

from .._deadline import Deadline, DeadlinePassed
from .._operation import Invalid, Operation, plan
from .._options import RequestOptions, Timeout, resolve_timeout
from .._pipeline import start
from .._serde import StructureFailure, structure_request
from .._sse import ServerSentEvent, event_stream
from ..errors import (
    APIError,
    ConnectionError,
    InvalidRequestError,
    NotFoundError,
    RequestTimeoutError,
    ResponseValidationError,
    SessionkitError,
    clean_text,
)
from ..result import Err, Ok, Result
from ._core import MixCore
from .events import (
    CompleteEvent,
    ConnectedEvent,
    ContentEvent,
    ErrorEvent,
    NotificationEvent,
    PermissionEvent,
    ResponseType,
    SessionDeletedEvent,
    StreamEvent,
    ToolExecutionCompleteEvent,
    ToolUseParameterStreamingCompleteEvent,
    ToolUseStartEvent,
    UserMessageCreatedEvent,
    decode_event,
)
from .models import ExportSession, Message, MessageRole
from .sessions import (
    CANCEL_SESSION,
    DENY_PERMISSION,
    EXPORT_SESSION,
    GRANT_PERMISSION,
    LIST_MESSAGES,
    RESPOND_NOTIFICATION,
    SEND_MESSAGE,
    STREAM_EVENTS,
)
from .turns import (
    AnsweredBy,
    NotificationCallback,
    PermissionCallback,
    Question,
    RunTurnRequest,
    ToolUse,
    Turn,
    TurnEnd,
)

__all__ = ["CANCEL_RESERVE", "DEFAULT_TURN_SECONDS", "RUN_ID", "run_turn"]

RUN_ID = "mix.sessions.run"
DEFAULT_TURN_SECONDS = 3600.0
"""A turn's total deadline when neither the call's options nor the core set `Timeout.total`."""
CANCEL_RESERVE = 5.0
"""The seconds at the end of the total deadline kept for cancelling the turn (a tenth of a
deadline shorter than 50 s)."""
_MAX_PROBLEMS = 10
# The events whose data the turn keeps (their size counts towards the core's `max_response_bytes`).
_KEPT = frozenset(
    {
        "user_message_created",
        "content",
        "tool_use_start",
        "tool_use_parameter_streaming_complete",
        "tool_execution_complete",
        "permission",
        "notification",
        "complete",
        "error",
    }
)
_CANCELLED_REASONS = frozenset({"canceled", "cancelled"})


class _Bad:
    """An event that did not decode: kept as a problem, the stream goes on."""

    __slots__ = ("error",)

    def __init__(self, error: SessionkitError) -> None:
        self.error = error


class _OutOfTime(Exception):
    """The turn's deadline passed (`error` says where)."""

    def __init__(self, error: RequestTimeoutError) -> None:
        super().__init__(error.message)
        self.error = error


class _Failed(Exception):
    """The turn cannot go on: `error` is the call's result."""

    def __init__(self, error: SessionkitError) -> None:
        super().__init__(error.message)
        self.error = error


async def _called(fn: Callable[[Any], Any], event: Any) -> Any:
    """`fn(event)`, awaited when it gives an awaitable (the caller's callbacks are async functions)."""
    outcome = fn(event)
    return await outcome if inspect.isawaitable(outcome) else outcome


def _check(request: Any, on_permission: Any, on_notification: Any) -> RunTurnRequest:
    """The request as its model; `Invalid` for bad input."""
    if isinstance(request, RunTurnRequest):
        model = request
    elif isinstance(request, Mapping):
        try:
            model = structure_request(dict(cast("Mapping[str, Any]", request)), RunTurnRequest)
        except StructureFailure as exc:
            raise Invalid(exc.reason, exc.path) from None
    else:
        raise Invalid(f"expected RunTurnRequest or a mapping, got {type(request).__name__}", "$")
    for name, fn in (("on_permission", on_permission), ("on_notification", on_notification)):
        if fn is not None and not callable(fn):
            raise Invalid(f"must be an async function or None, got {type(fn).__name__}", name)
    return model


def _send_request(model: RunTurnRequest) -> dict[str, Any]:
    message = model.message
    fields = {
        "id": model.id,
        "text": message.text,
        "plan_mode": message.plan_mode,
        "thinking_level": message.thinking_level,
        "max_steps": message.max_steps,
    }
    return {k: v for k, v in fields.items() if v is not None}


async def run_turn(
    core: MixCore,
    request: Any,
    on_permission: PermissionCallback | None,
    on_notification: NotificationCallback | None,
    options: RequestOptions | None,
) -> Result[Turn, SessionkitError]:
    """See `sessions_run`."""
    cfg = core.config
    started = cfg.clock.monotonic()
    try:
        model = _check(request, on_permission, on_notification)
        send = _send_request(model)
        try:
            plan(cfg, SEND_MESSAGE, send, options)  # the message and the options, checked before anything is sent
        except Invalid as exc:
            inner = exc.field_path  # relative to the send request: its message fields are the turn's `message`
            message_field = inner.startswith("$.") and not inner.startswith("$.id")
            raise Invalid(exc.reason, "$.message" + inner[1:] if message_field else inner) from None
    except Invalid as exc:
        error = InvalidRequestError(exc.reason, field_path=exc.field_path, operation_id=RUN_ID)
        return Err(cfg.secrets.scrub_error(error))
    timeout = resolve_timeout(options.timeout if options is not None else None, cfg.timeout)
    total = timeout.total if timeout.total is not None else DEFAULT_TURN_SECONDS
    reserve = min(CANCEL_RESERVE, total / 10)
    whole = Deadline(Timeout(attempt=timeout.attempt, total=total, connect=timeout.connect), cfg.clock, started)
    follow = Deadline(
        Timeout(attempt=timeout.attempt, total=total - reserve, connect=timeout.connect), cfg.clock, started
    )
    run = _Run(core, model, send, options, whole, follow, on_permission, on_notification)
    slots = _slots(core)
    if slots is None:
        return await run.run()
    try:
        await follow.within(slots.acquire())
    except DeadlinePassed:
        return Err(cfg.secrets.scrub_error(run.timeout("the total deadline passed before the turn could start")))
    try:
        return await run.run()
    finally:
        slots.release()


_SLOTS: weakref.WeakKeyDictionary[MixCore, tuple[asyncio.AbstractEventLoop, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def _slots(core: MixCore) -> asyncio.Semaphore | None:
    """How many turns the core's pool can follow at once, if it is bounded.

    A turn holds one connection for its event stream and needs a second for each request it
    sends; with more turns than half the pool, every stream could hold a connection while every
    send waits for one. The turns of one core (in one event loop) beyond that number wait here.
    """
    limits = [n for n in (core.max_connections, core.max_connections_per_host) if n > 0]
    if not limits:
        return None
    loop = asyncio.get_running_loop()
    held = _SLOTS.get(core)
    if held is None or held[0] is not loop:
        held = _SLOTS[core] = (loop, asyncio.Semaphore(max(1, min(limits) // 2)))
    return held[1]


class _Run:
    """The state of one turn while it is followed."""

    def __init__(
        self,
        core: MixCore,
        model: RunTurnRequest,
        send: dict[str, Any],
        options: RequestOptions | None,
        whole: Deadline,
        follow: Deadline,
        on_permission: PermissionCallback | None,
        on_notification: NotificationCallback | None,
    ) -> None:
        self.core, self.cfg, self.options = core, core.config, options
        self.session_id, self.text, self.send = model.id, model.message.text, send
        self.whole, self.follow = whole, follow
        self.on_permission, self.on_notification = on_permission, on_notification
        self.budget = self.cfg.max_response_bytes
        self.kept = 0
        self.sent = False  # the message was sent (or its send was attempted): there is a turn to cancel
        self.connections = 0
        self.reconnects = 0
        self.started = False  # the turn's user message was seen (its event, or in the messages list)
        self.user_message_id: str | None = None
        self.parts: list[str] = []
        self.final_text: str | None = None
        self.tools: dict[str, ToolUse] = {}
        self.questions: list[Question] = []
        self.answered: set[str] = set()
        self.messages: list[Message] = []
        self.listed_after_end = False
        self.problems: list[str] = []
        self.dropped_problems = 0
        self.ended: TurnEnd | None = None
        self.error: str | None = None
        self.cancelled_on_server = False
        self.cancel_error: str | None = None

    # -- the turn --------------------------------------------------------------------------------

    async def run(self) -> Result[Turn, SessionkitError]:
        try:
            await self._follow()
            if not self.listed_after_end:
                await self._list()
        except _OutOfTime as out:
            if self.ended is None:
                if not self.sent:
                    return Err(self.cfg.secrets.scrub_error(out.error))
                self.ended = "deadline"
                await self._cancel()
                with contextlib.suppress(_OutOfTime):  # what the turn did, if the seconds kept for it allow
                    await self._list(self.whole)
            else:  # the turn had ended; only reading its messages ran out of time
                self._problem(out.error)
        except _Failed as failed:
            if self.sent and self.ended is None:
                await self._cancel()
            return Err(self.cfg.secrets.scrub_error(failed.error))
        return Ok(self._turn())

    async def _follow(self) -> None:
        """Read the stream until the turn ends; open it again when the server ends it cleanly."""
        retry = self.cfg.retry
        waits = retry.waits()
        closes = 0
        while True:
            delivered = await self._read()
            if self.ended is not None:
                return
            if delivered > 1:  # a connection that went past its greeting starts the count again
                closes, waits = 0, retry.waits()
            closes += 1
            if closes > retry.max_retries:
                reason = f"the server ended the event stream {closes} times before the turn ended"
                raise _Failed(ConnectionError(reason, operation_id=RUN_ID))
            if not await self.follow.sleep(next(waits)):
                raise _OutOfTime(self.timeout())

    async def _read(self) -> int:
        """One `event_stream` (with its own reconnections) until it ends; how many events it gave."""
        delivered = 0
        stream: AsyncGenerator[Result[StreamEvent | _Bad, SessionkitError], None] = event_stream(
            self.core, STREAM_EVENTS, {"id": self.session_id}, self.options, decode=self._decode, deadline=self.follow
        )
        async with aclosing(stream) as events:
            async for item in events:
                if isinstance(item, Err):  # the stream failed for good: it ends here
                    self._stream_failed(item.error)
                delivered += 1
                await self._on_event(item.value)
                if self.ended is not None:
                    return delivered
        return delivered

    def _decode(self, sse: ServerSentEvent) -> Result[StreamEvent | _Bad, SessionkitError]:
        decoded = decode_event(sse, STREAM_EVENTS.id)
        if isinstance(decoded, Err):
            return Ok(_Bad(self.cfg.secrets.scrub_error(decoded.error)))
        if sse.event in _KEPT:
            self.kept += len(sse.data)
        return decoded

    def _stream_failed(self, error: SessionkitError) -> NoReturn:
        if isinstance(error, RequestTimeoutError) and error.deadline == "total":
            raise _OutOfTime(error)
        raise _Failed(error)

    async def _on_event(self, event: StreamEvent | _Bad) -> None:
        if isinstance(event, _Bad):
            self._problem(event.error)
            return
        if isinstance(event, ConnectedEvent):
            self.connections += 1
        if not self.sent:
            await self._start(event)
            return
        if self.kept > self.budget:
            reason = f"the turn's events passed max_response_bytes ({self.budget} bytes)"
            raise _Failed(ResponseValidationError(reason, operation_id=RUN_ID))
        if isinstance(event, ConnectedEvent):
            if self.connections > 1:
                self.reconnects += 1
                await self._reconcile()
        elif isinstance(event, UserMessageCreatedEvent):
            if event.parent_tool_call_id is None and not self.started and event.content == self.text:
                self.started, self.user_message_id = True, event.message_id
        elif isinstance(event, ContentEvent):
            if event.parent_tool_call_id is None:
                self.parts.append(event.content)
        elif isinstance(event, (ToolUseStartEvent, ToolUseParameterStreamingCompleteEvent)):
            tool = self._tool(event.id, event.name, event.parent_tool_call_id)
            if isinstance(event, ToolUseParameterStreamingCompleteEvent):
                tool.input = event.input
        elif isinstance(event, ToolExecutionCompleteEvent):
            self._tool(event.tool_call_id, event.tool_name, event.parent_tool_call_id).success = event.success
        elif isinstance(event, PermissionEvent):
            await self._permission(event)
        elif isinstance(event, NotificationEvent):
            await self._notification(event)
        elif isinstance(event, CompleteEvent):
            if event.parent_tool_call_id is None and await self._ours(event.message_id):
                self.ended, self.final_text = "complete", event.content
        elif isinstance(event, ErrorEvent):
            retried = (
                event.attempt is not None and event.max_attempts is not None and event.attempt < event.max_attempts
            )
            if event.parent_tool_call_id is None and not retried and await self._ours(None):
                self.ended, self.error = "error", self._server_text(event.error)
        elif isinstance(event, SessionDeletedEvent) and event.session_id == self.session_id:
            self.ended, self.error = "cancelled", "the session was deleted during the turn"

    async def _start(self, event: StreamEvent) -> None:
        """The stream's first event: send the message once it is live, or refuse the session."""
        if isinstance(event, ErrorEvent):
            reason = f"the server's event stream refused the session: {self._server_text(event.error)}"
            raise _Failed(InvalidRequestError(reason, field_path="$.id", operation_id=RUN_ID))
        self.sent = True
        result = await start(self.cfg, self.core, SEND_MESSAGE, self.send, self.options, deadline=self.follow)
        if isinstance(result, Err):
            error = result.error
            # Refused by the server, or never sent: there is no turn. Otherwise (a timeout, a dropped
            # connection) the message may have started one, which is then cancelled.
            self.sent = not isinstance(error, (APIError, InvalidRequestError))
            if isinstance(error, RequestTimeoutError) and error.deadline == "total":
                raise _OutOfTime(error)
            raise _Failed(error)

    def _tool(self, tool_id: str, name: str, parent: str | None) -> ToolUse:
        tool = self.tools.get(tool_id)
        if tool is None:
            tool = self.tools[tool_id] = ToolUse(id=tool_id, name=name, parent_tool_call_id=parent)
        return tool

    # -- questions -------------------------------------------------------------------------------

    async def _ask(self, callback: Callable[[Any], Any], event: PermissionEvent | NotificationEvent) -> Any:
        """The callback's answer, within the turn's deadline; `DeadlinePassed` when it runs out."""
        return await self.follow.within(_called(callback, event))

    async def _permission(self, event: PermissionEvent) -> None:
        key = f"permission:{event.id}"
        if key in self.answered:
            return  # asked again (after a reconnect, or by a server that repeats itself): answered once
        self.answered.add(key)
        grant, by, failure = False, cast("AnsweredBy", "default"), None
        if self.on_permission is not None:
            try:
                verdict = await self._ask(self.on_permission, event)
            except DeadlinePassed:
                self.questions.append(Question(kind="permission", id=event.id, event=event, answer=None, by="deadline"))
                raise _OutOfTime(self.timeout()) from None
            except Exception as exc:
                failure = self._callback_failed("on_permission", f"raised {type(exc).__name__}: {exc}", exc)
            else:
                if isinstance(verdict, bool):
                    grant, by = verdict, "callback"
                else:
                    reason = f"must return True (grant) or False (deny), got {type(verdict).__name__}"
                    failure = self._callback_failed("on_permission", reason)
            if failure is not None:
                by = "callback_error"
        question = Question(kind="permission", id=event.id, event=event, answer="grant" if grant else "deny", by=by)
        self.questions.append(question)
        await self._deliver(question, GRANT_PERMISSION if grant else DENY_PERMISSION, {"id": event.id}, failure)

    async def _notification(self, event: NotificationEvent) -> None:
        key = f"notification:{event.id}"
        if key in self.answered:
            return
        self.answered.add(key)
        answer, value, by, failure = "acknowledge", None, cast("AnsweredBy", "default"), None
        if self.on_notification is not None:
            try:
                reply = await self._ask(self.on_notification, event)
            except DeadlinePassed:
                self.questions.append(
                    Question(kind="notification", id=event.id, event=event, answer=None, by="deadline")
                )
                raise _OutOfTime(self.timeout()) from None
            except Exception as exc:
                failure = self._callback_failed("on_notification", f"raised {type(exc).__name__}: {exc}", exc)
            else:
                answer, value, reason = _reply(event, reply)
                if reason is None:
                    by = "callback"
                else:
                    failure = self._callback_failed("on_notification", reason)
            if failure is not None:
                answer, value, by = "acknowledge", None, "callback_error"
        question = Question(
            kind="notification", id=event.id, event=event, answer=cast("Any", answer), value=value, by=by
        )
        self.questions.append(question)
        body: dict[str, Any] = {"id": event.id, "type": answer}
        if value is not None:
            body["value"] = value
        await self._deliver(question, RESPOND_NOTIFICATION, body, failure)

    async def _deliver(
        self, question: Question, op: Operation[Any, Any], request: dict[str, Any], failure: SessionkitError | None
    ) -> None:
        """Send the question's answer; a callback's `failure` then ends the turn (it wins over a
        failure of the answer itself, which is what went wrong first)."""
        try:
            question.delivered = await self._answer(op, request)
        except _Failed:
            if failure is None:
                raise
        if failure is not None:
            raise _Failed(failure)

    def _callback_failed(self, name: str, reason: str, cause: BaseException | None = None) -> SessionkitError:
        return InvalidRequestError(reason, field_path=name, cause=cause, operation_id=RUN_ID)

    async def _answer(self, op: Operation[Any, Any], request: dict[str, Any]) -> bool:
        """Send one answer: True when the server took it, False when it says the question is gone."""
        result = await start(self.cfg, self.core, op, request, self.options, deadline=self.follow)
        if isinstance(result, Ok):
            return True
        error = result.error
        if isinstance(error, NotFoundError):
            return False  # answered by someone else, expired, or never known to this server
        if isinstance(error, RequestTimeoutError) and error.deadline == "total":
            raise _OutOfTime(error)
        if isinstance(error, InvalidRequestError) and error.field_path.startswith("$"):
            reason = f"the server asked a question that cannot be answered: {error.reason}"
            raise _Failed(ResponseValidationError(reason, field_path=error.field_path, operation_id=op.id))
        raise _Failed(error)

    # -- what the server holds -------------------------------------------------------------------

    async def _ours(self, message_id: str | None) -> bool:
        """Whether a turn-ending event belongs to this turn. Once the turn's user message was seen it
        does; before, an event naming a message older than that user message is a previous turn's."""
        if self.started:
            return True
        messages = await self._list()
        if messages is None or message_id is None or self.user_message_id is None:
            return True
        ids = [m.id for m in messages]
        return not (message_id in ids and ids.index(message_id) < ids.index(self.user_message_id))

    async def _list(self, deadline: Deadline | None = None) -> list[Message] | None:
        """Read the session's messages: the turn's are those after its user message."""
        result = await start(
            self.cfg, self.core, LIST_MESSAGES, {"id": self.session_id}, self.options, deadline=deadline or self.follow
        )
        if isinstance(result, Err):
            if isinstance(result.error, RequestTimeoutError) and result.error.deadline == "total":
                raise _OutOfTime(result.error)
            self._problem(result.error)
            return None
        messages = result.value
        self.listed_after_end = self.ended is not None
        index = self._user_index([(m.id, m.role, m.user_input or m.content) for m in messages])
        if index is not None:
            self.messages = messages[index + 1 :]
            for message in self.messages:
                for call in message.tool_calls or ():
                    tool = self._tool(call.id, call.name, None)
                    tool.input = tool.input if tool.input is not None else call.input
                    tool.result, tool.is_error = call.result, call.is_error
                    if tool.success is None and call.finished:
                        tool.success = not call.is_error
        return messages

    def _user_index(self, rows: Sequence[tuple[str, MessageRole, str | None]]) -> int | None:
        """Where the turn's user message is among `(id, role, text)` rows: by its id once known, else
        the last user message with the turn's text."""
        if self.user_message_id is not None:
            return next((i for i, row in enumerate(rows) if row[0] == self.user_message_id), None)
        for i in range(len(rows) - 1, -1, -1):
            message_id, role, text = rows[i]
            if role == MessageRole.USER and text == self.text:
                self.started, self.user_message_id = True, message_id
                return i
        return None

    async def _reconcile(self) -> None:
        """After a reconnect: what happened while the stream was down, and whether the turn ended."""
        if await self._list() is None:
            return
        result = await start(
            self.cfg, self.core, EXPORT_SESSION, {"id": self.session_id}, self.options, deadline=self.follow
        )
        if isinstance(result, Err):
            if isinstance(result.error, RequestTimeoutError) and result.error.deadline == "total":
                raise _OutOfTime(result.error)
            return  # a server without export (or one that failed): go on following the stream
        exported: ExportSession = result.value
        rows = [(m.id, m.role, m.content) for m in exported.messages]
        index = self._user_index(rows)
        if index is None or index == len(rows) - 1:
            return
        last = exported.messages[-1]
        reason = last.finish_reason
        if last.role != MessageRole.ASSISTANT or not reason or reason == "tool_use":
            return
        self.final_text = last.content
        if reason in _CANCELLED_REASONS:
            self.ended = "cancelled"
        elif reason == "error":
            self.ended, self.error = "error", "the turn failed while the event stream was down (finishReason 'error')"
        else:
            self.ended = "complete"
        self.listed_after_end = True

    async def _cancel(self) -> None:
        """Cancel the turn on the server, within the seconds kept for it."""
        clock = self.cfg.clock
        at = self.whole.at if self.whole.at is not None else clock.monotonic() + CANCEL_RESERVE
        budget = Deadline.until(clock, min(at, clock.monotonic() + CANCEL_RESERVE))
        result = await start(
            self.cfg, self.core, CANCEL_SESSION, {"id": self.session_id}, self.options, deadline=budget
        )
        if isinstance(result, Ok):
            self.cancelled_on_server = True
        else:
            self.cancel_error = self.cfg.secrets.scrub_error(result.error).message

    # -- the result ------------------------------------------------------------------------------

    def timeout(self, reason: str = "the turn's total deadline passed") -> RequestTimeoutError:
        error = RequestTimeoutError(
            reason,
            deadline="total",
            timeout=self.whole.total,
            operation_id=RUN_ID,
            elapsed=self.whole.elapsed(),
        )
        return error

    def _server_text(self, text: str) -> str:
        return self.cfg.secrets.scrub(clean_text(text))

    def _problem(self, error: SessionkitError) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(self.cfg.secrets.scrub_error(error).message)
        else:
            self.dropped_problems += 1

    def _turn(self) -> Turn:
        text = self.final_text or ""
        if not text:
            answers = [
                m for m in self.messages if m.role == MessageRole.ASSISTANT and (m.assistant_response or m.response)
            ]
            text = (answers[-1].assistant_response or answers[-1].response or "") if answers else "".join(self.parts)
        problems = list(self.problems)
        if self.dropped_problems:
            problems.append(f"... and {self.dropped_problems} more")
        return Turn(
            session_id=self.session_id,
            ended=self.ended or "deadline",
            text=text,
            messages=self.messages,
            tool_uses=list(self.tools.values()),
            questions=self.questions,
            user_message_id=self.user_message_id,
            error=self.error,
            cancelled_on_server=self.cancelled_on_server,
            cancel_error=self.cancel_error,
            reconnects=self.reconnects,
            problems=problems,
        )


def _reply(event: NotificationEvent, reply: Any) -> tuple[str, str | None, str | None]:
    """`(type, value, problem)`: how a callback's reply answers `event`; `problem` when it cannot."""
    if reply is None:
        return "acknowledge", None, None
    if not isinstance(reply, str):
        return "acknowledge", None, f"must return a str or None, got {type(reply).__name__}"
    kind = event.response_type
    if kind == ResponseType.TEXT:
        return "text", reply, None
    if kind == ResponseType.CHOICE:
        if event.choices is not None and reply not in event.choices:
            return "acknowledge", None, f"answered {reply!r}, which is not one of the choices {event.choices!r}"
        return "choice", reply, None
    return "acknowledge", reply, None
