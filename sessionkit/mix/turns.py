"""What `sessions_run` takes and gives: the message of a turn, the callbacks that answer the agent, and
the `Turn` it returns (the assistant's messages, the tool uses, every question with its answer, and
how the turn ended)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal, TypeAlias

import attrs

from .events import NotificationEvent, PermissionEvent
from .models import Message, ThinkingLevel

__all__ = [
    "TurnEnd",
    "AnsweredBy",
    "PermissionCallback",
    "NotificationCallback",
    "TurnMessage",
    "RunTurnRequest",
    "ToolUse",
    "Question",
    "Turn",
]

TurnEnd: TypeAlias = Literal["complete", "error", "cancelled", "deadline"]
"""How a turn ended: the agent finished (`complete`), failed (`error`), was stopped by someone or the
session was deleted (`cancelled`), or the call's total deadline passed first (`deadline`: sessionkit
then cancelled the turn on the server)."""

AnsweredBy: TypeAlias = Literal["callback", "default", "callback_error", "deadline"]
"""Who chose a question's answer: the caller's callback; the default policy (no callback: deny a
permission, acknowledge a notification); the default after the callback raised or answered
something unusable (`callback_error`, and the turn ends in `Err`); or nobody, because the
deadline passed while the callback ran (`deadline`: no answer was sent)."""

PermissionCallback: TypeAlias = Callable[[PermissionEvent], Awaitable[bool]]
"""`async def on_permission(event) -> bool`: True grants the permission, False denies it."""

NotificationCallback: TypeAlias = Callable[[NotificationEvent], Awaitable["str | None"]]
"""`async def on_notification(event) -> str | None`: the text typed (`response_type` text), the
choice picked (choice: one of `event.choices`), or None to acknowledge it."""


@attrs.define(kw_only=True)
class TurnMessage:
    """The message that starts the turn: what `sessions_messages_send` takes, without the id."""

    text: str
    plan_mode: bool | None = None
    thinking_level: ThinkingLevel | None = None
    max_steps: int | None = None


@attrs.define(kw_only=True)
class RunTurnRequest:
    """`sessions_run`'s request: the session `id` and the `message` to send it."""

    id: str
    message: TurnMessage


@attrs.define(kw_only=True)
class ToolUse:
    """A tool the agent used in the turn, from the event stream and the session's messages.

    `success` is what `tool_execution_complete` said (None: its run was not seen, e.g. a denied
    permission stopped it, or it ran while the stream was down and the messages list does not say);
    `result` and `is_error` come from the messages list.
    """

    id: str
    name: str
    input: str | None = None
    success: bool | None = None
    result: str | None = None
    is_error: bool | None = None
    parent_tool_call_id: str | None = None


@attrs.define(kw_only=True)
class Question:
    """A permission or notification the agent asked during the turn, and the answer it got.

    `answer` is what was sent: `grant` or `deny` for a permission, the response type
    (`acknowledge`, `text`, `choice`) for a notification, None when nothing was sent. `delivered`
    says whether the server took it (False after a 404: someone else answered it first, or it
    expired).
    """

    kind: Literal["permission", "notification"]
    id: str
    event: PermissionEvent | NotificationEvent
    answer: Literal["grant", "deny", "acknowledge", "text", "choice"] | None
    by: AnsweredBy
    value: str | None = None
    delivered: bool = False


@attrs.define(kw_only=True)
class Turn:
    """One turn of a Mix session, as `sessions_run` followed it.

    `messages` are the session's messages after the turn's user message (the assistant's, and
    tool messages where the server stores them), read from the messages list when the turn ended.
    `text` is the final answer. `problems` lists what went wrong without ending the turn (an event
    that did not decode, a messages list that could not be read); each is a scrubbed message.
    """

    session_id: str
    ended: TurnEnd
    text: str
    messages: list[Message]
    tool_uses: list[ToolUse]
    questions: list[Question]
    user_message_id: str | None = None
    error: str | None = None
    cancelled_on_server: bool = False
    """sessionkit asked the server to cancel the turn (on the deadline) and the server answered."""
    cancel_error: str | None = None
    """Why that cancel failed, when it did."""
    reconnects: int = 0
    """How often the event stream was opened again during the turn."""
    problems: list[str] = attrs.Factory(list[str])

    @property
    def defaulted(self) -> bool:
        """Whether any question got the default answer (deny, acknowledge) instead of a callback's."""
        return any(q.by != "callback" for q in self.questions)
