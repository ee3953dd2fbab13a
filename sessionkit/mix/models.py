"""Mix session models, with the camelCase wire names of the REST API (v0.11.4, v0.10.1 and v0.1.1).

Responses of every generation decode into the same models: a field one generation lacks is optional
here (`SessionData.session_type` is absent in 0.1.1, `browser_mode` before 0.11). Request fields a
generation does not know are `None` by default and then not sent, since older servers reject
unknown fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from .._bodies import Upload
from .._serde import OpenEnum, wire
from .events import ResponseType

__all__ = [
    "SessionType",
    "SubagentType",
    "PromptMode",
    "BrowserMode",
    "CallbackType",
    "ErrorType",
    "MessageRole",
    "ThinkingLevel",
    "Callback",
    "SessionData",
    "ToolCallData",
    "CallbackResultData",
    "Message",
    "MessageAccepted",
    "CancelResult",
    "ExportToolCall",
    "ExportMessage",
    "ExportSession",
    "FileInfo",
    "Upload",
    "ListSessionsRequest",
    "CreateSessionRequest",
    "GetSessionRequest",
    "ForkSessionRequest",
    "DeleteSessionRequest",
    "CancelSessionRequest",
    "ListMessagesRequest",
    "SendMessageRequest",
    "RewindSessionRequest",
    "ExportSessionRequest",
    "UpdateCallbacksRequest",
    "ListFilesRequest",
    "UploadFileRequest",
    "DownloadFileRequest",
    "DeleteFileRequest",
    "StreamEventsRequest",
    "PermissionGranted",
    "PermissionDenied",
    "GrantPermissionRequest",
    "DenyPermissionRequest",
    "RespondNotificationRequest",
    "MessageHistoryRequest",
]


class SessionType(OpenEnum):
    """What kind of session: a root session, a user's fork (servers up to 0.10.1), or a subagent."""

    MAIN = "main"
    FORKED = "forked"
    SUBAGENT = "subagent"


class SubagentType(OpenEnum):
    GENERAL_PURPOSE = "general-purpose"


class PromptMode(OpenEnum):
    """How `custom_system_prompt` combines with the base prompt (the server's default is `default`)."""

    DEFAULT = "default"
    APPEND = "append"
    REPLACE = "replace"


class BrowserMode(OpenEnum):
    """How the session's agent drives a browser (0.11.2+; required by 0.11 servers on create)."""

    ELECTRON_EMBEDDED_BROWSER = "electron-embedded-browser"
    LOCAL_BROWSER_SERVICE = "local-browser-service"
    REMOTE_CDP_WEBSOCKET = "remote-cdp-websocket"


class CallbackType(OpenEnum):
    BASH_SCRIPT = "bash_script"
    SUB_AGENT = "sub_agent"
    SEND_MESSAGE = "send_message"


class ErrorType(OpenEnum):
    """`type` of a Mix `RESTError` body."""

    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    INTERNAL_ERROR = "internal_error"
    UNAUTHORIZED = "unauthorized"
    VALIDATION_ERROR = "validation_error"


class MessageRole(OpenEnum):
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class ThinkingLevel(OpenEnum):
    """Reasoning budget of one message: off, basic (4k tokens), medium (10k), maximum (32k)."""

    OFF = "off"
    BASIC = "basic"
    MEDIUM = "medium"
    MAXIMUM = "maximum"


@attrs.define(kw_only=True)
class Callback:
    """An action the server runs after a tool completes (`tool_name="*"` for every tool)."""

    tool_name: str = wire("toolName")
    type: CallbackType
    name: str | None = None
    bash_command: str | None = wire("bashCommand", default=None)
    bash_timeout: int | None = wire("bashTimeout", default=None)
    message_content: str | None = wire("messageContent", default=None)
    sub_agent_prompt: str | None = wire("subAgentPrompt", default=None)
    sub_agent_type: str | None = wire("subAgentType", default=None)
    exclude_from_context: bool | None = wire("excludeFromContext", default=None)
    include_full_history: bool | None = wire("includeFullHistory", default=None)


@attrs.define(kw_only=True)
class SessionData:
    """A session and its usage counters. `created_at` carries the server's UTC offset."""

    id: str
    title: str
    user_message_count: int = wire("userMessageCount")
    assistant_message_count: int = wire("assistantMessageCount")
    tool_call_count: int = wire("toolCallCount")
    prompt_tokens: int = wire("promptTokens")
    completion_tokens: int = wire("completionTokens")
    cost: float
    created_at: datetime = wire("createdAt")
    # Required from 0.2.x on, absent in 0.1.1.
    session_type: SessionType | None = wire("sessionType", default=None)
    # Required from 0.11.2 on.
    browser_mode: BrowserMode | None = wire("browserMode", default=None)
    cdp_url: str | None = wire("cdpUrl", default=None)
    # 0.11.4: empty means the server's default model.
    model_id: str | None = wire("modelId", default=None)
    provider: str | None = None
    # `get` omits it; `list` includes it.
    first_user_message: str | None = wire("firstUserMessage", default=None)
    parent_session_id: str | None = wire("parentSessionId", default=None)
    parent_tool_call_id: str | None = wire("parentToolCallId", default=None)
    subagent_type: SubagentType | None = wire("subagentType", default=None)
    callbacks: list[Callback] | None = None
    working_directory: str | None = wire("workingDirectory", default=None)


