"""A request is exactly what the caller wrote: an unknown or wire-spelled key is an `Err` that names
it and the field it most likely meant, at any depth, and nothing is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sessionkit import Err, InvalidRequestError
from sessionkit.devin import DevinCore
from sessionkit.devin import sessions_create as devin_create
from sessionkit.jupyter import JupyterCore, sessions_update
from sessionkit.mix import MixCore, sessions_fork
from sessionkit.orq import OrqCore
from sessionkit.orq import sessions_list as orq_list

UNREACHABLE = "http://127.0.0.1:9"  # nothing may be sent: a call that tried would fail differently

Call = Callable[[], Awaitable[Any]]

CASES: dict[str, tuple[Call, str, str | None]] = {
    "jupyter update, name beside the model": (
        lambda: sessions_update(JupyterCore(server_url=UNREACHABLE), {"session": "s", "name": "x"}),  # type: ignore[typeddict-unknown-key]
        "$.name",
        None,
    ),
    "jupyter update, typo inside the model": (
        lambda: sessions_update(JupyterCore(server_url=UNREACHABLE), {"session": "s", "model": {"nmae": "x"}}),  # type: ignore[typeddict-unknown-key]
        "$.model.nmae",
        "name",
    ),
    "mix fork, typo": (
        lambda: sessions_fork(MixCore(server_url=UNREACHABLE), {"id": "s1", "messsage_index": 0}),  # type: ignore[typeddict-unknown-key]
        "$.messsage_index",
        "message_index",
    ),
    "mix fork, both spellings": (
        lambda: sessions_fork(MixCore(server_url=UNREACHABLE), {"id": "s1", "message_index": 0, "messageIndex": 5}),  # type: ignore[typeddict-unknown-key]
        "$.messageIndex",
        "message_index",
    ),
    "devin create, typo in idempotent": (
        lambda: devin_create(DevinCore("k", server_url=UNREACHABLE), {"prompt": "p", "idempotnet": True}),  # type: ignore[typeddict-unknown-key]
        "$.idempotnet",
        "idempotent",
    ),
    "orq list, tag for tags": (
        lambda: orq_list(OrqCore("k", server_url=UNREACHABLE), {"filters": {"tag": ["a"]}}),  # type: ignore[typeddict-unknown-key]
        "$.filters.tag",
        "tags",
    ),
}


@pytest.mark.parametrize("case", CASES)
async def test_an_unknown_key_is_an_invalid_request_with_a_suggestion(case: str) -> None:
    call, path, hint = CASES[case]
    result = await call()
    assert isinstance(result, Err), result
    error = result.error
    assert isinstance(error, InvalidRequestError), repr(error)
    assert error.field_path == path
    key = path.rsplit(".", 1)[-1]
    assert f"unknown key {key!r}" in error.reason
    if hint is not None:
        assert f"did you mean {hint!r}?" in error.reason
    assert error.attempts == 0, "nothing was sent"
