"""Orq `/v2/sessions` models (the SDK's `Thread` family), with the wire names of the live API.

Field names and required/optional split follow `orq-ai-sdk` 4.17.13. Optional request fields left at
`None` are omitted from the JSON, as the official SDK omits them.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from .._serde import OpenEnum, wire

__all__ = [
    "ThreadKind",
    "SessionInterval",
    "ThreadBilling",
    "ThreadUsage",
    "Thread",
    "ThreadFields",
    "ThreadFilters",
    "CreateThreadRequest",
    "UpdateThreadRequest",
    "GetSessionRequest",
    "DeleteSessionRequest",
    "UpdateSessionRequest",
    "ListThreadsRequest",
    "ListThreadsResponse",
    "GetThreadCountRequest",
    "GetThreadCountResponse",
]


class ThreadKind(OpenEnum):
    """What produced a thread; unknown kinds are kept as they come."""

    THREAD_KIND_CONVERSATION = "THREAD_KIND_CONVERSATION"
    THREAD_KIND_CODING_AGENT = "THREAD_KIND_CODING_AGENT"


class SessionInterval(OpenEnum):
    """The activity window of a list or count query; unknown values are sent as given."""

    SESSION_INTERVAL_ALL_TIME = "SESSION_INTERVAL_ALL_TIME"
    SESSION_INTERVAL_LAST_30_MINUTES = "SESSION_INTERVAL_LAST_30_MINUTES"
    SESSION_INTERVAL_LAST_1_HOUR = "SESSION_INTERVAL_LAST_1_HOUR"
    SESSION_INTERVAL_LAST_6_HOURS = "SESSION_INTERVAL_LAST_6_HOURS"
    SESSION_INTERVAL_LAST_24_HOURS = "SESSION_INTERVAL_LAST_24_HOURS"
    SESSION_INTERVAL_LAST_3_DAYS = "SESSION_INTERVAL_LAST_3_DAYS"
    SESSION_INTERVAL_LAST_7_DAYS = "SESSION_INTERVAL_LAST_7_DAYS"
    SESSION_INTERVAL_LAST_14_DAYS = "SESSION_INTERVAL_LAST_14_DAYS"
    SESSION_INTERVAL_LAST_1_MONTH = "SESSION_INTERVAL_LAST_1_MONTH"
    SESSION_INTERVAL_LAST_3_MONTHS = "SESSION_INTERVAL_LAST_3_MONTHS"


@attrs.define(kw_only=True)
class ThreadBilling:
    """Costs of a thread."""

    input_cost: float
    output_cost: float
    total_cost: float


@attrs.define(kw_only=True)
class ThreadUsage:
    """Token counts of a thread."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@attrs.define(kw_only=True)
class ThreadFields:
    """The fields a thread is created with, shared by `CreateThreadRequest` and `Thread`."""

    external_id: str
    duration: float
    contact_ids: list[str]
    billing: ThreadBilling
    usage: ThreadUsage
    traces_count: int
    tags: list[str]
    project_id: str | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    title: str | None = None
    client: str | None = None
    repo: str | None = None
    kind: ThreadKind | None = None


@attrs.define(kw_only=True)
class Thread(ThreadFields):
    """A session (the SDK calls it a thread). `duration` is in milliseconds."""

    id: str = wire("_id")


@attrs.define(kw_only=True)
class ThreadFilters:
    """Which threads a list or count query covers. `start_date`/`end_date` are unix ms as strings."""

    interval: SessionInterval
    project_id: str | None = None
    tags: list[str] | None = None
    start_date: str | None = None
    end_date: str | None = None
    client: str | None = None
    repo: str | None = None
    kind: ThreadKind | None = None


@attrs.define(kw_only=True)
class CreateThreadRequest(ThreadFields):
    """Body of `POST /v2/sessions`."""


@attrs.define(kw_only=True)
class UpdateThreadRequest:
    """Body of `PATCH /v2/sessions/{session_id}`: only the fields given are changed.

    `clear_contact_ids` / `clear_tags` remove every value; each excludes its list field.
    """

    external_id: str | None = None
    duration: float | None = None
    contact_ids: list[str] | None = None
    billing: ThreadBilling | None = None
    usage: ThreadUsage | None = None
    traces_count: int | None = None
    tags: list[str] | None = None
    project_id: str | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    clear_contact_ids: bool | None = None
    clear_tags: bool | None = None
    title: str | None = None
    client: str | None = None
    repo: str | None = None
    kind: ThreadKind | None = None


@attrs.define(kw_only=True)
class GetSessionRequest:
    session_id: str


@attrs.define(kw_only=True)
class DeleteSessionRequest:
    session_id: str


@attrs.define(kw_only=True)
class UpdateSessionRequest:
    session_id: str
    request_body: UpdateThreadRequest = attrs.Factory(UpdateThreadRequest)


@attrs.define(kw_only=True)
class ListThreadsRequest:
    """Body of `POST /v2/sessions/query`. `page` and `limit` are left to the server when unset."""

    filters: ThreadFilters
    limit: int | None = None
    page: int | None = None


@attrs.define(kw_only=True)
class GetThreadCountRequest(ListThreadsRequest):
    """Body of `POST /v2/sessions/count`: the same shape as a list query."""


@attrs.define(kw_only=True)
class ListThreadsResponse:
    """One page of threads; `has_more` says whether the next page has any."""

    object: str
    data: list[Thread]
    has_more: bool


@attrs.define(kw_only=True)
class GetThreadCountResponse:
    count: int