@attrs.define(kw_only=True)
class ToolCallData:
    """One tool call of a message; `input` is the tool's JSON input as a string."""

    id: str
    name: str
    input: str
    type: str
    finished: bool
    result: str | None = None
    is_error: bool | None = wire("isError", default=None)
    screenshot_urls: list[str] | None = wire("screenshotUrls", default=None)


@attrs.define(kw_only=True)
class CallbackResultData:
    """What a session callback did after a tool call (snake_case on the wire, unlike the rest)."""

    tool_call_id: str
    tool_name: str
    callback_type: CallbackType
    success: bool
    callback_name: str | None = None
    error: str | None = None
    exclude_from_context: bool | None = None
    exit_code: int | None = None
    stderr: str | None = None
    stdout: str | None = None
    subagent_id: str | None = None
    subagent_result: str | None = None


@attrs.define(kw_only=True)
class Message:
    """A message of a session: 0.10+'s `BackendMessage`, or 0.1.1's `MessageData`.

    0.10+ fill `user_input` and `assistant_response`; 0.1.1 filled `content` and `response`.
    """

    id: str
    session_id: str = wire("sessionId")
    role: MessageRole
    user_input: str | None = wire("userInput", default=None)
    assistant_response: str | None = wire("assistantResponse", default=None)
    reasoning: str | None = None
    reasoning_duration: int | None = wire("reasoningDuration", default=None)
    tool_calls: list[ToolCallData] | None = wire("toolCalls", default=None)
    callback_results: list[CallbackResultData] | None = wire("callbackResults", default=None)
    # 0.11.4
    cost: float | None = None
    model: str | None = None
    input_tokens: int | None = wire("inputTokens", default=None)
    output_tokens: int | None = wire("outputTokens", default=None)
    cache_creation_tokens: int | None = wire("cacheCreationTokens", default=None)
    cache_read_tokens: int | None = wire("cacheReadTokens", default=None)
    # 0.1.1
    content: str | None = None
    response: str | None = None


@attrs.define(kw_only=True)
class MessageAccepted:
    """The answer to a sent message.

    0.10+ answer 202 before the agent runs (`status` "processing"; the output arrives on
    `sessions_stream`). 0.1.1 servers answered 200 after the turn, with the message itself.
    """

    status: str | None = None
    session_id: str | None = wire("sessionId", default=None)
    message: Message | None = None


@attrs.define(kw_only=True)
class CancelResult:
    cancelled: bool | None = None


@attrs.define(kw_only=True)
class ExportToolCall:
    id: str
    name: str
    input: str
    type: str
    finished: bool
    input_json: dict[str, Any] | None = wire("inputJson", default=None)
    result: str | None = None
    screenshot_urls: list[str] | None = wire("screenshotUrls", default=None)


@attrs.define(kw_only=True)
class ExportMessage:
    id: str
    role: MessageRole
    content: str
    created_at: datetime = wire("createdAt")
    updated_at: datetime = wire("updatedAt")
    tool_calls: list[ExportToolCall] | None = wire("toolCalls", default=None)
    model: str | None = None
    reasoning: str | None = None
    reasoning_duration: int | None = wire("reasoningDuration", default=None)
    finish_reason: str | None = wire("finishReason", default=None)


@attrs.define(kw_only=True)
class ExportSession:
    """A session's whole transcript (`sessions_export`)."""

    id: str
    title: str
    messages: list[ExportMessage]
    user_message_count: int | None = wire("userMessageCount", default=None)
    assistant_message_count: int | None = wire("assistantMessageCount", default=None)
    tool_call_count: int | None = wire("toolCallCount", default=None)
    prompt_tokens: int | None = wire("promptTokens", default=None)
    completion_tokens: int | None = wire("completionTokens", default=None)
    cost: float | None = None
    created_at: datetime | None = wire("createdAt", default=None)
    updated_at: datetime | None = wire("updatedAt", default=None)


@attrs.define(kw_only=True)
class FileInfo:
    """A file in a session's storage directory; `modified` is Unix time in seconds."""

    name: str
    size: int
    modified: int
    is_dir: bool = wire("isDir")
    url: str


@attrs.define(kw_only=True)
class ListSessionsRequest:
    """Query of `GET /api/sessions`; subagent sessions are hidden unless asked for (0.10.1+)."""

    include_subagents: bool | None = wire("includeSubagents", default=None)


