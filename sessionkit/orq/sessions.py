"""Orq `/v2/sessions`: operation declarations and their functions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, cast

import attrs

from .._operation import Operation
from .._options import RequestOptions
from .._paging import DEFAULT_MAX_PAGES, every_page
from .._registry import all_pages, collect
from ..errors import SessionkitError
from ..result import Result
from ._core import OrqCore
from .errors import NotFoundErrorResponse
from .models import (
    CreateThreadRequest,
    DeleteSessionRequest,
    GetSessionRequest,
    GetThreadCountRequest,
    GetThreadCountResponse,
    ListThreadsRequest,
    ListThreadsResponse,
    Thread,
    UpdateSessionRequest,
)

if TYPE_CHECKING:  # the mapping twins are for the checker; the pipeline reads any mapping
    from .params import (
        CreateThreadRequestParams,
        DeleteSessionRequestParams,
        GetSessionRequestParams,
        GetThreadCountRequestParams,
        ListThreadsRequestParams,
        UpdateSessionRequestParams,
    )

__all__ = [
    "OPERATIONS",
    "sessions_create",
    "sessions_get",
    "sessions_update",
    "sessions_delete",
    "sessions_list",
    "sessions_list_all",
    "sessions_count",
    "sessions_tags",
]


def _tags_list(data: Any) -> Any:
    # The SDK reads a bare string array; accept an `{"tags": [...]}` or `{"data": [...]}` envelope too.
    if not isinstance(data, Mapping):
        return data
    envelope = cast("Mapping[str, Any]", data)
    for key in ("tags", "data"):
        if key in envelope:
            return envelope[key]
    return envelope


CREATE_SESSION: Operation[CreateThreadRequest, Thread] = Operation(
    id="orq.sessions.create",
    method="POST",
    path="/v2/sessions",
    request=CreateThreadRequest,
    response=Thread,
)
GET_SESSION: Operation[GetSessionRequest, Thread] = Operation(
    id="orq.sessions.get",
    method="GET",
    path="/v2/sessions/{session_id}",
    request=GetSessionRequest,
    response=Thread,
    body=None,
    errors={404: NotFoundErrorResponse},  # the live SDK types 404 on get only
)
UPDATE_SESSION: Operation[UpdateSessionRequest, Thread] = Operation(
    id="orq.sessions.update",
    method="PATCH",
    path="/v2/sessions/{session_id}",
    request=UpdateSessionRequest,
    response=Thread,
    body="request_body",
)
DELETE_SESSION: Operation[DeleteSessionRequest, None] = Operation(
    id="orq.sessions.delete",
    method="DELETE",
    path="/v2/sessions/{session_id}",
    request=DeleteSessionRequest,
    success=(204,),
    body=None,
)
LIST_SESSIONS: Operation[ListThreadsRequest, ListThreadsResponse] = Operation(
    id="orq.sessions.list",
    method="POST",
    path="/v2/sessions/query",
    request=ListThreadsRequest,
    response=ListThreadsResponse,
    retry_safe=True,  # a read-only query sent as POST
)
COUNT_SESSIONS: Operation[GetThreadCountRequest, GetThreadCountResponse] = Operation(
    id="orq.sessions.count",
    method="POST",
    path="/v2/sessions/count",
    request=GetThreadCountRequest,
    response=GetThreadCountResponse,
    retry_safe=True,  # a read-only query sent as POST
)
LIST_TAGS: Operation[None, list[str]] = Operation(
    id="orq.sessions.tags",
    method="GET",
    path="/v2/sessions/tags",
    response=list[str],
    body=None,
    decode=_tags_list,
)


async def sessions_create(
    core: OrqCore,
    request: CreateThreadRequest | CreateThreadRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Thread, SessionkitError]:
    """Create a session. Not retried unless `options.idempotency_key` is set."""
    return await core.send(CREATE_SESSION, request, options)


async def sessions_get(
    core: OrqCore,
    request: GetSessionRequest | GetSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Thread, SessionkitError]:
    """Get one session by id (`{"session_id": "ID"}`)."""
    return await core.send(GET_SESSION, request, options)


async def sessions_update(
    core: OrqCore,
    request: UpdateSessionRequest | UpdateSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Thread, SessionkitError]:
    """Change the given fields of a session (`{"session_id": "ID", "request_body": {"title": "t"}}`)."""
    return await core.send(UPDATE_SESSION, request, options)


async def sessions_delete(
    core: OrqCore,
    request: DeleteSessionRequest | DeleteSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[None, SessionkitError]:
    """Delete a session (204, no body)."""
    return await core.send(DELETE_SESSION, request, options)


async def sessions_list(
    core: OrqCore,
    request: ListThreadsRequest | ListThreadsRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[ListThreadsResponse, SessionkitError]:
    """One page of sessions matching `filters` (`interval` is required)."""
    return await core.send(LIST_SESSIONS, request, options)


async def sessions_count(
    core: OrqCore,
    request: GetThreadCountRequest | GetThreadCountRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[GetThreadCountResponse, SessionkitError]:
    """How many sessions match `filters`."""
    return await core.send(COUNT_SESSIONS, request, options)


async def sessions_tags(
    core: OrqCore, request: None = None, *, options: RequestOptions | None = None
) -> Result[list[str], SessionkitError]:
    """Every tag used by the workspace's sessions."""
    return await core.send(LIST_TAGS, request, options)


def _at_page(
    request: ListThreadsRequest | ListThreadsRequestParams, page: int
) -> ListThreadsRequest | ListThreadsRequestParams:
    if isinstance(request, ListThreadsRequest):
        return attrs.evolve(request, page=page)
    return {**request, "page": page}


def _page_of(request: ListThreadsRequest | ListThreadsRequestParams) -> int:
    page = request.page if isinstance(request, ListThreadsRequest) else request.get("page")
    return page if isinstance(page, int) and not isinstance(page, bool) else 1


@all_pages(LIST_SESSIONS)
def sessions_list_all(
    core: OrqCore,
    request: ListThreadsRequest | ListThreadsRequestParams,
    *,
    options: RequestOptions | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Result[Thread, SessionkitError]]:
    """Every session matching the query, page after page, as `Ok(thread)` values.

    Starts at `request.page` (default 1) and asks for the next page while the server says
    `has_more`. A failure is yielded once as `Err` and ends the iteration, and so does a page that is
    empty yet claims `has_more`. A server that repeats pages or never ends makes the iteration end
    with `Err(ResponseValidationError)` after the sessions already yielded (`max_pages`, default
    10,000, bounds it); see `sessionkit._paging`.
    """

    async def fetch(
        page: ListThreadsRequest | ListThreadsRequestParams,
    ) -> Result[ListThreadsResponse, SessionkitError]:
        return await sessions_list(core, page, options=options)

    def next_of(listing: ListThreadsResponse, current: ListThreadsRequest | ListThreadsRequestParams) -> Any:
        return _at_page(current, _page_of(current) + 1) if listing.has_more else None

    return every_page(
        fetch,
        _at_page(request, _page_of(request)),
        items_of=lambda listing: listing.data,
        next_of=next_of,
        key=lambda thread: thread.id,
        label=lambda current: f"page {_page_of(current)}",
        items_path="data",
        operation_id=LIST_SESSIONS.id,
        max_pages=max_pages,
    )


OPERATIONS = collect(__name__)
"""This module's operations with their functions: what the CLI, the docs and the request tests read."""
