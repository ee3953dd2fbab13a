"""Log10 `/api/v1/sessions`: the create operation and its function."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from .._operation import Operation
from .._options import RequestOptions
from .._registry import collect
from .._rules import fields, non_empty
from .._serde import StructureFailure
from ..errors import SessionkitError
from ..result import Result
from ._core import ORGANIZATION_HEADER, Log10Core
from .models import CreateSessionRequest

if TYPE_CHECKING:  # the mapping twins are for the checker; the pipeline reads any mapping
    from .params import CreateSessionRequestParams


__all__ = ["OPERATIONS", "sessions_create"]


def session_id(body: Any) -> Any:
    """The id in `{"session": {"id": ...}}`; the spec makes both optional, but an id-less 201 is useless."""
    session = cast("dict[str, Any]", body).get("session") if isinstance(body, dict) else None
    value = cast("dict[str, Any]", session).get("id") if isinstance(session, dict) else None
    if not isinstance(value, str) or not value:
        raise StructureFailure("the response carries no session id", "$.session.id")
    return value


CREATE_SESSION: Operation[CreateSessionRequest, str] = Operation(
    id="log10.sessions.create",
    method="POST",
    path="/api/v1/sessions",
    request=CreateSessionRequest,
    response=str,
    success=(201,),
    body=None,
    headers={"organization": ORGANIZATION_HEADER},
    decode=session_id,
    validate=fields(organization=non_empty),
)


async def sessions_create(
    core: Log10Core,
    request: CreateSessionRequest | CreateSessionRequestParams | None = None,
    *,
    options: RequestOptions | None = None,
) -> Result[str, SessionkitError]:
    """Create a session and return its id (201). Not retried unless `options.idempotency_key` is given."""
    return await core.send(CREATE_SESSION, request, options)


OPERATIONS = collect(__name__)
"""This module's operations with their functions: what the CLI, the docs and the request tests read."""
