"""Devin v3 session models, with the wire names of `/v3/organizations/{org_id}/sessions`
(contracts/devin-api.md, part B). Times are integers (Unix epoch; seconds or milliseconds is UNCONFIRMED)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar
from urllib.parse import unquote, urlsplit

import attrs

from ..._bodies import Upload
from ..._serde import OpenEnum
from ..models import SessionSecret  # the same shape in both API versions

__all__ = [
    "DevinMode",
    "MessageSource",
    "SessionOrigin",
    "SessionStatus",
    "StatusDetail",
    "SessionSecret",
    "PullRequest",
    "Session",
    "SessionMessage",
    "SessionTags",
    "Page",
    "CreateSessionRequest",
    "ListSessionsRequest",
    "GetSessionRequest",
    "SendMessageRequest",
    "ListMessagesRequest",
    "GetTagsRequest",
    "UpdateTagsRequest",
    "ArchiveSessionRequest",
    "TerminateSessionRequest",
    "AttachmentSource",
    "SessionSize",
    "InsightsStatus",
    "Attachment",
    "SessionAttachment",
    "SessionInsights",
    "InsightsGeneration",
    "Upload",
    "UploadAttachmentRequest",
    "DownloadAttachmentRequest",
    "ListAttachmentsRequest",
    "GetInsightsRequest",
    "GenerateInsightsRequest",
    "ListInsightsRequest",
    "STATES",
    "NEEDS_INPUT",
    "TERMINAL",
    "as_devin_id",
]

T = TypeVar("T")


def as_devin_id(value: str) -> str:
    """A session id as v3 paths take it: with the `devin-` prefix, added when absent."""
    return value if not value or value.startswith("devin-") else f"devin-{value}"


class SessionStatus(OpenEnum):
    """`status`. Unknown values (e.g. a newer `creating`) are kept as members rather than failing."""

    NEW = "new"
    CREATING = "creating"
    CLAIMED = "claimed"
    RUNNING = "running"
    EXIT = "exit"
    ERROR = "error"
    SUSPENDED = "suspended"
    RESUMING = "resuming"


class StatusDetail(OpenEnum):
    """`status_detail`: what a `running` session does, or why a `suspended` one sleeps."""

    WORKING = "working"
    WAITING_FOR_USER = "waiting_for_user"
    WAITING_FOR_APPROVAL = "waiting_for_approval"
    FINISHED = "finished"
    INACTIVITY = "inactivity"
    USER_REQUEST = "user_request"
    USAGE_LIMIT_EXCEEDED = "usage_limit_exceeded"
    OUT_OF_CREDITS = "out_of_credits"
    OUT_OF_QUOTA = "out_of_quota"
    NO_QUOTA_ALLOCATION = "no_quota_allocation"
    PAYMENT_DECLINED = "payment_declined"
    ORG_USAGE_LIMIT_EXCEEDED = "org_usage_limit_exceeded"
    USER_USAGE_LIMIT_EXCEEDED = "user_usage_limit_exceeded"
    TOTAL_SESSION_LIMIT_EXCEEDED = "total_session_limit_exceeded"
    ERROR = "error"


class SessionOrigin(OpenEnum):
    WEBAPP = "webapp"
    SLACK = "slack"
    TEAMS = "teams"
    API = "api"
    LINEAR = "linear"
    JIRA = "jira"
    SCHEDULED = "scheduled"
    AUTOMATION = "automation"
    CLI = "cli"
    DESKTOP = "desktop"
    OTHER = "other"


class DevinMode(OpenEnum):
    """`devin_mode` of a create; left out, the organisation's default applies (preview modes are flagged)."""

    NORMAL = "normal"
    FAST = "fast"
    LITE = "lite"
    ULTRA = "ultra"
    FUSION = "fusion"


class MessageSource(OpenEnum):
    """Who wrote a message; values beyond `devin` and `user` are UNCONFIRMED (kept when they come)."""

    DEVIN = "devin"
    USER = "user"


STATES: frozenset[str] = frozenset(
    {s.value for s in SessionStatus} | {"working", "waiting_for_user", "waiting_for_approval", "finished"}
)
"""Every `Session.state` value: a `status`, or while `running` its `status_detail`."""
NEEDS_INPUT: frozenset[str] = frozenset({"waiting_for_user", "waiting_for_approval"})
"""Devin waits for the user: a reply, or the approval of an action (safe mode)."""
TERMINAL: frozenset[str] = frozenset({"finished", "exit", "error", "suspended"})
"""Nothing happens until someone acts: the task is done (`finished`, the VM still up; `exit`), failed
(`error`), or the session sleeps (`suspended`, the reason in `status_detail`; a message resumes it)."""


