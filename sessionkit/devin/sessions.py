"""Devin `/v1/sessions`: operation declarations and their functions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import attrs

from .. import _json  # pyright: ignore[reportPrivateUsage]  # its loads is switched at run time
from .._operation import Operation
from .._options import RequestOptions
from .._paging import DEFAULT_MAX_PAGES, every_page
from .._registry import all_pages, collect, waits_on
from .._rules import at_least, fields, greater_than
from ..errors import SessionkitError
from ..result import Result
from ._core import DevinCore
from ._wait import wait_for_state
from .models import (
    NEEDS_INPUT,
    TERMINAL,
    CreateSessionRequest,
    CreateSessionResponse,
    DetailResponse,
    GetSessionRequest,
    ListSessionsRequest,
    ListSessionsResponse,
    MessageSent,
    SendMessageRequest,
    Session,
    SessionStatus,
    SessionSummary,
    TerminateSessionRequest,
    UpdateTagsRequest,
    UploadAttachmentRequest,
)

if TYPE_CHECKING:  # the mapping twins are for the checker; the pipeline reads any mapping
    from .params import (
        CreateSessionRequestParams,
        GetSessionRequestParams,
        ListSessionsRequestParams,
        SendMessageRequestParams,
        TerminateSessionRequestParams,
        UpdateTagsRequestParams,
        UploadAttachmentRequestParams,
    )

    _ListPage: TypeAlias = ListSessionsRequest | ListSessionsRequestParams


__all__ = [
    "OPERATIONS",
    "sessions_create",
    "sessions_list",
    "sessions_list_all",
    "sessions_get",
    "sessions_send_message",
    "sessions_update_tags",
    "sessions_terminate",
    "sessions_wait",
    "attachments_upload",
    "attachment_line",
]


def _is_idempotent(model: CreateSessionRequest) -> bool:
    return model.idempotent is True


CREATE_SESSION: Operation[CreateSessionRequest, CreateSessionResponse] = Operation(
    id="devin.sessions.create",
    method="POST",
    path="/v1/sessions",
    request=CreateSessionRequest,
    response=CreateSessionResponse,
    # Without `idempotent`, a retry after a lost response could start a second session.
    retry_safe=_is_idempotent,
    validate=fields(max_acu_limit=greater_than(0)),
)
LIST_SESSIONS: Operation[ListSessionsRequest, ListSessionsResponse] = Operation(
    id="devin.sessions.list",
    method="GET",
    path="/v1/sessions",
    request=ListSessionsRequest,
    response=ListSessionsResponse,
    body=None,
    query=("limit", "offset", "tags", "user_email"),
    validate=fields(limit=at_least(1), offset=at_least(0)),
)
GET_SESSION: Operation[GetSessionRequest, Session] = Operation(
    id="devin.sessions.get",
    method="GET",
    path="/v1/sessions/{session_id}",
    request=GetSessionRequest,
    response=Session,
    body=None,
)


def _null_is_sent(data: object) -> object:
    """Devin's `null` answer to a message is a plain "sent": `MessageSent(detail=None)`."""
    return {} if data is None else data


SEND_MESSAGE: Operation[SendMessageRequest, MessageSent] = Operation(
    id="devin.sessions.send_message",
    method="POST",  # not retried: a repeat would send the message twice
    path="/v1/sessions/{session_id}/message",
    request=SendMessageRequest,
    response=MessageSent,
    decode=_null_is_sent,
)
UPDATE_TAGS: Operation[UpdateTagsRequest, DetailResponse] = Operation(
    id="devin.sessions.update_tags",
    method="PUT",
    path="/v1/sessions/{session_id}/tags",
    request=UpdateTagsRequest,
    response=DetailResponse,
)
TERMINATE_SESSION: Operation[TerminateSessionRequest, DetailResponse] = Operation(
    id="devin.sessions.terminate",
    method="DELETE",
    path="/v1/sessions/{session_id}",
    request=TerminateSessionRequest,
    response=DetailResponse,
    body=None,
)


def _attachment_url(body: bytes) -> Any:
    """The uploaded file's URL from the answer: a JSON string (as documented), a `{"url"}` object,
    or the URL as plain text (the official example reads the text; which one the server sends is
    UNCONFIRMED). `ValueError` for anything else."""
    text = body.decode("utf-8").strip()
    if text[:1] in ('"', "{"):
        value: Any = _json.loads(text)
        return cast("dict[str, Any]", value).get("url") if isinstance(value, dict) else value
    if not text.startswith(("https://", "http://")):
        raise ValueError("expected the uploaded file's URL")
    return text


UPLOAD_ATTACHMENT: Operation[UploadAttachmentRequest, str] = Operation(
    id="devin.attachments.upload",
    method="POST",  # not retried: a repeat would store a second copy
    path="/v1/attachments",
    request=UploadAttachmentRequest,
    response=str,
    form=True,
    parse=_attachment_url,
)


def attachment_line(url: str) -> str:
    """The line a prompt or message must hold, exactly, for Devin to read the file at `url`."""
    return f'ATTACHMENT:"{url}"'


