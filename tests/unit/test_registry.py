"""`sessionkit._registry`: `@drives` pairs a helper with its operation; a stray one fails at import."""

from __future__ import annotations

import sys
import types

import attrs
import pytest

from sessionkit._operation import Operation
from sessionkit._registry import REQUEST_MODEL, collect, drives
from sessionkit.mix import OPERATIONS, RunTurnRequest, sessions_messages_send, sessions_run


@attrs.define
class _Request:
    id: str


def _module(**namespace: object) -> str:
    module = types.ModuleType("fake_service_sessions")
    vars(module).update(namespace)
    sys.modules[module.__name__] = module
    return module.__name__


def test_the_turn_helper_is_registered_with_the_message_it_sends() -> None:
    [entry] = [e for e in OPERATIONS if e.driver is not None]
    assert (entry.function, entry.driver) == (sessions_messages_send, sessions_run)
    assert getattr(sessions_run, REQUEST_MODEL) is RunTurnRequest


def test_a_driver_of_an_operation_the_module_does_not_declare_fails_at_import() -> None:
    elsewhere = Operation(id="x.sessions.get", method="GET", path="/x/{id}", request=_Request, body=None)

    @drives(elsewhere, _Request)
    async def sessions_run(core: object, request: object) -> None: ...

    name = _module(sessions_run=sessions_run)
    try:
        with pytest.raises(RuntimeError, match="functions without a declaration"):
            collect(name)
    finally:
        del sys.modules[name]
