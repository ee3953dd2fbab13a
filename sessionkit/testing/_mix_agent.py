"""The agent of `FakeMix`: what one message plays on the session's event stream, and the questions it
asks when a test scripts them.

A message the test did not script plays the usual turn: the user message, reasoning, one `Bash` tool
call, the answer `"You said: <text>"` in pieces, and `complete`. `fake.script_turn(session_id,
*steps)` replaces the next turn of that session with these steps (then the answer and `complete`):

| step | what the agent does |
| --- | --- |
| `AskPermission(tool_name, ...)` | starts a tool call, emits `permission` and waits for `/api/permissions/{id}/grant` or `/deny`; a granted tool runs (`tool_execution_complete` with `success` true), a denied one does not |
| `AskNotification(title, ...)` | emits `notification` (0.11.4 only) and waits up to its `timeout` seconds for `/api/notifications/{id}/respond` |
| `RunTool(name, input)` | runs a tool that needs no permission |
| `Say(text)` | writes `text` into the answer, in pieces |
| `Pause(seconds)` | works silently |
| `DropStream()` | cuts the session's open streams; a client that reconnects is held until `AwaitReconnect()` (or the turn's end), so what the agent does meanwhile is lost to it, as on the server |
| `AwaitReconnect()` | lets streams in again and waits until one of the session is open |
| `FailTurn(error)` | ends the turn with an `error` event instead of `complete` |

The assistant's message is stored when the turn starts and updated as it goes (its text, its tool
calls); its `finishReason` (in the export) is set when the turn ends: `end_turn`, `canceled` or
`error`. A question nobody answered is gone once its turn ends (a late answer is a 404).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Union, cast

if TYPE_CHECKING:
    from .mix import FakeMix

__all__ = [
    "AskNotification",
    "AskPermission",
    "AwaitReconnect",
    "DropStream",
    "FailTurn",
    "Pause",
    "RunTool",
    "Say",
    "Step",
    "TurnPlayer",
]


@dataclass(frozen=True)
class AskPermission:
    """A tool call that asks for permission first."""

    tool_name: str = "Bash"
    action: str = "execute"
    description: str = "Run a shell command"
    path: str | None = None
    params: dict[str, Any] | None = None
    input: str = '{"command":"ls"}'


@dataclass(frozen=True)
class AskNotification:
    """A notification to the user (0.11.4): `response_type` acknowledge, text or choice."""

    title: str = "A question"
    message: str = "Shall I go on?"
    response_type: Literal["acknowledge", "text", "choice"] = "acknowledge"
    choices: tuple[str, ...] | None = None
    notification_type: Literal["info", "warning", "error", "question"] = "question"
    timeout: int = 300


@dataclass(frozen=True)
class RunTool:
    """A tool call that needs no permission: it runs and succeeds."""

    name: str = "Grep"
    input: str = '{"pattern":"TODO"}'
    result: str = "3 matches"


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class DropStream:
    """Cut the session's streams; reconnections wait until `AwaitReconnect` or the turn's end."""


@dataclass(frozen=True)
class AwaitReconnect:
    """Let streams in again, and wait until one of the session is open."""


@dataclass(frozen=True)
class FailTurn:
    error: str = "The model provider failed"


Step = Union[AskPermission, AskNotification, RunTool, Say, Pause, DropStream, AwaitReconnect, FailTurn]


@dataclass
class _Asked:
    """A question waiting for its answer."""

    kind: Literal["permission", "notification"]
    session_id: str
    answer: asyncio.Future[dict[str, Any]]


@dataclass
class _Turn:
    session_id: str
    assistant_id: str
    said: list[str] = field(default_factory=list[str])
    tools: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    failed: str | None = None


class TurnPlayer:
    """Plays the turns of one `FakeMix` and keeps the questions they ask until they are answered."""

    def __init__(self, fake: FakeMix) -> None:
        self.fake = fake
        self.scripts: dict[str, list[Step]] = {}
        self.asked: dict[str, _Asked] = {}
        self.gates: dict[str, asyncio.Event] = {}
        self.answers: list[dict[str, Any]] = []

    def script(self, session_id: str, steps: tuple[Step, ...]) -> None:
        if not self.fake.v011 and any(isinstance(s, AskNotification) for s in steps):
            raise ValueError("notifications are 0.11.2+: use FakeMix(version='0.11.4')")
        self.scripts[session_id] = list(steps)

    async def held(self, session_id: str) -> None:
        """Wait while the session's streams are held back (between `DropStream` and `AwaitReconnect`)."""
        gate = self.gates.get(session_id)
        if gate is not None:
            await gate.wait()

    def answer(self, question_id: str, kind: str, answer: dict[str, Any]) -> bool:
        """Give a waiting question its answer; False when there is none such waiting."""
        asked = self.asked.get(question_id)
        if asked is None or asked.kind != kind or asked.answer.done():
            return False
        del self.asked[question_id]
        asked.answer.set_result(answer)
        self.answers.append({"kind": kind, "id": question_id, "session_id": asked.session_id, **answer})
        return True

    # -- one turn ----------------------------------------------------------------------------------

    async def play(self, session_id: str, text: str) -> None:
        fake = self.fake
        steps = self.scripts.pop(session_id, None)
        scripted = steps is not None
        if steps is None:
            steps = [Say(f"You said: {text}")]
        user_id = fake.add_message(session_id, "user", text)
        turn = _Turn(session_id, fake.add_message(session_id, "assistant", ""))
        self._emit(turn, "user_message_created", messageId=user_id, content=text)
        self._emit(turn, "thinking", content="Reading the message.", assistantMessageId=turn.assistant_id)
        try:
            if not scripted:
                await self._run_tool(turn, "Bash", '{"command":"echo hi"}', deltas=True)
            for step in steps:
                await self._step(turn, step)
                if turn.failed is not None:
                    break
        except asyncio.CancelledError:
            self._store(turn, "canceled")
            self._emit(turn, "complete", done=True, content="")
            raise
        finally:
            fake.forget_turn(session_id)
            self._release(session_id)
        if turn.failed is not None:
            self._store(turn, "error")
            fake.emit(session_id, "error", {"type": "error", "error": turn.failed})
            return
        reply = " ".join(turn.said)
        self._store(turn, "end_turn")
        self._emit(turn, "complete", done=True, content=reply, messageId=turn.assistant_id)

    def _emit(self, turn: _Turn, event: str, **data: Any) -> None:
        self.fake.emit(turn.session_id, event, {"type": event, **data})

    async def _pause(self) -> None:
        await asyncio.sleep(self.fake.turn_pause)

    async def _step(self, turn: _Turn, step: Step) -> None:
        if isinstance(step, Say):
            turn.said.append(step.text)
            self._store(turn)
            for word in re.findall(r"\S+\s*", step.text):
                self._emit(turn, "content", content=word, assistantMessageId=turn.assistant_id)
                await self._pause()
        elif isinstance(step, AskPermission):
            await self._permission(turn, step)
        elif isinstance(step, RunTool):
            call = await self._run_tool(turn, step.name, step.input)
            await self._ran(turn, call, True, step.result)
        elif isinstance(step, AskNotification):
            await self._notification(turn, step)
        elif isinstance(step, Pause):
            await asyncio.sleep(step.seconds)
        elif isinstance(step, DropStream):
            self.gates.setdefault(turn.session_id, asyncio.Event())
            self.fake.drop_streams(turn.session_id)
            await self.fake.wait_for_streams(turn.session_id, 0)
        elif isinstance(step, AwaitReconnect):
            self._release(turn.session_id)
            await self.fake.wait_for_open_stream(turn.session_id)
        else:
            turn.failed = step.error

    def _release(self, session_id: str) -> None:
        gate = self.gates.pop(session_id, None)
        if gate is not None:
            gate.set()

    async def _run_tool(self, turn: _Turn, name: str, tool_input: str, *, deltas: bool = False) -> dict[str, Any]:
        """Start a tool call (it runs in `_ran`); the stored call, unfinished."""
        tool_id = f"tool-{uuid.uuid4().hex[:8]}"
        call: dict[str, Any] = {"id": tool_id, "name": name, "input": tool_input, "type": "tool_use", "finished": False}
        turn.tools.append(call)
        self._store(turn)
        self._emit(turn, "tool_use_start", id=tool_id, name=name, assistantMessageId=turn.assistant_id)
        if deltas:
            half = len(tool_input) // 2
            for piece in (tool_input[:half], tool_input[half:]):
                self._emit(turn, "tool_use_parameter_delta", toolCallId=tool_id, input=piece)
        self._emit(turn, "tool_use_parameter_streaming_complete", id=tool_id, name=name, input=tool_input)
        await self._pause()
        if deltas:
            await self._ran(turn, call, True, "hi")
        return call

    async def _ran(self, turn: _Turn, call: dict[str, Any], success: bool, result: str) -> None:
        name, tool_id = call["name"], call["id"]
        if success:
            self._emit(turn, "tool_execution_start", toolName=name, progress="running", toolCallId=tool_id)
        call.update(finished=True, result=result, isError=not success)
        self._store(turn)
        self.fake.count_tool_call(turn.session_id)
        progress = "done" if success else "denied"
        self._emit(
            turn, "tool_execution_complete", toolName=name, progress=progress, success=success, toolCallId=tool_id
        )
        await self._pause()

    async def _permission(self, turn: _Turn, step: AskPermission) -> None:
        call = await self._run_tool(turn, step.tool_name, step.input)
        question_id = f"perm-{uuid.uuid4().hex[:12]}"
        data: dict[str, Any] = {
            "id": question_id,
            "sessionId": turn.session_id,
            "toolName": step.tool_name,
            "description": step.description,
            "action": step.action,
        }
        if step.path is not None:
            data["path"] = step.path
        if step.params is not None:
            data["params"] = step.params
        answer = await self._ask(turn, "permission", question_id, data, None)
        granted = answer is not None and answer.get("answer") == "grant"
        await self._ran(turn, call, granted, "ok" if granted else "Permission denied by the user")

    async def _notification(self, turn: _Turn, step: AskNotification) -> None:
        question_id = f"notif-{uuid.uuid4().hex[:12]}"
        data: dict[str, Any] = {
            "id": question_id,
            "sessionId": turn.session_id,
            "notificationType": step.notification_type,
            "title": step.title,
            "message": step.message,
            "responseType": step.response_type,
            "timeout": step.timeout,
            "createdAt": int(time.time()),
        }
        if step.choices is not None:
            data["choices"] = list(step.choices)
        answer = await self._ask(turn, "notification", question_id, data, step.timeout)
        if answer is not None and answer.get("value"):
            turn.said.append(f"(You answered: {answer['value']})")

    async def _ask(
        self, turn: _Turn, kind: Literal["permission", "notification"], question_id: str, data: dict[str, Any],
        timeout: float | None,
    ) -> dict[str, Any] | None:  # fmt: skip
        """Emit the question and wait for its answer (None: it timed out)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.asked[question_id] = _Asked(kind, turn.session_id, future)
        self._emit(turn, kind, **data)
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self.asked.pop(question_id, None)

    def _store(self, turn: _Turn, finish: str | None = None) -> None:
        """The assistant's message as the turn stands (its text, tool calls and, at the end, why it ended)."""
        changes: dict[str, Any] = {"content": " ".join(turn.said), "toolCalls": [dict(c) for c in turn.tools]}
        if finish is not None:
            changes["finishReason"] = finish
        self.fake.update_message(turn.session_id, turn.assistant_id, changes)


def answer_body(body: Any) -> dict[str, Any] | str:
    """A notification answer as the fake records it, or why it is refused (a 400 message)."""
    fields = cast("dict[str, Any] | None", body if isinstance(body, dict) else None)
    if fields is None:
        return "json: cannot unmarshal into Go value of type http.NotificationResponse"
    unknown = sorted(set(fields) - {"type", "value"})
    if unknown:
        return f"json: unknown field {json.dumps(unknown[0])}"
    kind = fields.get("type")
    if kind not in ("acknowledge", "text", "choice"):
        return "type must be 'acknowledge', 'text' or 'choice'"
    value = fields.get("value")
    if value is not None and not isinstance(value, str):
        return "json: cannot unmarshal into Go struct field NotificationResponse.value of type string"
    answer: dict[str, Any] = {"answer": kind}
    if value is not None:
        answer["value"] = value
    return answer
