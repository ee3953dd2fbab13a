"""Devin v1 session models, with the wire names of `/v1/sessions` (contracts/devin-jupyter.md, part 1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from .._bodies import Upload
from .._serde import OpenEnum

__all__ = [
    "SessionSecret",
    "CreateSessionRequest",
    "CreateSessionResponse",
    "GetSessionRequest",
    "ListSessionsRequest",
    "ListSessionsResponse",
    "PullRequest",
    "SessionMessage",
    "SessionStatus",
    "Session",
    "SessionSummary",
    "SendMessageRequest",
    "MessageSent",
    "UpdateTagsRequest",
    "TerminateSessionRequest",
    "DetailResponse",
    "Upload",
    "UploadAttachmentRequest",
    "NEEDS_INPUT",
    "TERMINAL",
]


@attrs.define(kw_only=True)
class SessionSecret:
    """A secret for one session only; it is not stored as an organisation secret."""

    key: str
    value: str = attrs.field(repr=False)
    sensitive: bool | None = None


@attrs.define(kw_only=True)
class CreateSessionRequest:
    """Body of `POST /v1/sessions`. Fields left at `None` are not sent, so the server's default applies.

    For `secret_ids` and `knowledge_ids` the server reads "absent" (or null) as *all* of them and
    `[]` as *none*. `max_acu_limit` must be greater than 0. A create is retried only when
    `idempotent=True` (the server then returns the existing session instead of a second one).
    """

    prompt: str
    snapshot_id: str | None = None
    playbook_id: str | None = None
    unlisted: bool | None = None
    idempotent: bool | None = None
    max_acu_limit: int | None = None
    secret_ids: list[str] | None = None
    knowledge_ids: list[str] | None = None
    tags: list[str] | None = None
    title: str | None = None
    session_secrets: list[SessionSecret] | None = None
    structured_output_schema: dict[str, Any] | None = None


@attrs.define(kw_only=True)
class CreateSessionResponse:
    """The created (or, with `idempotent=True`, existing) session. `is_new_session` only comes with `idempotent`."""

    session_id: str
    url: str
    is_new_session: bool | None = None


@attrs.define(kw_only=True)
class GetSessionRequest:
    session_id: str


@attrs.define(kw_only=True)
class ListSessionsRequest:
    """Query of `GET /v1/sessions`: one page of `limit` sessions (server default 100) from `offset`,
    optionally only those with all of `tags` or made by `user_email`."""

    limit: int | None = None
    offset: int | None = None
    tags: list[str] | None = None
    user_email: str | None = None


class SessionStatus(OpenEnum):
    """`status_enum`. Unknown values are kept as members of this enum rather than failing."""

    WORKING = "working"
    BLOCKED = "blocked"
    EXPIRED = "expired"
    FINISHED = "finished"
    SUSPEND_REQUESTED = "suspend_requested"
    SUSPEND_REQUESTED_FRONTEND = "suspend_requested_frontend"
    RESUME_REQUESTED = "resume_requested"
    RESUME_REQUESTED_FRONTEND = "resume_requested_frontend"
    RESUMED = "resumed"


NEEDS_INPUT: frozenset[SessionStatus] = frozenset({SessionStatus.BLOCKED})
"""Devin waits for the user (also what a session that ended its turn shows)."""
TERMINAL: frozenset[SessionStatus] = frozenset({SessionStatus.FINISHED, SessionStatus.EXPIRED})
"""The session is over. Devin defines no terminal set: this one is inferred (UNCONFIRMED)."""


@attrs.define(kw_only=True)
class PullRequest:
    url: str


@attrs.define(kw_only=True)
class SessionMessage:
    """One message of a session. Devin documents this only by example, so every field is optional and
    `timestamp` stays the server's string."""

    type: str | None = None
    event_id: str | None = None
    message: str | None = None
    timestamp: str | None = None
    username: str | None = None
    origin: str | None = None
    user_id: str | None = None


@attrs.define(kw_only=True)
class Session:
    """`GET /v1/sessions/{session_id}`. Use `status_enum` for logic; `status` is free-form text."""

    session_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    title: str | None = None
    snapshot_id: str | None = None
    playbook_id: str | None = None
    tags: list[str] | None = None
    pull_request: PullRequest | None = None
    structured_output: Any = None
    status_enum: SessionStatus | None = None
    messages: list[SessionMessage] = attrs.Factory(list[SessionMessage])

    @property
    def is_terminal(self) -> bool:
        """True once the session is `finished` or `expired`."""
        return self.status_enum in TERMINAL


@attrs.define(kw_only=True)
class SessionSummary:
    """One session of a list page. Which fields are always sent is UNCONFIRMED: only the first four
    are required here, the rest are read when present."""

    session_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    title: str | None = None
    tags: list[str] | None = None
    status_enum: SessionStatus | None = None
    requesting_user_email: str | None = None
    snapshot_id: str | None = None
    playbook_id: str | None = None
    pull_request: PullRequest | None = None
    structured_output: Any = None


@attrs.define(kw_only=True)
class ListSessionsResponse:
    """One page of `GET /v1/sessions`; a page shorter than the `limit` asked for is the last."""

    sessions: list[SessionSummary]


@attrs.define(kw_only=True)
class SendMessageRequest:
    """`POST /v1/sessions/{session_id}/message`: the body is `{"message": ...}`."""

    session_id: str
    message: str


@attrs.define(kw_only=True)
class MessageSent:
    """The answer to a message. Devin types it "an object or null": `detail` is set when the session was
    in a state that changed how the message was taken, and None when the body was `null`. Other
    fields of the object are UNCONFIRMED and ignored."""

    detail: str | None = None


@attrs.define(kw_only=True)
class UpdateTagsRequest:
    """`PUT /v1/sessions/{session_id}/tags`: `tags` replaces the session's whole tag set."""

    session_id: str
    tags: list[str]


@attrs.define(kw_only=True)
class TerminateSessionRequest:
    session_id: str


@attrs.define(kw_only=True)
class DetailResponse:
    """A `{"detail": "..."}` answer, e.g. "Tags updated successfully"."""

    detail: str


@attrs.define(kw_only=True)
class UploadAttachmentRequest:
    """`POST /v1/attachments`: `file` is an `Upload`, or what `Upload` takes (a path, bytes, or an
    async iterable of bytes), streamed from its source."""

    file: Upload = attrs.field(converter=Upload.of)
