"""Jupyter Server `/api/sessions` and `/api/kernelspecs`: operation declarations and their functions
(the kernels' own are in `kernels.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._operation import Operation
from .._options import RequestOptions
from .._registry import collect, waits_on
from ..errors import SessionkitError
from ..result import Result
from ..wait import wait_until
from ._core import JupyterCore
from .models import (
    CreateSessionRequest,
    DeleteSessionRequest,
    GetSessionRequest,
    KernelSpecs,
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

__all__ = [
    "OPERATIONS",
    "sessions_create",
    "sessions_list",
    "sessions_get",
    "sessions_update",
    "sessions_delete",
    "sessions_wait_ready",
    "kernelspecs_list",
]

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
LIST_KERNELSPECS: Operation[None, KernelSpecs] = Operation(
    id="jupyter.kernelspecs.list",
    method="GET",
    path="/api/kernelspecs",
    response=KernelSpecs,
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
    """Get one session by id (`{"session": "ID"}`)."""
    return await core.send(GET_SESSION, request, options)


async def sessions_update(
    core: JupyterCore,
    request: UpdateSessionRequest | UpdateSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """Rename a session or change its kernel (`{"session": "ID", "model": {"path": "b.ipynb"}}`); the old kernel is shut down."""
    return await core.send(UPDATE_SESSION, request, options)


async def sessions_delete(
    core: JupyterCore,
    request: DeleteSessionRequest | DeleteSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[None, SessionkitError]:
    """Delete a session and shut its kernel down, ending every session that shares that kernel."""
    return await core.send(DELETE_SESSION, request, options)


_STARTING = frozenset({"starting", "restarting", "autorestarting"})


def _execution_state(session: Session) -> str | None:
    return session.kernel.execution_state if session.kernel is not None else None


@waits_on(GET_SESSION)
async def sessions_wait_ready(
    core: JupyterCore,
    request: GetSessionRequest | GetSessionRequestParams,
    *,
    timeout: float = 60.0,
    interval: float = 0.5,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """Poll a session (`{"session": "ID"}`) until its kernel has started: `idle`, `busy` or `dead`.

    `Ok(session)` once `kernel.execution_state` is past `starting`; `"dead"` ends the wait too (it
    will never be ready), so check it. A real server reports `starting` until a client attaches to
    the kernel's channels or the kernel is restarted; without one, the wait ends in
    `Err(WaitTimeoutError)` whose `last` is the session. A failing poll (a 404 when the session is
    gone) is returned as it is. Polls start every `interval` seconds and slow down to 5 s at most;
    a `timeout` or `interval` that is not a positive number is `Err(InvalidRequestError)`.
    """

    def started(session: Session) -> bool:
        state = _execution_state(session)
        return state is not None and state not in _STARTING

    return await wait_until(
        lambda: sessions_get(core, request, options=options),
        started,
        timeout=timeout,
        interval=interval,
        max_interval=5.0,  # a longer interval is kept for the first pause, then polls slow to 5 s
        clock=core.config.clock,
        describe=lambda session: f"execution_state={_execution_state(session)}",
        operation_id=GET_SESSION.id,
    )


async def kernelspecs_list(
    core: JupyterCore, request: None = None, *, options: RequestOptions | None = None
) -> Result[KernelSpecs, SessionkitError]:
    """List the installed kernelspecs (the names `kernel.name` takes) and the default one."""
    return await core.send(LIST_KERNELSPECS, request, options)


OPERATIONS = collect(__name__)
"""This module's operations with their functions: what the CLI, the docs and the request tests read."""