@attrs.define(kw_only=True)
class PullRequest:
    pr_url: str
    pr_state: str | None = None


@attrs.define(kw_only=True)
class Session:
    """`SessionResponse`. `status_detail`, `structured_output`, `category` and `subcategory` are only
    filled by get and list. `session_id` may come without the `devin-` prefix (UNCONFIRMED): use
    `devin_id` for paths (every request model adds the prefix itself)."""

    session_id: str
    url: str
    org_id: str
    status: SessionStatus
    acus_consumed: float
    created_at: int
    updated_at: int
    tags: list[str]
    pull_requests: list[PullRequest]
    status_detail: StatusDetail | None = None
    title: str | None = None
    user_id: str | None = None
    service_user_id: str | None = None
    playbook_id: str | None = None
    parent_session_id: str | None = None
    child_session_ids: list[str] | None = None
    is_archived: bool = False
    is_advanced: bool | None = None
    structured_output: Any = None
    origin: SessionOrigin | None = None
    category: str | None = None
    subcategory: str | None = None
    devin_mode: str | None = None

    @property
    def devin_id(self) -> str:
        """`session_id` with the `devin-` prefix the paths take."""
        return as_devin_id(self.session_id)

    @property
    def state(self) -> str:
        """One word for where the session is: `status_detail` while `running` (`working`,
        `waiting_for_user`, `waiting_for_approval`, `finished`), else `status` (see `STATES`)."""
        if self.status is SessionStatus.RUNNING and self.status_detail is not None:
            return self.status_detail.value
        return self.status.value

    @property
    def needs_input(self) -> bool:
        return self.state in NEEDS_INPUT

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL


@attrs.define(kw_only=True)
class SessionMessage:
    """One message of a session, oldest first in a page."""

    event_id: str
    source: MessageSource
    message: str
    created_at: int


@attrs.define(kw_only=True)
class SessionTags:
    tags: list[str]


@attrs.define(kw_only=True)
class Page(Generic[T]):
    """One cursor page. Pass `end_cursor` as the next request's `after`; it is None on the last page.
    `total` may be left out by the server."""

    items: list[T]
    has_next_page: bool = False
    end_cursor: str | None = None
    total: int | None = None


@attrs.define(kw_only=True)
class CreateSessionRequest:
    """Body of `POST .../sessions`. Fields left at `None` are not sent (the server's default applies).

    No idempotency is documented for v3, so a create is never retried. `devin_id` (undocumented) and
    the removed `advanced_mode` are not offered.
    """

    prompt: str
    title: str | None = None
    tags: list[str] | None = None
    devin_mode: DevinMode | None = None
    max_acu_limit: float | None = None
    playbook_id: str | None = None
    child_playbook_id: str | None = None
    knowledge_ids: list[str] | None = None
    secret_ids: list[str] | None = None
    session_secrets: list[SessionSecret] | None = None
    repos: list[str] | None = None
    attachment_urls: list[str] | None = None
    session_links: list[str] | None = None
    bypass_approval: bool | None = None
    create_as_user_id: str | None = None
    platform: str | None = None
    resumable: bool | None = None
    structured_output_schema: dict[str, Any] | None = None
    structured_output_required: bool | None = None


@attrs.define(kw_only=True)
class ListSessionsRequest:
    """Query of `GET .../sessions`: `first` (1-200, server default 100) sessions after the cursor
    `after`, filtered. Lists go as repeated parameters (`tags=a&tags=b`)."""

    first: int | None = None
    after: str | None = None
    session_ids: list[str] | None = None
    created_after: int | None = None
    created_before: int | None = None
    updated_after: int | None = None
    updated_before: int | None = None
    tags: list[str] | None = None
    playbook_id: str | None = None
    schedule_id: str | None = None
    origins: list[SessionOrigin] | None = None
    user_ids: list[str] | None = None
    service_user_ids: list[str] | None = None
    repo_names: list[str] | None = None
    is_archived: bool | None = None
    category: str | None = None


@attrs.define(kw_only=True)
class GetSessionRequest:
    devin_id: str = attrs.field(converter=as_devin_id)


@attrs.define(kw_only=True)
class SendMessageRequest:
    """`POST .../sessions/{devin_id}/messages`. A suspended session is resumed by it."""

    devin_id: str = attrs.field(converter=as_devin_id)
    message: str
    attachment_urls: list[str] | None = None
    message_as_user_id: str | None = None


