"""The events of `sessions_stream`: one class per event type of the Mix event stream, and
`UnknownEvent` for any other type (such as the server's `rate_limit_error`, in no document).

Every event carries `event` (its type), and from the SSE frame `event_id` and `retry` (ms). Today's
servers number events per connection from 1, so an `event_id` is not unique across reconnects.
"""

from __future__ import annotations

from typing import Any

import attrs

from .. import _json  # pyright: ignore[reportPrivateUsage]  # its loads/dumps are switched at run time
from .._serde import OpenEnum, StructureFailure, structure_hook, wire
from .._sse import ServerSentEvent
from ..errors import ResponseValidationError, SessionkitError
from ..result import Err, Ok, Result

__all__ = [
    "NotificationType",
    "ResponseType",
    "StreamEvent",
    "ConnectedEvent",
    "HeartbeatEvent",
    "UserMessageCreatedEvent",
    "ThinkingEvent",
    "ContentEvent",
    "ToolUseStartEvent",
    "ToolUseParameterDeltaEvent",
    "ToolUseParameterStreamingCompleteEvent",
    "ToolExecutionStartEvent",
    "ToolExecutionCompleteEvent",
    "PermissionEvent",
    "NotificationEvent",
    "CompleteEvent",
    "ErrorEvent",
    "SessionCreatedEvent",
    "SessionDeletedEvent",
    "UnknownEvent",
    "EVENT_TYPES",
    "decode_event",
]


