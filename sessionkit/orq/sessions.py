"""Orq `/v2/sessions`: operation declarations and their functions."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

import attrs

from .._pipeline import Operation, RequestOptions
from .._registry import all_pages, collect
from ..errors import InvalidRequestError, ResponseValidationError, SessionkitError
from ..result import Err, Ok, ResponseMeta, Result
from ._core import OrqCore
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
    """Get one session by id (`{"session_id": id}`)."""
    return await core.send(GET_SESSION, request, options)


async def sessions_update(
    core: OrqCore,
    request: UpdateSessionRequest | UpdateSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Thread, SessionkitError]:
    """Change the given fields of a session (`{"session_id": id, "request_body": {...}}`)."""
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


DEFAULT_MAX_PAGES = 10_000
# How many ids (kept as hashes) `sessions_list_all` remembers to spot a page it has already seen.
# Hashes, not the ids, so the memory does not depend on how long the server makes its ids: at most
# this many ints (well under 2 MB) plus the ids of one page, which the page itself already costs.
_SEEN_CAP = 10_000


class _SeenIds:
    """The id hashes of the last pages, oldest page dropped first, the previous page always kept."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._pages: deque[frozenset[int]] = deque()
        self._counts: dict[int, int] = {}  # hash -> on how many remembered pages it appears
        self._total = 0

    @property
    def previous(self) -> frozenset[int]:
        return self._pages[-1] if self._pages else frozenset()

    def all_seen(self, page: frozenset[int]) -> bool:
        return all(h in self._counts for h in page)

    def add(self, page: frozenset[int]) -> None:
        self._pages.append(page)
        self._total += len(page)
        for h in page:
            self._counts[h] = self._counts.get(h, 0) + 1
        while self._total > self._cap and len(self._pages) > 1:
            old = self._pages.popleft()
            self._total -= len(old)
            for h in old:
                if self._counts[h] == 1:
                    del self._counts[h]
                else:
                    self._counts[h] -= 1


def _broken_paging(reason: str, meta: ResponseMeta | None) -> Err[ResponseValidationError]:
    # The page itself decoded fine; it is the sequence of pages that breaks the contract.
    if meta is None:
        return Err(ResponseValidationError(reason, field_path="data", operation_id=LIST_SESSIONS.id))
    error = ResponseValidationError(
        reason,
        field_path="data",
        status=meta.status,
        headers=meta.headers,
        operation_id=meta.operation_id,
        attempts=meta.attempts,
        elapsed=meta.elapsed,
    )
    return Err(error)


@all_pages(LIST_SESSIONS)
async def sessions_list_all(
    core: OrqCore,
    request: ListThreadsRequest | ListThreadsRequestParams,
    *,
    options: RequestOptions | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Result[Thread, SessionkitError]]:
    """Every session matching the query, page after page, as `Ok(thread)` values.

    Starts at `request.page` (default 1) and asks for the next page while the server says
    `has_more`. A failure is yielded once as `Err` and ends the iteration. A page that is empty yet
    claims `has_more` also ends it: such a server would otherwise be polled forever.

    Two more guards end the iteration with `Err(ResponseValidationError)` after the items already
    yielded, so a server that breaks the paging contract cannot keep a caller busy forever:

    - a page that claims `has_more` yet brings only sessions of earlier pages (the server ignores
      `page`, or cycles); it is not yielded. A page with one new session is yielded whole, repeats
      included: a session created while paging shifts the offset pages.
    - `max_pages` (default 10,000): at most this many pages are asked for; if the last one still
      says `has_more`, the `Err` says so. Raise it for a longer listing, or narrow the filters.
    """
    if type(max_pages) is not int or max_pages < 1:  # not a bool, not a float: range() would raise
        yield Err(InvalidRequestError("must be an integer >= 1", field_path="max_pages", operation_id=LIST_SESSIONS.id))
        return
    first = request.page if isinstance(request, ListThreadsRequest) else request.get("page")
    page = first if isinstance(first, int) and not isinstance(first, bool) else 1
    current: ListThreadsRequest | ListThreadsRequestParams = request if first is not None else _at_page(request, page)
    seen = _SeenIds(_SEEN_CAP)
    for fetched in range(1, max_pages + 1):
        result = await sessions_list(core, current, options=options)
        if isinstance(result, Err):
            yield result
            return
        listing = result.value
        ids = frozenset(hash(thread.id) for thread in listing.data)
        # Only a page that claims more can loop; a last page of repeats is yielded and ends it.
        if fetched > 1 and listing.has_more and ids and seen.all_seen(ids):
            if ids == seen.previous:
                reason = f"the server repeated page {page - 1} as page {page} (does it ignore `page`?)"
            else:
                reason = f"page {page} only repeats sessions of earlier pages (the server's paging cycles)"
            yield _broken_paging(reason, result.meta)
            return
        seen.add(ids)
        for thread in listing.data:
            yield Ok(thread, meta=result.meta)
        if not listing.has_more or not listing.data:
            return
        if fetched == max_pages:
            reason = f"page {page} still says has_more after max_pages={max_pages} pages; raise max_pages to read on"
            yield _broken_paging(reason, result.meta)
            return
        page += 1
        current = _at_page(request, page)


OPERATIONS = collect(__name__)
"""This module's operations with their functions: what the CLI, the docs and the request tests read."""
