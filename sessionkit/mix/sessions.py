"""Mix `/api/sessions`: operation declarations and their functions.

Responses follow the v0.10.1 wire format; the older v0.1.1 envelope `{"data", "error", "message"}`
is unwrapped, and a `null` list (the Go server's empty slice) decodes as `[]`. Failing responses
become `RESTResponseError` or `MixDefaultError` subclasses (see `sessionkit.mix.errors`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import attrs

from .._pipeline import Operation, RequestOptions
from .._registry import collect
from ..errors import SessionkitError
from ..result import Result
from ._core import MixCore
from .models import (
    CreateSessionRequest,
    DeleteSessionRequest,
    ForkSessionRequest,
    GetSessionRequest,
    ListSessionsRequest,
    SessionData,
)

if TYPE_CHECKING:  # the mapping twins are for the checker; the pipeline reads any mapping
    from .params import (
        CreateSessionRequestParams,
        DeleteSessionRequestParams,
        ForkSessionRequestParams,
        GetSessionRequestParams,
        ListSessionsRequestParams,
    )

__all__ = ["OPERATIONS", "sessions_list", "sessions_create", "sessions_get", "sessions_fork", "sessions_delete"]

_SESSION_KEYS = frozenset(a.metadata.get("wire", a.name) for a in attrs.fields(SessionData))


def unwrap_envelope(body: Any) -> Any:
    """The `data` member of a v0.1.1 `{"data", "error", "message"}` envelope; a bare body as it is."""
    return cast("dict[str, Any]", body)["data"] if _is_envelope(body) else body


def _is_envelope(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    fields = cast("dict[str, Any]", body)
    return "data" in fields and _SESSION_KEYS.isdisjoint(fields)


def unwrap_list(body: Any) -> Any:
    """Like `unwrap_envelope`, with `null` read as the empty list."""
    data = unwrap_envelope(body)
    return [] if data is None else data


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


async def sessions_list(
    core: MixCore,
    request: ListSessionsRequest | ListSessionsRequestParams | None = None,
    *,
    options: RequestOptions | None = None,
) -> Result[list[SessionData], SessionkitError]:
    """List sessions (`{"include_subagents": True}` to include subagent sessions)."""
    return await core.send(LIST_SESSIONS, request, options)


async def sessions_create(
    core: MixCore,
    request: CreateSessionRequest | CreateSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[SessionData, SessionkitError]:
    """Create a session (201). Not retried unless `options.idempotency_key` is given."""
    return await core.send(CREATE_SESSION, request, options)


async def sessions_get(
    core: MixCore,
    request: GetSessionRequest | GetSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[SessionData, SessionkitError]:
    """Get one session by id (`{"id": id}`)."""
    return await core.send(GET_SESSION, request, options)


async def sessions_fork(
    core: MixCore,
    request: ForkSessionRequest | ForkSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[SessionData, SessionkitError]:
    """Fork a session (`{"id": id, "message_index"?: int, "title"?: str}`) into a new one (201)."""
    return await core.send(FORK_SESSION, request, options)


async def sessions_delete(
    core: MixCore,
    request: DeleteSessionRequest | DeleteSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[None, SessionkitError]:
    """Delete a session and all its data (204)."""
    return await core.send(DELETE_SESSION, request, options)


OPERATIONS = collect(__name__)
"""This module's operations with their functions: what the CLI, the docs and the request tests read."""