@attrs.define(kw_only=True)
class ListMessagesRequest:
    devin_id: str = attrs.field(converter=as_devin_id)
    first: int | None = None
    after: str | None = None


@attrs.define(kw_only=True)
class GetTagsRequest:
    devin_id: str = attrs.field(converter=as_devin_id)


@attrs.define(kw_only=True)
class UpdateTagsRequest:
    """The body of the tags add (deduplicated with the existing ones) and replace operations: at most 50."""

    devin_id: str = attrs.field(converter=as_devin_id)
    tags: list[str]


@attrs.define(kw_only=True)
class ArchiveSessionRequest:
    devin_id: str = attrs.field(converter=as_devin_id)


@attrs.define(kw_only=True)
class TerminateSessionRequest:
    """`archive=True` also archives the session. Termination cannot be undone."""

    devin_id: str = attrs.field(converter=as_devin_id)
    archive: bool | None = None


class AttachmentSource(OpenEnum):
    """Who put a file in a session: the user (an uploaded attachment) or Devin (a file it made)."""

    DEVIN = "devin"
    USER = "user"


class SessionSize(OpenEnum):
    """How big a session was, as its insights classify it."""

    XS = "xs"
    S = "s"
    M = "m"
    L = "l"
    XL = "xl"


class InsightsStatus(OpenEnum):
    """The answer to a request for insights: generation `started`, or insights `already_exists`
    (generated, or being generated)."""

    STARTED = "started"
    ALREADY_EXISTS = "already_exists"


@attrs.define(kw_only=True)
class Attachment:
    """An uploaded file (`AttachmentResponse`): pass `url` in `attachment_urls` for Devin to read it."""

    attachment_id: str
    name: str
    url: str


@attrs.define(kw_only=True)
class SessionAttachment:
    """A file of a session: one the user attached, or one Devin made (`source`)."""

    attachment_id: str
    name: str
    source: AttachmentSource
    url: str
    content_type: str | None = None


@attrs.define(kw_only=True)
class SessionInsights(Session):
    """`SessionInsightsResponse`: a session with its message counts, size and AI analysis.

    `analysis` is None until insights were generated (`sessions_insights_generate`); its shape
    (`action_items`, `classification`, `issues`, `note_usage`, `suggested_prompt`, `timeline`) is
    documented only by example, so it is kept as the server's JSON. The counts and the size are
    read leniently (None when absent).
    """

    num_devin_messages: int | None = None
    num_user_messages: int | None = None
    session_size: SessionSize | None = None
    analysis: dict[str, Any] | None = None


@attrs.define(kw_only=True)
class InsightsGeneration:
    """The answer to `sessions_insights_generate`: poll `sessions_insights_get` for the result."""

    session_id: str
    status: InsightsStatus


@attrs.define(kw_only=True)
class UploadAttachmentRequest:
    """Upload `file` for Devin sessions: an `Upload`, or what `Upload` takes (a path, bytes, or an
    async iterable of bytes), streamed from its source."""

    file: Upload = attrs.field(converter=Upload.of)


@attrs.define(kw_only=True)
class DownloadAttachmentRequest:
    """An uploaded file by its `uuid` (the attachment id) and `name`.

    `DownloadAttachmentRequest.from_url(attachment.url)` reads both from a URL ending in
    `/attachments/<uuid>/<name>` (the form of the URLs the docs show; UNCONFIRMED for every URL).
    """

    uuid: str
    name: str

    @classmethod
    def from_url(cls, url: str) -> DownloadAttachmentRequest:
        """The request for the file at `url`; `ValueError` when its path does not end in
        `/attachments/<uuid>/<name>`."""
        parts = urlsplit(url).path.split("/")
        if len(parts) < 3 or parts[-3] != "attachments" or not parts[-2] or not parts[-1]:
            raise ValueError("not an attachment URL (its path must end in /attachments/<uuid>/<name>)")
        return cls(uuid=unquote(parts[-2]), name=unquote(parts[-1]))


@attrs.define(kw_only=True)
class ListAttachmentsRequest:
    devin_id: str = attrs.field(converter=as_devin_id)


@attrs.define(kw_only=True)
class GetInsightsRequest:
    devin_id: str = attrs.field(converter=as_devin_id)


@attrs.define(kw_only=True)
class GenerateInsightsRequest:
    devin_id: str = attrs.field(converter=as_devin_id)


@attrs.define(kw_only=True)
class ListInsightsRequest(ListSessionsRequest):
    """Query of `GET .../sessions/insights`: the filters and cursor of a session list."""
