"""Mix `/api/sessions`: operation declarations and their functions.

Responses follow the v0.10.1/v0.11.4 wire format; the older v0.1.1 envelope `{"data", "error",
"message"}` is unwrapped, and a `null` list (the Go server's empty slice) decodes as `[]`. Failing
responses become `RESTResponseError` or `MixDefaultError` subclasses (see `sessionkit.mix.errors`).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, cast

import attrs

from .._download import DOWNLOAD_MAX_BYTES, download
from .._operation import Operation
from .._options import RequestOptions
from .._reader import ByteStream
from .._registry import collect, drives, streams
from .._rules import at_least, between, fields
from .._sse import ServerSentEvent, event_stream
from ..errors import SessionkitError
from ..result import Result
from ._core import MixCore
from .events import ResponseType, StreamEvent, decode_event
from .models import (
    CancelResult,
    CancelSessionRequest,
    CreateSessionRequest,
    DeleteFileRequest,
    DeleteSessionRequest,
    DenyPermissionRequest,
    DownloadFileRequest,
    ExportSession,
    ExportSessionRequest,
    FileInfo,
    ForkSessionRequest,
    GetSessionRequest,
    GrantPermissionRequest,
    ListFilesRequest,
    ListMessagesRequest,
    ListSessionsRequest,
    Message,
    MessageAccepted,
    MessageHistoryRequest,
    PermissionDenied,
    PermissionGranted,
    RespondNotificationRequest,
    RewindSessionRequest,
    SendMessageRequest,
    SessionData,
    StreamEventsRequest,
    UpdateCallbacksRequest,
    UploadFileRequest,
)
from .turns import NotificationCallback, PermissionCallback, RunTurnRequest, Turn

if TYPE_CHECKING:  # the mapping twins are for the checker; the pipeline reads any mapping
    from .params import (
        CancelSessionRequestParams,
        CreateSessionRequestParams,
        DeleteFileRequestParams,
        DeleteSessionRequestParams,
        DenyPermissionRequestParams,
        DownloadFileRequestParams,
        ExportSessionRequestParams,
        ForkSessionRequestParams,
        GetSessionRequestParams,
        GrantPermissionRequestParams,
        ListFilesRequestParams,
        ListMessagesRequestParams,
        ListSessionsRequestParams,
        MessageHistoryRequestParams,
        RespondNotificationRequestParams,
        RewindSessionRequestParams,
        RunTurnRequestParams,
        SendMessageRequestParams,
        StreamEventsRequestParams,
        UpdateCallbacksRequestParams,
        UploadFileRequestParams,
    )

__all__ = [
    "ByteStream",
    "DOWNLOAD_MAX_BYTES",
    "OPERATIONS",
    "sessions_list",
    "sessions_create",
    "sessions_get",
    "sessions_fork",
    "sessions_delete",
    "sessions_cancel",
    "sessions_messages_list",
    "sessions_messages_send",
    "sessions_rewind",
    "sessions_export",
    "sessions_callbacks_update",
    "sessions_files_list",
    "sessions_files_upload",
    "sessions_files_download",
    "sessions_files_delete",
    "sessions_stream",
    "sessions_run",
    "permissions_grant",
    "permissions_deny",
    "notifications_respond",
    "messages_history",
]

_ENVELOPE_KEYS = frozenset({"data", "error", "message"})


def _wire_keys(model: type[Any]) -> frozenset[str]:
    return frozenset(a.metadata.get("wire", a.name) for a in attrs.fields(model))


def _envelope(model: type[Any], *, empty: Any = None) -> Callable[[Any], Any]:
    """A decode step: the `data` of a v0.1.1 envelope (a body holding `data` and none of the bare
    `model`'s fields), else the body as it is; `null` becomes `empty`."""
    bare = _wire_keys(model) - _ENVELOPE_KEYS

    def unwrap(body: Any) -> Any:
        data: Any = body
        if isinstance(body, dict):
            fields = cast("dict[str, Any]", body)
            if "data" in fields and bare.isdisjoint(fields):
                data = fields["data"]
        return empty if data is None else data

    unwrap.__qualname__ = f"envelope({model.__name__})"
    return unwrap


unwrap_envelope = _envelope(SessionData)
"""The `data` member of a v0.1.1 `{"data", "error", "message"}` envelope; a bare body as it is."""
unwrap_list = _envelope(SessionData, empty=[])
"""Like `unwrap_envelope`, with `null` read as the empty list."""
_unwrap_message_list = _envelope(Message, empty=[])
_unwrap_file_list = _envelope(FileInfo, empty=[])
_unwrap_cancel = _envelope(CancelResult)
_unwrap_accepted = _envelope(MessageAccepted)
_unwrap_granted = _envelope(PermissionGranted)
_unwrap_denied = _envelope(PermissionDenied)


def _accepted(body: Any) -> Any:
    """0.10+ answer `{status, sessionId}`; 0.1.1 answered the message itself (in its envelope)."""
    data: Any = _unwrap_accepted(body)
    if not isinstance(data, dict):
        return data
    message = cast("dict[str, Any]", data)
    if "role" in message and "status" not in message:
        return {"sessionId": message.get("sessionId"), "message": message}
    return message


_THUMB = re.compile(r"\d+|w\d+|h\d+")


def _thumb(value: str) -> str | None:
    return None if _THUMB.fullmatch(value) else f"must be a size: '100', 'w100' or 'h100', got {value!r}"


_send_fields = fields(max_steps=at_least(1))


def _send_rules(request: SendMessageRequest) -> tuple[str, str] | None:
    if (request.text is None) == (request.content is None):
        return "$.text", "give `text` (servers 0.10+), or `content` for a 0.1.1 server: one of them"
    return _send_fields(request)


def _create_rules(request: CreateSessionRequest) -> tuple[str, str] | None:
    """0.11.4's rules on the browser and the model, checked before anything is sent."""
    if request.cdp_url is not None and not request.cdp_url.startswith(("ws://", "wss://")):
        return "$.cdp_url", "must start with ws:// or wss://"
    if request.browser_mode == "remote-cdp-websocket" and not request.cdp_url:
        return "$.cdp_url", "is required when browser_mode is remote-cdp-websocket"
    if request.model_id is not None and not request.provider:
        return "$.provider", "is required when model_id is set"
    return None


def _respond_rules(request: RespondNotificationRequest) -> tuple[str, str] | None:
    if request.type in (ResponseType.TEXT, ResponseType.CHOICE) and request.value is None:
        return "$.value", f"is required when type is {request.type.value!r} (the text typed, or the choice picked)"
    return None


def _replayable(request: UploadFileRequest) -> bool:
    # The same name overwrites the same file, so a retry is safe when the source can be re-read.
    return request.file.replayable


LIST_SESSIONS: Operation[ListSessionsRequest, list[SessionData]] = Operation(
    id="mix.sessions.list",
    method="GET",
    path="/api/sessions",
    request=ListSessionsRequest,
    response=list[SessionData],
    body=None,
    query=("include_subagents",),
    decode=unwrap_list,
)
CREATE_SESSION: Operation[CreateSessionRequest, SessionData] = Operation(
    id="mix.sessions.create",
    method="POST",
    path="/api/sessions",
    request=CreateSessionRequest,
    response=SessionData,
    success=(201,),
    validate=_create_rules,
    decode=unwrap_envelope,
)
GET_SESSION: Operation[GetSessionRequest, SessionData] = Operation(
    id="mix.sessions.get",
    method="GET",
    path="/api/sessions/{id}",
    request=GetSessionRequest,
    response=SessionData,
    body=None,
    decode=unwrap_envelope,
)
FORK_SESSION: Operation[ForkSessionRequest, SessionData] = Operation(
    id="mix.sessions.fork",
    method="POST",
    path="/api/sessions/{id}/fork",
    request=ForkSessionRequest,
    response=SessionData,
    success=(201,),
    send_empty_body=False,  # 0.1.1 servers take no body (Prism answers one with 415)
    validate=fields(message_index=at_least(0)),
    decode=unwrap_envelope,
)
DELETE_SESSION: Operation[DeleteSessionRequest, None] = Operation(
    id="mix.sessions.delete",
    method="DELETE",
    path="/api/sessions/{id}",
    request=DeleteSessionRequest,
    success=(204,),
    body=None,
)

CANCEL_SESSION: Operation[CancelSessionRequest, CancelResult] = Operation(
    id="mix.sessions.cancel",
    method="POST",
    path="/api/sessions/{id}/cancel",
    request=CancelSessionRequest,
    response=CancelResult,
    body=None,
    retry_safe=True,  # cancelling twice cancels once
    decode=_unwrap_cancel,
)
LIST_MESSAGES: Operation[ListMessagesRequest, list[Message]] = Operation(
    id="mix.sessions.messages.list",
    method="GET",
    path="/api/sessions/{id}/messages",
    request=ListMessagesRequest,
    response=list[Message],
    body=None,
    decode=_unwrap_message_list,
)
SEND_MESSAGE: Operation[SendMessageRequest, MessageAccepted] = Operation(
    id="mix.sessions.messages.send",
    method="POST",
    path="/api/sessions/{id}/messages",
    request=SendMessageRequest,
    response=MessageAccepted,
    success=(202, 200),
    validate=_send_rules,
    decode=_accepted,
)
REWIND_SESSION: Operation[RewindSessionRequest, SessionData] = Operation(
    id="mix.sessions.rewind",
    method="POST",
    path="/api/sessions/{id}/rewind",
    request=RewindSessionRequest,
    response=SessionData,
    retry_safe=True,  # rewinding to a message twice leaves the same session
    decode=unwrap_envelope,
)
EXPORT_SESSION: Operation[ExportSessionRequest, ExportSession] = Operation(
    id="mix.sessions.export",
    method="GET",
    path="/api/sessions/{id}/export",
    request=ExportSessionRequest,
    response=ExportSession,
    body=None,
)
UPDATE_CALLBACKS: Operation[UpdateCallbacksRequest, SessionData] = Operation(
    id="mix.sessions.callbacks.update",
    method="PATCH",
    path="/api/sessions/{id}/callbacks",
    request=UpdateCallbacksRequest,
    response=SessionData,
    retry_safe=True,  # the list replaces the session's callbacks whole
)
LIST_FILES: Operation[ListFilesRequest, list[FileInfo]] = Operation(
    id="mix.sessions.files.list",
    method="GET",
    path="/api/sessions/{id}/files",
    request=ListFilesRequest,
    response=list[FileInfo],
    body=None,
    decode=_unwrap_file_list,
)
UPLOAD_FILE: Operation[UploadFileRequest, FileInfo] = Operation(
    id="mix.sessions.files.upload",
    method="POST",
    path="/api/sessions/{id}/files/upload",
    request=UploadFileRequest,
    response=FileInfo,
    success=(201,),
    form=True,
    retry_safe=_replayable,
)
DOWNLOAD_FILE: Operation[DownloadFileRequest, ByteStream] = Operation(
    id="mix.sessions.files.download",
    method="GET",
    path="/api/sessions/{id}/files/{filename}",
    request=DownloadFileRequest,
    response=ByteStream,
    body=None,
    query=("thumb", "time"),
    accept="*/*",
    validate=fields(thumb=_thumb, time=between(0, 86400)),
)
DELETE_FILE: Operation[DeleteFileRequest, None] = Operation(
    id="mix.sessions.files.delete",
    method="DELETE",
    path="/api/sessions/{id}/files/{filename}",
    request=DeleteFileRequest,
    success=(204,),
    body=None,
)
STREAM_EVENTS: Operation[StreamEventsRequest, ByteStream] = Operation(
    id="mix.sessions.stream",
    method="GET",
    path="/stream",
    request=StreamEventsRequest,
    response=ByteStream,
    body=None,
    query=("id",),
    headers={"last_event_id": "Last-Event-ID"},
    accept="text/event-stream",
)

GRANT_PERMISSION: Operation[GrantPermissionRequest, PermissionGranted] = Operation(
    id="mix.permissions.grant",
    method="POST",
    path="/api/permissions/{id}/grant",
    request=GrantPermissionRequest,
    response=PermissionGranted,
    body=None,
    retry_safe=True,  # the same answer to the same question: a repeat finds it answered (404)
    decode=_unwrap_granted,
)
DENY_PERMISSION: Operation[DenyPermissionRequest, PermissionDenied] = Operation(
    id="mix.permissions.deny",
    method="POST",
    path="/api/permissions/{id}/deny",
    request=DenyPermissionRequest,
    response=PermissionDenied,
    body=None,
    retry_safe=True,  # the same answer to the same question: a repeat finds it answered (404)
    decode=_unwrap_denied,
)
RESPOND_NOTIFICATION: Operation[RespondNotificationRequest, None] = Operation(
    id="mix.notifications.respond",
    method="POST",
    path="/api/notifications/{id}/respond",
    request=RespondNotificationRequest,
    success=(204,),
    retry_safe=True,  # the same answer to the same notification: a repeat finds it answered (404)
    validate=_respond_rules,
)
MESSAGE_HISTORY: Operation[MessageHistoryRequest, list[Message]] = Operation(
    id="mix.messages.history",
    method="GET",
    path="/api/messages/history",
    request=MessageHistoryRequest,
    response=list[Message],
    body=None,
    query=("limit", "offset"),
    validate=fields(limit=between(1, 1000), offset=at_least(0)),
    decode=_unwrap_message_list,
)


async def sessions_list(
    core: MixCore,
    request: ListSessionsRequest | ListSessionsRequestParams | None = None,
    *,
    options: RequestOptions | None = None,
) -> Result[list[SessionData], SessionkitError]:
    """List sessions (`{"include_subagents": true}` to include subagent sessions)."""
    return await core.send(LIST_SESSIONS, request, options)


async def sessions_create(
    core: MixCore,
    request: CreateSessionRequest | CreateSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[SessionData, SessionkitError]:
    """Create a session (201); 0.11 servers require `browser_mode`. Not retried without an idempotency key."""
    return await core.send(CREATE_SESSION, request, options)


async def sessions_get(
    core: MixCore,
    request: GetSessionRequest | GetSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[SessionData, SessionkitError]:
    """Get one session by id (`{"id": "ID"}`)."""
    return await core.send(GET_SESSION, request, options)


async def sessions_fork(
    core: MixCore,
    request: ForkSessionRequest | ForkSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[SessionData, SessionkitError]:
    """Fork a session (`{"id": "ID", "message_index": 3, "title": "t"}`, both optional; servers up to 0.10.1)."""
    return await core.send(FORK_SESSION, request, options)


async def sessions_delete(
    core: MixCore,
    request: DeleteSessionRequest | DeleteSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[None, SessionkitError]:
    """Delete a session and all its data (204)."""
    return await core.send(DELETE_SESSION, request, options)


async def sessions_cancel(
    core: MixCore,
    request: CancelSessionRequest | CancelSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[CancelResult, SessionkitError]:
    """Stop the agent's work on a session (`{"id": "ID"}`); `cancelled` says whether it was running."""
    return await core.send(CANCEL_SESSION, request, options)


async def sessions_messages_list(
    core: MixCore,
    request: ListMessagesRequest | ListMessagesRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[list[Message], SessionkitError]:
    """The messages of a session, oldest first (`{"id": "ID"}`)."""
    return await core.send(LIST_MESSAGES, request, options)


async def sessions_messages_send(
    core: MixCore,
    request: SendMessageRequest | SendMessageRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[MessageAccepted, SessionkitError]:
    """Send a user message (202: the agent runs after the answer; open `sessions_stream` first)."""
    return await core.send(SEND_MESSAGE, request, options)


async def sessions_rewind(
    core: MixCore,
    request: RewindSessionRequest | RewindSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[SessionData, SessionkitError]:
    """Delete the messages after `message_id` (0.10+), and by default the media made since."""
    return await core.send(REWIND_SESSION, request, options)


async def sessions_export(
    core: MixCore,
    request: ExportSessionRequest | ExportSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[ExportSession, SessionkitError]:
    """A session's whole transcript: messages, tool calls, reasoning and counters (0.10+)."""
    return await core.send(EXPORT_SESSION, request, options)


async def sessions_callbacks_update(
    core: MixCore,
    request: UpdateCallbacksRequest | UpdateCallbacksRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[SessionData, SessionkitError]:
    """Replace a session's callbacks (`{"id": "ID", "callbacks": []}` clears them; 0.10+)."""
    return await core.send(UPDATE_CALLBACKS, request, options)


async def sessions_files_list(
    core: MixCore,
    request: ListFilesRequest | ListFilesRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[list[FileInfo], SessionkitError]:
    """The files in a session's storage directory (0.10+)."""
    return await core.send(LIST_FILES, request, options)


async def sessions_files_upload(
    core: MixCore,
    request: UploadFileRequest | UploadFileRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[FileInfo, SessionkitError]:
    """Upload a file (multipart, streamed from a path, bytes or an async iterable; 0.10+)."""
    return await core.send(UPLOAD_FILE, request, options)


async def sessions_files_download(
    core: MixCore,
    request: DownloadFileRequest | DownloadFileRequestParams,
    *,
    to: str | os.PathLike[str] | None = None,
    max_bytes: int | None = DOWNLOAD_MAX_BYTES,
    options: RequestOptions | None = None,
) -> Result[ByteStream, SessionkitError]:
    """Download a file, streamed: written to `to`, or an open `ByteStream` to read (0.10+).

    `max_bytes` (default 1 GiB; None for no cap) bounds the body, not the core's
    `max_response_bytes`: the body is never held in memory.
    """
    return await download(core, DOWNLOAD_FILE, request, options, to=to, max_bytes=max_bytes)


async def sessions_files_delete(
    core: MixCore,
    request: DeleteFileRequest | DeleteFileRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[None, SessionkitError]:
    """Delete a file of a session (204; a directory is a 400; 0.10+)."""
    return await core.send(DELETE_FILE, request, options)


@streams(STREAM_EVENTS)
async def sessions_stream(
    core: MixCore,
    request: StreamEventsRequest | StreamEventsRequestParams,
    *,
    options: RequestOptions | None = None,
) -> AsyncGenerator[Result[StreamEvent, SessionkitError], None]:
    """The session's events as they come, reconnecting after a drop (nothing sent meanwhile is replayed).

    Use it as `async with aclosing(sessions_stream(core, {"id": id})) as events:`; leaving the
    block closes the connection. A failure comes once as `Err` and ends the iteration.
    """
    async with aclosing(event_stream(core, STREAM_EVENTS, request, options, decode=_decode_event)) as events:
        async for item in events:
            yield item


async def permissions_grant(
    core: MixCore,
    request: GrantPermissionRequest | GrantPermissionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[PermissionGranted, SessionkitError]:
    """Grant a tool the permission a `PermissionEvent` asked for (`{"id": "PERMISSION_ID"}`)."""
    return await core.send(GRANT_PERMISSION, request, options)


async def permissions_deny(
    core: MixCore,
    request: DenyPermissionRequest | DenyPermissionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[PermissionDenied, SessionkitError]:
    """Deny a tool the permission a `PermissionEvent` asked for (`{"id": "PERMISSION_ID"}`)."""
    return await core.send(DENY_PERMISSION, request, options)


async def notifications_respond(
    core: MixCore,
    request: RespondNotificationRequest | RespondNotificationRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[None, SessionkitError]:
    """Answer a `NotificationEvent` (204; `{"id": "NOTIFICATION_ID", "type": "text", "value": "yes"}`; 0.11.1+; 404 once answered)."""
    return await core.send(RESPOND_NOTIFICATION, request, options)


async def messages_history(
    core: MixCore,
    request: MessageHistoryRequest | MessageHistoryRequestParams | None = None,
    *,
    options: RequestOptions | None = None,
) -> Result[list[Message], SessionkitError]:
    """User messages across every session, newest first (`limit` 1-1000, `offset`)."""
    return await core.send(MESSAGE_HISTORY, request, options)


@drives(SEND_MESSAGE, RunTurnRequest)
async def sessions_run(
    core: MixCore,
    request: RunTurnRequest | RunTurnRequestParams,
    *,
    on_permission: PermissionCallback | None = None,
    on_notification: NotificationCallback | None = None,
    options: RequestOptions | None = None,
) -> Result[Turn, SessionkitError]:
    """Send one message and follow its turn to the end, answering the agent's questions.

    Opens the session's event stream, sends `message`, and answers each permission with
    `await on_permission(event)` (True grants, False denies) and each notification with
    `await on_notification(event)` (the text or choice, or None to acknowledge); without a callback
    a permission is denied and a notification acknowledged. Returns `Ok(Turn)` once the turn ends
    (`complete`, `error` or `cancelled`), or when the total deadline passes (`deadline`: the turn was
    cancelled on the server). A callback that raises denies (or acknowledges) its question, and the
    turn ends in `Err(InvalidRequestError)`, cancelled on the server. See docs/services/mix.md.
    """
    from ._turn import run_turn  # the turn needs this module's operations: imported once it is loaded

    return await run_turn(core, request, on_permission, on_notification, options)


def _decode_event(event: ServerSentEvent) -> Result[StreamEvent, SessionkitError]:
    return decode_event(event, STREAM_EVENTS.id)


OPERATIONS = collect(__name__)
"""This module's operations with their functions: what the CLI, the docs and the request tests read."""