@attrs.define(kw_only=True)
class CreateSessionRequest:
    """Body of `POST /api/sessions`. Servers reject unknown fields, so unset ones are not sent.

    0.11 servers require `browser_mode`; 0.10 and older ones do not know it (nor `cdp_url`,
    `model_id`, `provider`), so leave those out for them.
    """

    title: str
    browser_mode: BrowserMode | None = wire("browserMode", default=None)
    cdp_url: str | None = wire("cdpUrl", default=None)
    model_id: str | None = wire("modelId", default=None)
    provider: str | None = None
    custom_system_prompt: str | None = wire("customSystemPrompt", default=None)
    prompt_mode: PromptMode | None = wire("promptMode", default=None)
    session_type: SessionType | None = wire("sessionType", default=None)
    subagent_type: str | None = wire("subagentType", default=None)
    callbacks: list[Callback] | None = None
    # Accepted by 0.1.1 servers only.
    working_directory: str | None = wire("workingDirectory", default=None)


@attrs.define(kw_only=True)
class GetSessionRequest:
    id: str


@attrs.define(kw_only=True)
class DeleteSessionRequest:
    id: str


@attrs.define(kw_only=True)
class ForkSessionRequest:
    """Fork `id`, keeping messages up to `message_index` (0-based in 0.10.1).

    A body is sent only when `message_index` or `title` is given: 0.1.1 servers take none,
    0.10.1 servers require `message_index`.
    """

    id: str
    message_index: int | None = wire("messageIndex", default=None)
    title: str | None = None


@attrs.define(kw_only=True)
class CancelSessionRequest:
    id: str


@attrs.define(kw_only=True)
class ListMessagesRequest:
    id: str


@attrs.define(kw_only=True)
class SendMessageRequest:
    """Body of `POST /api/sessions/{id}/messages`: `text` (0.10+), or `content` for 0.1.1 servers.

    `thinking_level` left out lets the server choose from keywords in the text; `max_steps`
    (0.11.3+, >= 1) caps the turn's tool-call iterations.
    """

    id: str
    text: str | None = None
    plan_mode: bool | None = None
    thinking_level: ThinkingLevel | None = None
    max_steps: int | None = None
    content: str | None = None


@attrs.define(kw_only=True)
class RewindSessionRequest:
    """Keep the messages up to `message_id`; `cleanup_media` (server default true) deletes newer media."""

    id: str
    message_id: str = wire("messageId")
    cleanup_media: bool | None = wire("cleanupMedia", default=None)


@attrs.define(kw_only=True)
class ExportSessionRequest:
    id: str


@attrs.define(kw_only=True)
class UpdateCallbacksRequest:
    """Replace a session's callbacks; `[]` clears them."""

    id: str
    callbacks: list[Callback]


@attrs.define(kw_only=True)
class ListFilesRequest:
    id: str


@attrs.define(kw_only=True)
class UploadFileRequest:
    """Upload `file` into the session's storage (servers refuse files over 32 MB with 413).

    `file` is an `Upload`, or what `Upload` takes: a path, bytes, or an async iterable of bytes.
    """

    id: str
    file: Upload = attrs.field(converter=Upload.of)


@attrs.define(kw_only=True)
class DownloadFileRequest:
    """A file of the session: `thumb` ("100", "w100", "h100") asks for an image thumbnail, `time`
    (seconds, 0 to 86400) picks the frame of a video thumbnail."""

    id: str
    filename: str
    thumb: str | None = None
    time: float | None = None


@attrs.define(kw_only=True)
class DeleteFileRequest:
    id: str
    filename: str


@attrs.define(kw_only=True)
class StreamEventsRequest:
    """The event stream of session `id`; `last_event_id` is sent as `Last-Event-ID` (today's
    servers ignore it)."""

    id: str = wire("sessionId")
    last_event_id: str | None = None


@attrs.define(kw_only=True)
class PermissionGranted:
    """The answer to a grant: `granted` says whether the server recorded it."""

    granted: bool | None = None


@attrs.define(kw_only=True)
class PermissionDenied:
    """The answer to a deny: `denied` says whether the server recorded it."""

    denied: bool | None = None


@attrs.define(kw_only=True)
class GrantPermissionRequest:
    """Grant the permission `id` (a `PermissionEvent.id` of the session's event stream)."""

    id: str


@attrs.define(kw_only=True)
class DenyPermissionRequest:
    """Deny the permission `id` (a `PermissionEvent.id` of the session's event stream)."""

    id: str


@attrs.define(kw_only=True)
class RespondNotificationRequest:
    """Answer the notification `id` (0.11.1+): `type` is the event's `response_type`; `value` the
    text typed (`text`) or the choice picked (`choice`), optional for `acknowledge`."""

    id: str
    type: ResponseType
    value: str | None = None


@attrs.define(kw_only=True)
class MessageHistoryRequest:
    """Query of `GET /api/messages/history`: the user messages of every session, `limit` (1 to 1000,
    server default 50) from `offset`."""

    limit: int | None = None
    offset: int | None = None
