"""Hook protocols: small callables run by the pipeline around every call."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from ._bodies import Body
    from .errors import SessionkitError
    from .result import ResponseMeta

__all__ = ["HookContext", "PreparedRequest", "Hooks", "BeforeRequestHook", "AfterSuccessHook", "AfterErrorHook"]


@attrs.frozen
class HookContext:
    """Which operation is running, and which attempt this is (1-based)."""

    operation_id: str
    service: str
    attempt: int


@attrs.define
class PreparedRequest:
    """The request about to be sent. A before-request hook may change `headers` in place.

    `body` is JSON bytes, or a `Body` (a multipart form) that is built as it is sent.
    """

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | Body | None


class BeforeRequestHook(Protocol):
    def __call__(self, ctx: HookContext, request: PreparedRequest) -> Awaitable[None] | None: ...


class AfterSuccessHook(Protocol):
    def __call__(self, ctx: HookContext, meta: ResponseMeta, value: Any) -> Awaitable[None] | None: ...


class AfterErrorHook(Protocol):
    def __call__(self, ctx: HookContext, error: SessionkitError) -> Awaitable[None] | None: ...


@attrs.define
class Hooks:
    """Hooks a core runs: before each attempt, after a success, after a final error.

    Hooks may be plain or async functions. An exception raised by a hook is a bug in the hook and
    propagates to the caller.
    """

    before_request: list[BeforeRequestHook] = attrs.field(factory=list[BeforeRequestHook])
    after_success: list[AfterSuccessHook] = attrs.field(factory=list[AfterSuccessHook])
    after_error: list[AfterErrorHook] = attrs.field(factory=list[AfterErrorHook])
