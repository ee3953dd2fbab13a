"""Devin v3 `/v3/organizations/{org_id}/sessions`: operation declarations and their functions.

Paths are declared relative to the organisation; `DevinCore.send` scopes them (see `DevinCore`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from ..._download import DOWNLOAD_MAX_BYTES, download
from ..._operation import Operation
from ..._options import RequestOptions
from ..._paging import DEFAULT_MAX_PAGES, every_page
from ..._reader import ByteStream
from ..._registry import all_pages, collect, waits_on
from ..._rules import at_most_items, between, each, fields, length
from ...errors import SessionkitError
from ...result import Result
from .._wait import wait_for_state
from ._core import DevinCore
from .models import (
    NEEDS_INPUT,
    STATES,
    TERMINAL,
    ArchiveSessionRequest,
    Attachment,
    CreateSessionRequest,
    DownloadAttachmentRequest,
    GenerateInsightsRequest,
    GetInsightsRequest,
    GetSessionRequest,
    GetTagsRequest,
    InsightsGeneration,
    ListAttachmentsRequest,
    ListInsightsRequest,
    ListMessagesRequest,
    ListSessionsRequest,
    Page,
    SendMessageRequest,
    Session,
    SessionAttachment,
    SessionInsights,
    SessionMessage,
    SessionTags,
    TerminateSessionRequest,
    UpdateTagsRequest,
    UploadAttachmentRequest,
)

if TYPE_CHECKING:  # the mapping twins are for the checker; the pipeline reads any mapping
    from .params import (
        ArchiveSessionRequestParams,
        CreateSessionRequestParams,
        DownloadAttachmentRequestParams,
        GenerateInsightsRequestParams,
        GetInsightsRequestParams,
        GetSessionRequestParams,
        GetTagsRequestParams,
        ListAttachmentsRequestParams,
        ListInsightsRequestParams,
        ListMessagesRequestParams,
        ListSessionsRequestParams,
        SendMessageRequestParams,
        TerminateSessionRequestParams,
        UpdateTagsRequestParams,
        UploadAttachmentRequestParams,
    )


__all__ = [
    "OPERATIONS",
    "WAIT_UNTIL",
    "sessions_create",
    "sessions_list",
    "sessions_list_all",
    "sessions_get",
    "sessions_send_message",
    "sessions_messages_list",
    "sessions_messages_list_all",
    "sessions_tags_get",
    "sessions_tags_add",
    "sessions_tags_replace",
    "sessions_archive",
    "sessions_terminate",
    "sessions_wait",
    "attachments_upload",
    "attachments_download",
    "sessions_attachments_list",
    "sessions_insights_get",
    "sessions_insights_generate",
    "insights_list",
    "insights_list_all",
    "DOWNLOAD_MAX_BYTES",
]

T = TypeVar("T")
MAX_TAGS = 50
# Each attachment URL is 1 to 2083 characters (the contract's item limits).
_ATTACHMENT_URLS = fields(attachment_urls=each(length(1, 2083)))


CREATE_SESSION: Operation[CreateSessionRequest, Session] = Operation(
    id="devin_v3.sessions.create",
    method="POST",
    path="/sessions",
    request=CreateSessionRequest,
    response=Session,
    retry_safe=False,  # v3 documents no idempotency: a repeat could start a second session
    validate=_ATTACHMENT_URLS,
)
LIST_SESSIONS: Operation[ListSessionsRequest, Page[Session]] = Operation(
    id="devin_v3.sessions.list",
    method="GET",
    path="/sessions",
    request=ListSessionsRequest,
    response=Page[Session],
    body=None,
    query=tuple(a.name for a in attrs.fields(ListSessionsRequest)),
    validate=fields(first=between(1, 200)),
)
GET_SESSION: Operation[GetSessionRequest, Session] = Operation(
    id="devin_v3.sessions.get",
    method="GET",
    path="/sessions/{devin_id}",
    request=GetSessionRequest,
    response=Session,
    body=None,
)
SEND_MESSAGE: Operation[SendMessageRequest, Session] = Operation(
    id="devin_v3.sessions.send_message",
    method="POST",  # not retried: a repeat would send the message twice
    path="/sessions/{devin_id}/messages",
    request=SendMessageRequest,
    response=Session,
    validate=_ATTACHMENT_URLS,
)
LIST_MESSAGES: Operation[ListMessagesRequest, Page[SessionMessage]] = Operation(
    id="devin_v3.sessions.messages.list",
    method="GET",
    path="/sessions/{devin_id}/messages",
    request=ListMessagesRequest,
    response=Page[SessionMessage],
    body=None,
    query=("first", "after"),
    validate=fields(first=between(1, 200)),
)
GET_TAGS: Operation[GetTagsRequest, SessionTags] = Operation(
    id="devin_v3.sessions.tags.get",
    method="GET",
    path="/sessions/{devin_id}/tags",
    request=GetTagsRequest,
    response=SessionTags,
    body=None,
)
ADD_TAGS: Operation[UpdateTagsRequest, SessionTags] = Operation(
    id="devin_v3.sessions.tags.add",
    method="POST",
    path="/sessions/{devin_id}/tags",
    request=UpdateTagsRequest,
    response=SessionTags,
    retry_safe=True,  # the server deduplicates: adding the same tags twice leaves one set
    validate=fields(tags=at_most_items(MAX_TAGS)),
)
REPLACE_TAGS: Operation[UpdateTagsRequest, SessionTags] = Operation(
    id="devin_v3.sessions.tags.replace",
    method="PUT",
    path="/sessions/{devin_id}/tags",
    request=UpdateTagsRequest,
    response=SessionTags,
    validate=fields(tags=at_most_items(MAX_TAGS)),
)
ARCHIVE_SESSION: Operation[ArchiveSessionRequest, Session] = Operation(
    id="devin_v3.sessions.archive",
    method="POST",
    path="/sessions/{devin_id}/archive",
    request=ArchiveSessionRequest,
    response=Session,
    body=None,
    retry_safe=True,  # archiving an archived session leaves it archived (its answer is UNCONFIRMED)
)
TERMINATE_SESSION: Operation[TerminateSessionRequest, Session] = Operation(
    id="devin_v3.sessions.terminate",
    method="DELETE",
    path="/sessions/{devin_id}",
    request=TerminateSessionRequest,
    response=Session,
    body=None,
    query=("archive",),
)


def _attachment_list(body: Any) -> Any:
    """A bare array as documented; a page's `items` or `null` read leniently (UNCONFIRMED forms)."""
    if body is None:
        return []
    page = cast("dict[str, Any]", body) if isinstance(body, dict) else None
    if page is not None and isinstance(page.get("items"), list):
        return page["items"]
    return cast("Any", body)


