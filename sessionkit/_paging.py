"""Every page of a list operation, with the guards that keep a broken server from looping forever.

A service says how its pages work with two small functions: `items_of(value)` (the page's items) and
`next_of(value, request)` (the request for the next page, or None after the last). `every_page`
yields each item as `Ok(item)`, a failure once as `Err`, and ends with `Err(ResponseValidationError)`
after the items already yielded when the server breaks the paging contract:

- a page that claims more yet brings only items of earlier pages (the server ignores the page
  parameter, or cycles); it is not yielded. A page with one new item is yielded whole, repeats
  included: an item created while paging shifts offset pages.
- `max_pages` (default 10,000): at most this many pages are asked for.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from .errors import InvalidRequestError, ResponseValidationError, SessionkitError
from .result import Err, Ok, ResponseMeta, Result

__all__ = ["DEFAULT_MAX_PAGES", "every_page"]

T = TypeVar("T")
Req = TypeVar("Req")
P = TypeVar("P")

DEFAULT_MAX_PAGES = 10_000
# How many ids (kept as hashes) are remembered to spot a page already seen. Hashes, not the ids, so
# the memory does not depend on how long the server makes its ids: at most this many ints (well
# under 2 MB) plus the ids of one page, which the page itself already costs.
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


def _broken(reason: str, path: str, operation_id: str, meta: ResponseMeta | None) -> Err[ResponseValidationError]:
    # The page itself decoded fine; it is the sequence of pages that breaks the contract.
    if meta is None:
        return Err(ResponseValidationError(reason, field_path=path, operation_id=operation_id))
    error = ResponseValidationError(
        reason,
        field_path=path,
        status=meta.status,
        headers=meta.headers,
        operation_id=meta.operation_id,
        attempts=meta.attempts,
        elapsed=meta.elapsed,
    )
    return Err(error)


async def every_page(
    fetch: Callable[[Req], Awaitable[Result[P, SessionkitError]]],
    request: Req,
    *,
    items_of: Callable[[P], Sequence[T]],
    next_of: Callable[[P, Req], Req | None],
    key: Callable[[T], object],
    label: Callable[[Req], str],
    items_path: str,
    operation_id: str,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Result[T, SessionkitError]]:
    """Yield every item of every page from `request` on; see the module docstring for the guards.

    `label(request)` names a page in an error ("page 3", "offset 200"); `key(item)` identifies an
    item to spot repeats; `items_path` is the JSON field of the items, the error's `field_path`.
    """
    if type(max_pages) is not int or max_pages < 1:  # not a bool, not a float: range() would raise
        yield Err(InvalidRequestError("must be an integer >= 1", field_path="max_pages", operation_id=operation_id))
        return
    seen = _SeenIds(_SEEN_CAP)
    previous: Req | None = None
    current = request
    for fetched in range(1, max_pages + 1):
        result = await fetch(current)
        if isinstance(result, Err):
            yield result
            return
        items = items_of(result.value)
        following = next_of(result.value, current)
        ids = frozenset(hash(key(item)) for item in items)
        # Only a page that claims more can loop; a last page of repeats is yielded and ends it.
        if previous is not None and following is not None and ids and seen.all_seen(ids):
            if ids == seen.previous:
                reason = f"the server repeated {label(previous)} as {label(current)} (does it ignore the page?)"
            else:
                reason = f"{label(current)} only repeats sessions of earlier pages (the server's paging cycles)"
            yield _broken(reason, items_path, operation_id, result.meta)
            return
        seen.add(ids)
        for item in items:
            yield Ok(item, meta=result.meta)
        if following is None or not items:
            return
        if fetched == max_pages:
            reason = (
                f"{label(current)} still says there is more after max_pages={max_pages} pages; "
                "raise max_pages to read on"
            )
            yield _broken(reason, items_path, operation_id, result.meta)
            return
        previous, current = current, following
