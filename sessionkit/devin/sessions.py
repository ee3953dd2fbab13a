"""Devin `/v1/sessions`: operation declarations and their functions."""

from __future__ import annotations

from .._pipeline import Operation, RequestOptions
from .._registry import collect
from ..errors import SessionkitError
from ..result import Result
from ._core import DevinCore
from .models import CreateSessionRequest, CreateSessionResponse, GetSessionRequest, Session
from .params import CreateSessionRequestParams, GetSessionRequestParams

__all__ = ["OPERATIONS", "sessions_create", "sessions_get"]


def _is_idempotent(model: CreateSessionRequest) -> bool:
    return model.idempotent is True


def _check_acu_limit(model: CreateSessionRequest) -> tuple[str, str] | None:
    """`max_acu_limit` must be > 0 (the server's rule)."""
    limit = model.max_acu_limit
    if limit is not None and limit <= 0:
        return "$.max_acu_limit", f"must be greater than 0, got {limit}"
    return None


CREATE_SESSION: Operation[CreateSessionRequest, CreateSessionResponse] = Operation(
    id="devin.sessions.create",
    method="POST",
    path="/v1/sessions",
    request=CreateSessionRequest,
    response=CreateSessionResponse,
    # Without `idempotent`, a retry after a lost response could start a second session.
    retry_safe=_is_idempotent,
    validate=_check_acu_limit,
)
GET_SESSION: Operation[GetSessionRequest, Session] = Operation(
    id="devin.sessions.get",
    method="GET",
    path="/v1/sessions/{session_id}",
    request=GetSessionRequest,
    response=Session,
    body=None,
)


async def sessions_create(
    core: DevinCore,
    request: CreateSessionRequest | CreateSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[CreateSessionResponse, SessionkitError]:
    """Start a Devin session (200). It is retried on transient failures only when `idempotent=True`."""
    return await core.send(CREATE_SESSION, request, options)


async def sessions_get(
    core: DevinCore,
    request: GetSessionRequest | GetSessionRequestParams,
    *,
    options: RequestOptions | None = None,
) -> Result[Session, SessionkitError]:
    """Get a session's details and messages (`{"session_id": id}`)."""
    return await core.send(GET_SESSION, request, options)


OPERATIONS = collect(__name__)
"""This module's operations with their functions: what the CLI, the docs and the request tests read."""