UPLOAD_ATTACHMENT: Operation[UploadAttachmentRequest, Attachment] = Operation(
    id="devin_v3.attachments.upload",
    method="POST",  # not retried: a repeat would store a second copy under a new id
    path="/attachments",
    request=UploadAttachmentRequest,
    response=Attachment,
    form=True,
)
DOWNLOAD_ATTACHMENT: Operation[DownloadAttachmentRequest, ByteStream] = Operation(
    id="devin_v3.attachments.download",
    method="GET",
    path="/attachments/{uuid}/{name}",
    request=DownloadAttachmentRequest,
    response=ByteStream,
    body=None,
    accept="*/*",
)
LIST_ATTACHMENTS: Operation[ListAttachmentsRequest, list[SessionAttachment]] = Operation(
    id="devin_v3.sessions.attachments.list",
    method="GET",
    path="/sessions/{devin_id}/attachments",
    request=ListAttachmentsRequest,
    response=list[SessionAttachment],
    body=None,
    decode=_attachment_list,
)
GET_INSIGHTS: Operation[GetInsightsRequest, SessionInsights] = Operation(
    id="devin_v3.sessions.insights.get",
    method="GET",
    path="/sessions/{devin_id}/insights",
    request=GetInsightsRequest,
    response=SessionInsights,
    body=None,
)
GENERATE_INSIGHTS: Operation[GenerateInsightsRequest, InsightsGeneration] = Operation(
    id="devin_v3.sessions.insights.generate",
    method="POST",
    path="/sessions/{devin_id}/insights/generate",
    request=GenerateInsightsRequest,
    response=InsightsGeneration,
    body=None,
    retry_safe=True,  # a repeat answers `already_exists` and starts nothing
)
LIST_INSIGHTS: Operation[ListInsightsRequest, Page[SessionInsights]] = Operation(
    id="devin_v3.insights.list",
    method="GET",
    path="/sessions/insights",
    request=ListInsightsRequest,
    response=Page[SessionInsights],
    body=None,
    query=tuple(a.name for a in attrs.fields(ListInsightsRequest)),
    validate=fields(first=between(1, 200)),
)


def _with_after(request: Any, cursor: str) -> Any:
    """`request` (a model or a mapping) asking for the page after `cursor`."""
    if isinstance(request, Mapping):
        return {**cast("Mapping[str, Any]", request), "after": cursor}
    return attrs.evolve(request, after=cursor)


