"""Jupyter Server `/api/sessions`: operation declarations and their functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._pipeline import Operation, RequestOptions
from .._registry import collect
from ..errors import SessionkitError
from ..result import Result
from ._core import JupyterCore
from .models import (
    CreateSessionRequest,
    DeleteSessionRequest,
    GetSessionRequest,
    Session,
    UpdateSessionRequest,
)

if TYPE_CHECKING:  # the mapping twins are for the checker; the pipeline reads any mapping
    from .params import (
        CreateSessionRequestParams,
        DeleteSessionRequestParams,
        GetSessionRequestParams,
        UpdateSessionRequestParams,
    )

__all__ = ["OPERATIONS", "sessions_create", "sessions_list", "sessions_get", "sessions_update", "sessions_delete"]

CREATE_SESSION: Operation[CreateSessionRequest, Session] = Operation(
    id="jupyter.sessions.create",
    method="POST",
    path="/api/sessions",
    request=CreateSessionRequest,
    response=Session,
    success=(201,),
    retry_safe=True,  # create-or-return by path: repeating it cannot make a second session
)
LIST_SESSIONS: Operation[None, list[Session]] = Operation(
    id="jupyter.sessions.list",
    method="GET",
    path="/api/sessions",
    response=list[Session],
    body=None,
)
GET_SESSION: Operation[GetSessionRequest, Session] = Operation(
    id="jupyter.sessions.get",
    method="GET",
    path="/api/sessions/{session}",
    request=GetSessionRequest,
    response=Session,
    body=None,
)
UPDATE_SESSION: Operation[UpdateSessionRequest, Session] = Operation(
    id="jupyter.sessions.update",
    method="PATCH",
    path="/api/sessions/{session}",
    request=UpdateSessionRequest,
    response=Session,
    body="model",
)
DELETE_SESSION: Operation[DeleteSessionRequest, None] = Operation(
    id="jupyter.sessions.delete",
    method="DELETE",
    path="/api/sessions/{session}",
    request=DeleteSessionRequest,
    success=(204,),
    body=None,
)


async def sessions_create(
    core: JupyterCore,
    request: CreateSessionRequest | CreateSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """Create a session, or get the existing one for the same path (201 either way)."""
    return await core.send(CREATE_SESSION, request, options)


async def sessions_list(
    core: JupyterCore, request: None = None, *, options: RequestOptions | None = None
) -> Result[list[Session], SessionkitError]:
    """List every session, in creation order."""
    return await core.send(LIST_SESSIONS, request, options)


async def sessions_get(
    core: JupyterCore,
    request: GetSessionRequest | GetSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """Get one session by id (`{"session": id}`)."""
    return await core.send(GET_SESSION, request, options)


async def sessions_update(
    core: JupyterCore,
    request: UpdateSessionRequest | UpdateSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """Rename a session or change its kernel (`{"session": id, "model": {...}}`)."""
    return await core.send(UPDATE_SESSION, request, options)


async def sessions_delete(
    core: JupyterCore,
    request: DeleteSessionRequest | DeleteSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[None, SessionkitError]:
    """Delete a session and shut its kernel down."""
    return await core.send(DELETE_SESSION, request, options)


OPERATIONS = collect(__name__)
"""This module's operations with their functions: what the CLI, the docs and the request tests read."""