async def sessions_create(
    core: DevinCore,
    request: CreateSessionRequest | CreateSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[CreateSessionResponse, SessionkitError]:
    """Start a Devin session (200). It is retried on transient failures only when `idempotent=True`."""
    return await core.send(CREATE_SESSION, request, options)


async def sessions_list(
    core: DevinCore,
    request: ListSessionsRequest | ListSessionsRequestParams | None = None,
    *,
    options: RequestOptions | None = None,
) -> Result[ListSessionsResponse, SessionkitError]:
    """One page of sessions (`limit`, `offset`), newest first, optionally filtered by `tags` or `user_email`."""
    return await core.send(LIST_SESSIONS, request, options)


_DEFAULT_LIMIT = 100  # the server's, when a request leaves `limit` out


@all_pages(LIST_SESSIONS)
def sessions_list_all(
    core: DevinCore,
    request: ListSessionsRequest | ListSessionsRequestParams | None = None,
    *,
    options: RequestOptions | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Result[SessionSummary, SessionkitError]]:
    """Every session matching the filters, page after page from `offset`, as `Ok(summary)` values.

    v1 pages have no "more" flag: a page shorter than `limit` is the last. The guards of
    `sessionkit._paging` (repeated pages, `max_pages`) apply.
    """

    def field(current: _ListPage, name: str) -> int:
        value = getattr(current, name) if isinstance(current, ListSessionsRequest) else current.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    async def fetch(page: _ListPage) -> Result[ListSessionsResponse, SessionkitError]:
        return await sessions_list(core, page, options=options)

    def next_of(listing: ListSessionsResponse, current: _ListPage) -> _ListPage | None:
        if len(listing.sessions) < (field(current, "limit") or _DEFAULT_LIMIT):
            return None
        offset = field(current, "offset") + len(listing.sessions)
        if isinstance(current, ListSessionsRequest):
            return attrs.evolve(current, offset=offset)
        return {**current, "offset": offset}

    return every_page(
        fetch,
        request if request is not None else {},
        items_of=lambda listing: listing.sessions,
        next_of=next_of,
        key=lambda summary: summary.session_id,
        label=lambda current: f"offset {field(current, 'offset')}",
        items_path="sessions",
        operation_id=LIST_SESSIONS.id,
        max_pages=max_pages,
    )


async def sessions_get(
    core: DevinCore,
    request: GetSessionRequest | GetSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """Get a session's details and messages (`{"session_id": "ID"}`)."""
    return await core.send(GET_SESSION, request, options)


async def sessions_send_message(
    core: DevinCore,
    request: SendMessageRequest | SendMessageRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[MessageSent, SessionkitError]:
    """Send a message to a session (200; `detail` is set when its state changed how Devin took it). Not retried."""
    return await core.send(SEND_MESSAGE, request, options)


async def sessions_update_tags(
    core: DevinCore,
    request: UpdateTagsRequest | UpdateTagsRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[DetailResponse, SessionkitError]:
    """Replace a session's tags with `tags` (200 with a `detail` message)."""
    return await core.send(UPDATE_TAGS, request, options)


async def sessions_terminate(
    core: DevinCore,
    request: TerminateSessionRequest | TerminateSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[DetailResponse, SessionkitError]:
    """End a session (200 with a `detail` message, not 204)."""
    return await core.send(TERMINATE_SESSION, request, options)


async def attachments_upload(
    core: DevinCore,
    request: UploadAttachmentRequest | UploadAttachmentRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[str, SessionkitError]:
    """Upload a file (multipart, streamed); its URL, for a prompt's `ATTACHMENT:"<url>"` line."""
    return await core.send(UPLOAD_ATTACHMENT, request, options)


WAIT_UNTIL: frozenset[SessionStatus] = NEEDS_INPUT | TERMINAL
"""What `sessions_wait` waits for by default: `blocked`, `finished` or `expired`."""


def _describe(session: Session) -> str:
    status = session.status_enum.value if session.status_enum is not None else None
    return f"status_enum={status} (status={session.status!r})"


@waits_on(GET_SESSION)
async def sessions_wait(
    core: DevinCore,
    request: GetSessionRequest | GetSessionRequestParams,
    *,
    until: Collection[str] = WAIT_UNTIL,
    timeout: float = 600.0,
    interval: float = 5.0,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """Poll the session until its `status_enum` is in `until` (default: blocked, finished or expired).

    Polls `sessions_get` every `interval` seconds (growing, with jitter) on the core's clock. Returns
    the last `Ok(Session)`, the first failed poll's `Err`, or `Err(WaitTimeoutError)` naming the last
    `status_enum` after `timeout` seconds. An unknown state in `until` is `Err(InvalidRequestError)`.
    """

    def state_of(session: Session) -> str | None:
        return session.status_enum.value if session.status_enum is not None else None

    async def poll() -> Result[Session, SessionkitError]:
        return await sessions_get(core, request, options=options)

    return await wait_for_state(
        poll,
        state_of,
        until=until,
        known=SessionStatus,
        timeout=timeout,
        interval=interval,
        clock=core.config.clock,
        describe=_describe,
        operation_id="devin.sessions.wait",
    )


OPERATIONS = collect(__name__)
"""This module's operations with their functions: what the CLI, the docs and the request tests read."""