def _after(request: Any) -> Any:
    return cast("Mapping[str, Any]", request).get("after") if isinstance(request, Mapping) else request.after


def _cursor_pages(
    fetch: Callable[[Any], Awaitable[Result[Page[T], SessionkitError]]],
    request: Any,
    *,
    key: Callable[[T], object],
    operation_id: str,
    max_pages: int,
) -> AsyncIterator[Result[T, SessionkitError]]:
    """Every item from `request` on: each page's `end_cursor` is the next request's `after`."""

    def next_of(page: Page[T], current: Any) -> Any:
        return _with_after(current, page.end_cursor) if page.has_next_page and page.end_cursor else None

    def label(current: Any) -> str:
        after = _after(current)
        return f"the page after {after!r}" if after else "the first page"

    return every_page(
        fetch,
        request,
        items_of=lambda page: page.items,
        next_of=next_of,
        key=key,
        label=label,
        items_path="items",
        operation_id=operation_id,
        max_pages=max_pages,
    )


async def sessions_create(
    core: DevinCore,
    request: CreateSessionRequest | CreateSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """Start a Devin session. Never retried: v3 documents no idempotency."""
    return await core.send(CREATE_SESSION, request, options)


async def sessions_list(
    core: DevinCore,
    request: ListSessionsRequest | ListSessionsRequestParams | None = None,
    *,
    options: RequestOptions | None = None,
) -> Result[Page[Session], SessionkitError]:
    """One page of the organisation's sessions (`first`, `after`), filtered."""
    return await core.send(LIST_SESSIONS, request, options)


@all_pages(LIST_SESSIONS)
def sessions_list_all(
    core: DevinCore,
    request: ListSessionsRequest | ListSessionsRequestParams | None = None,
    *,
    options: RequestOptions | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Result[Session, SessionkitError]]:
    """Every session matching the filters, page after page (cursor), as `Ok(session)` values.

    The guards of `sessionkit._paging` (repeated pages, `max_pages`) apply.
    """

    async def fetch(page: Any) -> Result[Page[Session], SessionkitError]:
        return await sessions_list(core, page, options=options)

    start = request if request is not None else ListSessionsRequest()
    return _cursor_pages(fetch, start, key=lambda s: s.session_id, operation_id=LIST_SESSIONS.id, max_pages=max_pages)


async def sessions_get(
    core: DevinCore,
    request: GetSessionRequest | GetSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """Get a session (`{"devin_id": "ID"}`; the `devin-` prefix is added when absent)."""
    return await core.send(GET_SESSION, request, options)


async def sessions_send_message(
    core: DevinCore,
    request: SendMessageRequest | SendMessageRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """Send a message to a session; a suspended one is resumed. Not retried."""
    return await core.send(SEND_MESSAGE, request, options)


async def sessions_messages_list(
    core: DevinCore,
    request: ListMessagesRequest | ListMessagesRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Page[SessionMessage], SessionkitError]:
    """One page of a session's messages, oldest first (`first`, `after`)."""
    return await core.send(LIST_MESSAGES, request, options)


@all_pages(LIST_MESSAGES)
def sessions_messages_list_all(
    core: DevinCore,
    request: ListMessagesRequest | ListMessagesRequestParams,
    *,
    options: RequestOptions | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Result[SessionMessage, SessionkitError]]:
    """Every message of a session, oldest first, page after page (cursor), as `Ok(message)` values."""

    async def fetch(page: Any) -> Result[Page[SessionMessage], SessionkitError]:
        return await sessions_messages_list(core, page, options=options)

    return _cursor_pages(fetch, request, key=lambda m: m.event_id, operation_id=LIST_MESSAGES.id, max_pages=max_pages)


async def sessions_tags_get(
    core: DevinCore,
    request: GetTagsRequest | GetTagsRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[SessionTags, SessionkitError]:
    """A session's tags."""
    return await core.send(GET_TAGS, request, options)


async def sessions_tags_add(
    core: DevinCore,
    request: UpdateTagsRequest | UpdateTagsRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[SessionTags, SessionkitError]:
    """Add tags (at most 50) to a session; the server drops duplicates and answers the whole set."""
    return await core.send(ADD_TAGS, request, options)


async def sessions_tags_replace(
    core: DevinCore,
    request: UpdateTagsRequest | UpdateTagsRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[SessionTags, SessionkitError]:
    """Replace a session's tags with `tags` (at most 50)."""
    return await core.send(REPLACE_TAGS, request, options)


async def sessions_archive(
    core: DevinCore,
    request: ArchiveSessionRequest | ArchiveSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """Archive a session (put to sleep if running): still viewable, no longer modifiable."""
    return await core.send(ARCHIVE_SESSION, request, options)


async def sessions_terminate(
    core: DevinCore,
    request: TerminateSessionRequest | TerminateSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """End a session for good (`archive=True` also archives it); answers the session."""
    return await core.send(TERMINATE_SESSION, request, options)


async def attachments_upload(
    core: DevinCore,
    request: UploadAttachmentRequest | UploadAttachmentRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Attachment, SessionkitError]:
    """Upload a file (multipart, streamed from a path, bytes or an async iterable); its `url` goes in `attachment_urls`."""
    return await core.send(UPLOAD_ATTACHMENT, request, options)


async def attachments_download(
    core: DevinCore,
    request: DownloadAttachmentRequest | DownloadAttachmentRequestParams,
    *,
    to: str | os.PathLike[str] | None = None,
    max_bytes: int | None = DOWNLOAD_MAX_BYTES,
    options: RequestOptions | None = None,
) -> Result[ByteStream, SessionkitError]:
    """Download an attachment, streamed: written to `to`, or an open `ByteStream` to read.

    The server answers with a redirect to a short-lived storage URL, followed without the API key.
    `max_bytes` (default 1 GiB; None for no cap) bounds the body, which is never held in memory.
    """
    return await download(core, DOWNLOAD_ATTACHMENT, request, options, to=to, max_bytes=max_bytes)


async def sessions_attachments_list(
    core: DevinCore,
    request: ListAttachmentsRequest | ListAttachmentsRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[list[SessionAttachment], SessionkitError]:
    """The files of a session: the ones attached to it, and the ones Devin made (`source`)."""
    return await core.send(LIST_ATTACHMENTS, request, options)


async def sessions_insights_get(
    core: DevinCore,
    request: GetInsightsRequest | GetInsightsRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[SessionInsights, SessionkitError]:
    """A session with its insights: message counts, size, and the analysis once generated."""
    return await core.send(GET_INSIGHTS, request, options)


async def sessions_insights_generate(
    core: DevinCore,
    request: GenerateInsightsRequest | GenerateInsightsRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[InsightsGeneration, SessionkitError]:
    """Start generating a session's insights (`started`), or learn they exist (`already_exists`)."""
    return await core.send(GENERATE_INSIGHTS, request, options)


async def insights_list(
    core: DevinCore,
    request: ListInsightsRequest | ListInsightsRequestParams | None = None,
    *,
    options: RequestOptions | None = None,
) -> Result[Page[SessionInsights], SessionkitError]:
    """One page of the organisation's sessions with their insights (`first`, `after`), filtered."""
    return await core.send(LIST_INSIGHTS, request, options)


@all_pages(LIST_INSIGHTS)
def insights_list_all(
    core: DevinCore,
    request: ListInsightsRequest | ListInsightsRequestParams | None = None,
    *,
    options: RequestOptions | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Result[SessionInsights, SessionkitError]]:
    """Every session with its insights, page after page (cursor), as `Ok(insights)` values."""

    async def fetch(page: Any) -> Result[Page[SessionInsights], SessionkitError]:
        return await insights_list(core, page, options=options)

    start = request if request is not None else ListInsightsRequest()
    return _cursor_pages(fetch, start, key=lambda s: s.session_id, operation_id=LIST_INSIGHTS.id, max_pages=max_pages)


WAIT_UNTIL: frozenset[str] = NEEDS_INPUT | TERMINAL
"""What `sessions_wait` waits for by default: input needed, or nothing more will happen by itself."""


def _describe(session: Session) -> str:
    detail = session.status_detail.value if session.status_detail is not None else None
    return f"state={session.state} (status={session.status.value}, status_detail={detail})"


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
    """Poll the session until its `state` is in `until` (default: needs input, finished, exit, error, suspended).

    `state` is `status_detail` while `running`, else `status` (`models.STATES`). Polls
    `sessions_get` every `interval` seconds (growing, with jitter) on the core's clock. Returns the
    last `Ok(Session)`, the first failed poll's `Err`, or `Err(WaitTimeoutError)` naming the last
    state after `timeout` seconds. An unknown state in `until` is `Err(InvalidRequestError)`.
    """

    async def poll() -> Result[Session, SessionkitError]:
        return await sessions_get(core, request, options=options)

    return await wait_for_state(
        poll,
        lambda session: session.state,
        until=until,
        known=STATES,
        timeout=timeout,
        interval=interval,
        clock=core.config.clock,
        describe=_describe,
        operation_id="devin_v3.sessions.wait",
    )


OPERATIONS = collect(__name__)
"""This module's operations with their functions: what the CLI, the docs and the request tests read."""
