"""The demo counts the pages `sessions_list_all` fetched by the requests made, not by object identity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sessionkit import Ok, ResponseMeta, Result, orq
from sessionkit._cli import demo
from sessionkit._cli.tally import Section
from sessionkit.testing import FakeOrq
from tests._support.fake_fixtures import ORQ_API_KEY


async def test_pages_are_counted_by_requests_even_when_every_item_shares_one_meta(
    fake_orq: FakeOrq, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = orq.sessions_list_all
    shared = ResponseMeta(operation_id="orq.sessions.list", status=200, headers={})

    async def one_meta_for_all(core: orq.OrqCore, request: Any, **kwargs: Any) -> AsyncIterator[Result[Any, Any]]:
        # The worst case for counting by `id(meta)`: every page's items carry the same object (in
        # the wild a freed page's meta may hand its id to a later one, so two pages look like one).
        async for result in real(core, request, **kwargs):
            yield Ok(result.value, meta=shared) if isinstance(result, Ok) else result

    monkeypatch.setattr(orq, "sessions_list_all", one_meta_for_all)
    section = Section("orq")
    async with orq.OrqCore(api_key=ORQ_API_KEY, server_url=fake_orq.url) as core:
        await demo.orq_tour(section, core)
    assert section.problems == []
    pages = [r for r in fake_orq.requests if r.path == "/v2/sessions/query"]
    assert len(pages) == 3
    assert "120 threads read back over 3 pages of up to 50 (sessions_list_all)" in section.notes
    assert core.hooks.after_success == []  # the counting hook is gone once the tour is done
