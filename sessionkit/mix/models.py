"""Mix session models, with the camelCase wire names of the v0.10.1 REST API.

`SessionData` also decodes the v0.1.1 shape: `sessionType` is absent there, so it is optional here,
and `workingDirectory` (0.1.1 only) is kept.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from .._serde import OpenEnum, wire

__all__ = [
    "SessionType",
    "SubagentType",
    "PromptMode",
    "CallbackType",
    "ErrorType",
    "Callback",
    "SessionData",
    "ListSessionsRequest",
    "CreateSessionRequest",
    "GetSessionRequest",
    "ForkSessionRequest",
    "DeleteSessionRequest",
]


class SessionType(OpenEnum):
    """What kind of session: a root session, a user's fork, or a delegated subagent."""

    MAIN = "main"
    FORKED = "forked"
    SUBAGENT = "subagent"


class SubagentType(OpenEnum):
    GENERAL_PURPOSE = "general-purpose"


class PromptMode(OpenEnum):
    """How `custom_system_prompt` combines with the base prompt (the server's default is `default`)."""

    DEFAULT = "default"
    APPEND = "append"
    REPLACE = "replace"


class CallbackType(OpenEnum):
    BASH_SCRIPT = "bash_script"
    SUB_AGENT = "sub_agent"
    SEND_MESSAGE = "send_message"


class ErrorType(OpenEnum):
    """`type` of a Mix `RESTError` body."""

    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    INTERNAL_ERROR = "internal_error"
    UNAUTHORIZED = "unauthorized"
    VALIDATION_ERROR = "validation_error"


@attrs.define(kw_only=True)
class Callback:
    """An action the server runs after a tool completes (`tool_name="*"` for every tool)."""

    tool_name: str = wire("toolName")
    type: CallbackType
    name: str | None = None
    bash_command: str | None = wire("bashCommand", default=None)
    bash_timeout: int | None = wire("bashTimeout", default=None)
    message_content: str | None = wire("messageContent", default=None)
    sub_agent_prompt: str | None = wire("subAgentPrompt", default=None)
    sub_agent_type: str | None = wire("subAgentType", default=None)
    exclude_from_context: bool | None = wire("excludeFromContext", default=None)
    include_full_history: bool | None = wire("includeFullHistory", default=None)


@attrs.define(kw_only=True)
class SessionData:
    """A session and its usage counters. `created_at` carries the server's UTC offset."""

    id: str
    title: str
    user_message_count: int = wire("userMessageCount")
    assistant_message_count: int = wire("assistantMessageCount")
    tool_call_count: int = wire("toolCallCount")
    prompt_tokens: int = wire("promptTokens")
    completion_tokens: int = wire("completionTokens")
    cost: float
    created_at: datetime = wire("createdAt")
    # Required from 0.2.x on, absent in 0.1.1.
    session_type: SessionType | None = wire("sessionType", default=None)
    # `get` omits it; `list` includes it.
    first_user_message: str | None = wire("firstUserMessage", default=None)
    parent_session_id: str | None = wire("parentSessionId", default=None)
    parent_tool_call_id: str | None = wire("parentToolCallId", default=None)
    subagent_type: SubagentType | None = wire("subagentType", default=None)
    callbacks: list[Callback] | None = None
    working_directory: str | None = wire("workingDirectory", default=None)


@attrs.define(kw_only=True)
class ListSessionsRequest:
    """Query of `GET /api/sessions`; subagent sessions are hidden unless asked for (0.10.1)."""

    include_subagents: bool | None = wire("includeSubagents", default=None)


@attrs.define(kw_only=True)
class CreateSessionRequest:
    """Body of `POST /api/sessions`. The server rejects unknown fields, so unset ones are omitted."""

    title: str
    custom_system_prompt: str | None = wire("customSystemPrompt", default=None)
    prompt_mode: PromptMode | None = wire("promptMode", default=None)
    session_type: SessionType | None = wire("sessionType", default=None)
    subagent_type: str | None = wire("subagentType", default=None)
    callbacks: list[Callback] | None = None
    # Accepted by 0.1.1 servers only.
    working_directory: str | None = wire("workingDirectory", default=None)


@attrs.define(kw_only=True)
class GetSessionRequest:
    id: str


@attrs.define(kw_only=True)
class DeleteSessionRequest:
    id: str


@attrs.define(kw_only=True)
class ForkSessionRequest:
    """Fork `id`, keeping messages up to `message_index` (0-based in 0.10.1).

    A body is sent only when `message_index` or `title` is given: 0.1.1 servers take none,
    0.10.1 servers require `message_index`.
    """

    id: str
    message_index: int | None = wire(
        "messageIndex", default=None, validator=attrs.validators.optional(attrs.validators.ge(0))
    )
    title: str | None = None