class NotificationType(OpenEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    QUESTION = "question"


class ResponseType(OpenEnum):
    """How a notification is answered (`/api/notifications/{id}/respond`)."""

    ACKNOWLEDGE = "acknowledge"
    TEXT = "text"
    CHOICE = "choice"


@attrs.define(kw_only=True)
class StreamEvent:
    """Base of every event: its type, the SSE frame's id and retry, and from its data the `type`
    most events repeat and `parent_tool_call_id` (set when a subagent's work sent it)."""

    event: str = ""
    event_id: str | None = wire("eventId", default=None)
    retry: int | None = None
    type: str | None = None
    parent_tool_call_id: str | None = wire("parentToolCallId", default=None)


@attrs.define(kw_only=True)
class ConnectedEvent(StreamEvent):
    """The first event of every connection."""

    event: str = "connected"
    session_id: str = wire("sessionId")


@attrs.define(kw_only=True)
class HeartbeatEvent(StreamEvent):
    """Sent every 45 s while nothing else is."""

    event: str = "heartbeat"


@attrs.define(kw_only=True)
class UserMessageCreatedEvent(StreamEvent):
    event: str = "user_message_created"
    message_id: str = wire("messageId")
    content: str


@attrs.define(kw_only=True)
class _AssistantEvent(StreamEvent):
    """An event of the assistant's message being written."""

    assistant_message_id: str | None = wire("assistantMessageId", default=None)


@attrs.define(kw_only=True)
class ThinkingEvent(_AssistantEvent):
    """A piece of the assistant's reasoning."""

    event: str = "thinking"
    content: str


@attrs.define(kw_only=True)
class ContentEvent(_AssistantEvent):
    """A piece of the assistant's answer."""

    event: str = "content"
    content: str


@attrs.define(kw_only=True)
class ToolUseStartEvent(_AssistantEvent):
    event: str = "tool_use_start"
    id: str
    name: str


@attrs.define(kw_only=True)
class ToolUseParameterDeltaEvent(_AssistantEvent):
    """A piece of a tool call's JSON input (not parseable until complete)."""

    event: str = "tool_use_parameter_delta"
    tool_call_id: str = wire("toolCallId")
    input: str


@attrs.define(kw_only=True)
class ToolUseParameterStreamingCompleteEvent(_AssistantEvent):
    """A tool call's whole JSON input."""

    event: str = "tool_use_parameter_streaming_complete"
    id: str
    name: str
    input: str


@attrs.define(kw_only=True)
class ToolExecutionStartEvent(StreamEvent):
    event: str = "tool_execution_start"
    tool_name: str = wire("toolName")
    progress: str
    tool_call_id: str = wire("toolCallId")


@attrs.define(kw_only=True)
class ToolExecutionCompleteEvent(StreamEvent):
    event: str = "tool_execution_complete"
    tool_name: str = wire("toolName")
    progress: str
    success: bool
    tool_call_id: str = wire("toolCallId")


@attrs.define(kw_only=True)
class PermissionEvent(StreamEvent):
    """A tool asks for permission: answer with `/api/permissions/{id}/grant` or `/deny`."""

    event: str = "permission"
    id: str
    session_id: str = wire("sessionId")
    tool_name: str = wire("toolName")
    description: str
    action: str
    path: str | None = None
    params: dict[str, Any] | None = None


@attrs.define(kw_only=True)
class NotificationEvent(StreamEvent):
    """A question or notice for the user (0.11.2+): answer with `/api/notifications/{id}/respond`."""

    event: str = "notification"
    id: str
    session_id: str = wire("sessionId")
    notification_type: NotificationType = wire("notificationType")
    title: str
    message: str
    response_type: ResponseType = wire("responseType")
    timeout: int
    created_at: int = wire("createdAt")
    choices: list[str] | None = None


@attrs.define(kw_only=True)
class CompleteEvent(StreamEvent):
    """The end of a turn (of a subagent's turn when `parent_tool_call_id` is set)."""

    event: str = "complete"
    done: bool
    content: str | None = None
    message_id: str | None = wire("messageId", default=None)
    reasoning: str | None = None
    reasoning_duration: int | None = wire("reasoningDuration", default=None)


@attrs.define(kw_only=True)
class ErrorEvent(StreamEvent):
    """The turn failed; `retry_after` (ms) and the attempts say whether the server tries again."""

    event: str = "error"
    error: str
    retry_after: int | None = wire("retryAfter", default=None)
    attempt: int | None = None
    max_attempts: int | None = wire("maxAttempts", default=None)


@attrs.define(kw_only=True)
class SessionCreatedEvent(StreamEvent):
    """Sent to every open stream, whatever its session; `created_at` is Unix time."""

    event: str = "session_created"
    session_id: str = wire("sessionId")
    title: str
    created_at: int = wire("createdAt")


@attrs.define(kw_only=True)
class SessionDeletedEvent(StreamEvent):
    """Sent to every open stream, whatever its session."""

    event: str = "session_deleted"
    session_id: str = wire("sessionId")


@attrs.define(kw_only=True)
class UnknownEvent(StreamEvent):
    """An event of a type no document names: `data` is its JSON, or its text when it is not JSON."""

    data: Any = None


EVENT_TYPES: dict[str, type[StreamEvent]] = {
    str(attrs.fields_dict(cls)["event"].default): cls
    for cls in (
        ConnectedEvent,
        HeartbeatEvent,
        UserMessageCreatedEvent,
        ThinkingEvent,
        ContentEvent,
        ToolUseStartEvent,
        ToolUseParameterDeltaEvent,
        ToolUseParameterStreamingCompleteEvent,
        ToolExecutionStartEvent,
        ToolExecutionCompleteEvent,
        PermissionEvent,
        NotificationEvent,
        CompleteEvent,
        ErrorEvent,
        SessionCreatedEvent,
        SessionDeletedEvent,
    )
}
"""Each documented event type's class, by its `event` name."""

_STRUCTURE = {name: structure_hook(cls) for name, cls in EVENT_TYPES.items()}


def decode_event(sse: ServerSentEvent, operation_id: str) -> Result[StreamEvent, SessionkitError]:
    """`sse` as its typed event; an unknown type as `UnknownEvent`; bad data as `ResponseValidationError`."""
    structure = _STRUCTURE.get(sse.event)
    try:
        data: Any = _json.loads(sse.data)
    except (ValueError, RecursionError):
        if structure is not None:
            return _invalid("the event's data is not JSON", "$", sse, operation_id)
        data = sse.data
    if structure is None:
        return Ok(UnknownEvent(event=sse.event, data=data, event_id=sse.id or None, retry=sse.retry))
    try:
        value: StreamEvent = structure(data)
    except StructureFailure as exc:
        return _invalid(exc.reason, exc.path, sse, operation_id)
    value.event_id, value.retry = sse.id or None, sse.retry
    return Ok(value)


def _invalid(reason: str, path: str, sse: ServerSentEvent, operation_id: str) -> Err[SessionkitError]:
    error = ResponseValidationError(
        f"{sse.event} event: {reason}", field_path=path, raw_text=sse.data[: 1 << 20], operation_id=operation_id
    )
    return Err(error)
