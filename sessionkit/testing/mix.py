"""`FakeMix`: an in-process imitation of the Mix server's REST API and event stream.

`FakeMix(version="0.10.1")` (the default) or `FakeMix(version="0.11.4")`. Both serve bare bodies
(success bodies end with a newline, as Go's encoder writes them), `null` for an empty list, errors as
`{"error": {"code", "message", "type"}}`, unknown request fields refused (400 `validation_error`,
Go's `DisallowUnknownFields`), no auth and CORS headers on every response; and sessions (list,
create 201, get, delete 204), cancel, messages (list; send answers 202 and plays a scripted turn on
the event stream), rewind, export, callbacks, files (list, upload 201 streamed to disk, download
streamed from disk, delete 204) and `GET /stream`.

The agent asks questions when a test says so: `fake.script_turn(session_id, *steps)` plays the
session's next turn from steps such as `AskPermission()`, `AskNotification()`, `Say(text)`,
`DropStream()` (see `sessionkit.testing._mix_agent`). Permissions are answered with `POST
/api/permissions/{id}/grant|deny` (200 `{granted}` / `{denied}`; an unknown or answered one is a
404), notifications (0.11.4) with `POST /api/notifications/{id}/respond` (204; 404 once answered),
and every accepted answer is in `fake.answers`. `GET /api/messages/history` lists the user
messages of every session, newest first.

The versions differ as the servers do: 0.10.1 has fork (201, optional body `{messageIndex (0-based),
title}`) and refuses `browserMode`, `modelId`, `max_steps`... as unknown fields; 0.11.4 has no fork,
requires `browserMode` on create (400 otherwise), takes `cdpUrl`, `modelId`, `provider` and
`max_steps`, and its sessions carry `browserMode`.

Quirks kept: an unknown fork source or delete target is a 500 `internal_error`, not a 404; `get`
omits `firstUserMessage`, which `list` includes; an upload over `max_upload_bytes` (32 MB, as the
server) is a 413.

The event stream behaves as the contract describes the server: `connected` first, then the events
of the stream's session (`session_created`/`session_deleted` of every session), a `heartbeat` every
`heartbeat` seconds, one `id:` counter per connection starting at 1 (so ids restart on every
reconnect), a `retry:` field on each frame, and `Last-Event-ID` ignored (nothing is replayed: what
is emitted while no stream is open is lost). A missing `sessionId` is a 400 with an empty body; an
unknown session is a 200 stream of one `error` event, then the end.

    from sessionkit.testing import FakeMix

    async with FakeMix(version="0.11.4") as fake:
        [s] = fake.seed_sessions(1)
        fake.add_message(s["id"], "user", "hello")
        await fake.wait_for_streams(s["id"])             # once a client has opened its stream
        fake.emit(s["id"], "rate_limit_error", {"error": "slow down", "retryAfter": 60})
        fake.drop_streams(s["id"])                       # cut every open stream of it mid-stream
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
import time
import uuid
import weakref
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from ._mix_agent import (
    AskNotification,
    AskPermission,
    AwaitReconnect,
    DropStream,
    FailTurn,
    Pause,
    RunTool,
    Say,
    Step,
    TurnPlayer,
    answer_body,
)
from ._server import (
    MISSING,
    FakeServer,
    SessionStore,
    UploadRefused,
    as_object,
    json_response,
    read_json,
    receive_upload,
)

__all__ = [
    "AskNotification",
    "AskPermission",
    "AwaitReconnect",
    "DropStream",
    "FailTurn",
    "FakeMix",
    "Pause",
    "RunTool",
    "Say",
]

MixVersion = Literal["0.10.1", "0.11.4"]

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, X-Requested-With, Last-Event-ID",
    "Access-Control-Max-Age": "86400",
}
_TYPES = {400: "validation_error", 401: "unauthorized", 404: "not_found", 413: "bad_request"}
_CREATE_FIELDS: dict[str, type] = {
    "title": str,
    "customSystemPrompt": str,
    "promptMode": str,
    "sessionType": str,
    "subagentType": str,
    "callbacks": list,
}
_CREATE_FIELDS_011 = {**_CREATE_FIELDS, "browserMode": str, "cdpUrl": str, "modelId": str, "provider": str}
_FORK_FIELDS: dict[str, type] = {"messageIndex": int, "title": str}
_SEND_FIELDS: dict[str, type] = {"text": str, "plan_mode": bool, "thinking_level": str}
_SEND_FIELDS_011 = {**_SEND_FIELDS, "max_steps": int}
_REWIND_FIELDS: dict[str, type] = {"messageId": str, "cleanupMedia": bool}
_CALLBACK_FIELDS: dict[str, type] = {"callbacks": list}
_GO_TYPES = {str: "string", int: "int64", bool: "bool", list: "[]http.Callback"}
_PROMPT_LIMITS = {"append": 51_200, "replace": 102_400}
_BROWSER_MODES = ("electron-embedded-browser", "local-browser-service", "remote-cdp-websocket")
_THINKING = ("off", "basic", "medium", "maximum")
_THUMB = re.compile(r"\d+|w\d+|h\d+")
_INTERNAL = ("parentToolCallId", "_messages")
_DROP = object()  # queued to a stream: cut the connection there
_END = object()  # queued to a stream: end it cleanly there


class _MixError(Exception):
    def __init__(self, status: int, message: str, type_: str) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type_


def _validation(field: str, message: str) -> _MixError:
    return _MixError(400, f"Validation error for field '{field}': {message}", "validation_error")


def _not_found(message: str) -> _MixError:
    return _MixError(404, message, "not_found")


def _go_json_type(value: Any) -> str:
    for kind, name in ((dict, "object"), (list, "array"), (str, "string"), (bool, "bool")):
        if isinstance(value, kind):
            return name
    return "number"


def _has_type(value: Any, expected: type) -> bool:
    if expected is bool:
        return isinstance(value, bool)
    return isinstance(value, expected) and not isinstance(value, bool)


class _Stream:
    """One open `GET /stream` connection: its session, its per-connection event counter and queue."""

    def __init__(self, session_id: str, request: web.Request) -> None:
        self.session_id = session_id
        self.request = request
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.next_id = 1


class FakeMix(FakeServer):
    """The Mix server (no auth). `tz` is the server's local zone for `createdAt`; `heartbeat` the
    seconds between heartbeats; `turn_pause` the seconds between the events of a scripted turn."""

    def __init__(
        self,
        *,
        version: MixVersion = "0.10.1",
        tz: tzinfo = timezone.utc,
        heartbeat: float = 45.0,
        turn_pause: float = 0.0,
        max_upload_bytes: int | None = 32 * 1024 * 1024,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if version not in ("0.10.1", "0.11.4"):
            raise ValueError(f"version must be '0.10.1' or '0.11.4', got {version!r}")
        self.version: MixVersion = version
        self.tz = tz
        self.heartbeat = heartbeat
        self.turn_pause = turn_pause
        self.max_upload_bytes = max_upload_bytes
        self._streams: set[_Stream] = set()
        self._stream_change = asyncio.Event()
        self._turns: dict[str, asyncio.Task[None]] = {}
        self._storage: Path | None = None
        super().__init__(host=host, port=port)

    async def stop(self) -> None:
        """Stop serving; a turn still running stops too (its questions are gone)."""
        turns = list(self._turns.values())
        for task in turns:
            task.cancel()
        await asyncio.gather(*turns, return_exceptions=True)
        await super().stop()

    @property
    def answers(self) -> list[dict[str, Any]]:
        """Every answer the agent took, in order: `{"kind": "permission"|"notification", "id",
        "session_id", "answer": "grant"|"deny"|"acknowledge"|"text"|"choice", "value"?}`."""
        return self._agent.answers

    def script_turn(self, session_id: str, *steps: Step) -> None:
        """Play `steps` as the next turn of `session_id` (see `sessionkit.testing._mix_agent`)."""
        if session_id not in self.sessions:
            raise KeyError(session_id)
        self._agent.script(session_id, steps)

    def pending_questions(self, session_id: str | None = None) -> list[str]:
        """The ids of the questions waiting for an answer (of `session_id`, or of every session)."""
        return [q for q, a in self._agent.asked.items() if session_id is None or a.session_id == session_id]

    @property
    def v011(self) -> bool:
        return self.version == "0.11.4"

    # -- state ---------------------------------------------------------------------------------------

    def _clear_state(self) -> None:
        self.sessions = SessionStore("id")
        """SessionData documents, plus the internal `_messages` list."""
        for task in getattr(self, "_turns", {}).values():
            task.cancel()
        self._turns = {}
        self._agent = TurnPlayer(self)
        if getattr(self, "_storage", None) is not None:
            self._cleanup_storage()
        # Files live on disk, as on the server: an upload or download never sits in memory.
        root = Path(tempfile.mkdtemp(prefix="fakemix-"))
        self._storage = root
        self._cleanup_storage = weakref.finalize(self, shutil.rmtree, root, ignore_errors=True)

    @property
    def storage(self) -> Path:
        """The folder holding each session's files (`<storage>/<session id>/<file>`)."""
        assert self._storage is not None
        return self._storage

    def _files_of(self, session_id: str) -> Path:
        return self.storage / session_id.replace("/", "_")

    def _now(self, moment: datetime | None = None) -> str:
        stamp = (moment or datetime.now(timezone.utc)).astimezone(self.tz).replace(microsecond=0)
        return stamp.isoformat().replace("+00:00", "Z")  # Go's RFC 3339 writes UTC as Z

    def _new(
        self, title: str, session_type: str = "main", *, created: datetime | None = None, **extra: Any
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "title": title,
            "sessionType": session_type,
            "userMessageCount": 0,
            "assistantMessageCount": 0,
            "toolCallCount": 0,
            "promptTokens": 0,
            "completionTokens": 0,
            "cost": 0.0,
            "createdAt": self._now(created),
            "_messages": [],
        }
        if self.v011:
            doc["browserMode"] = "local-browser-service"
        doc.update(extra)
        return doc

    def seed_sessions(self, count: int, *, session_type: str = "main", **fields: Any) -> list[dict[str, Any]]:
        """Store `count` sessions titled `Seed <n>`; `fields` override SessionData fields."""
        start = len(self.sessions)
        docs = [self._new(f"Seed {start + i}", session_type, **fields) for i in range(count)]
        for doc in docs:
            self.sessions.put(doc)
        return [self._public(d) for d in docs]

    def populate(self, count: int) -> None:
        """Make `count` sessions exist without storing them (ids `00000000-0000-4000-8000-<12 digits>`)."""
        end = datetime.now(timezone.utc)

        def build(index: int, sid: str) -> dict[str, Any]:
            return self._new(f"Populated {index}", created=end - timedelta(seconds=count - index), id=sid)

        self.sessions.populate(count, build, prefix="00000000-0000-4000-8000-")

    def add_message(self, session_id: str, role: str, content: str) -> str:
        """Append a message (`role` "user", "assistant" or "tool"), update the counters; its id."""
        doc = self.sessions.get(session_id)
        if doc is None:
            raise KeyError(session_id)
        message: dict[str, Any] = {"id": f"msg-{uuid.uuid4().hex[:12]}", "role": role, "content": content}
        message["at"] = time.time()
        doc = {**doc, "_messages": [*doc["_messages"], message]}
        self.sessions.put(self._recount(doc))
        return message["id"]

    def update_message(self, session_id: str, message_id: str, changes: dict[str, Any]) -> None:
        """Change a stored message (its `content`, `toolCalls`, `finishReason`); nothing if it is gone."""
        doc = self.sessions.get(session_id)
        if doc is None:
            return
        messages = [{**m, **changes} if m["id"] == message_id else m for m in doc["_messages"]]
        self.sessions.put({**doc, "_messages": messages})

    def count_tool_call(self, session_id: str) -> None:
        doc = self.sessions.get(session_id)
        if doc is not None:
            self.sessions.put({**doc, "toolCallCount": doc["toolCallCount"] + 1})

    def forget_turn(self, session_id: str) -> None:
        """The session's turn is over (it may take the next message)."""
        self._turns.pop(session_id, None)

    def messages(self, session_id: str) -> list[dict[str, Any]]:
        """The session's messages as the API lists them (`BackendMessage`)."""
        doc = self.sessions.get(session_id)
        if doc is None:
            raise KeyError(session_id)
        return [self._backend_message(session_id, m) for m in doc["_messages"]]

    @staticmethod
    def _recount(doc: dict[str, Any]) -> dict[str, Any]:
        messages: list[dict[str, Any]] = doc["_messages"]
        doc["userMessageCount"] = sum(m["role"] == "user" for m in messages)
        doc["assistantMessageCount"] = sum(m["role"] == "assistant" for m in messages)
        first = next((m["content"] for m in messages if m["role"] == "user"), None)
        if first is not None:
            doc["firstUserMessage"] = first
        else:
            doc.pop("firstUserMessage", None)
        return doc

    @staticmethod
    def _public(doc: dict[str, Any], *, with_first: bool = True) -> dict[str, Any]:
        hidden = _INTERNAL if with_first else (*_INTERNAL, "firstUserMessage")
        return {k: v for k, v in doc.items() if k not in hidden}

    @staticmethod
    def _backend_message(session_id: str, message: dict[str, Any]) -> dict[str, Any]:
        role, content = message["role"], message["content"]
        out: dict[str, Any] = {"id": message["id"], "sessionId": session_id, "role": role, "userInput": ""}
        if role == "user":
            out["userInput"] = content
        else:
            out["assistantResponse"] = content
        if message.get("toolCalls"):
            out["toolCalls"] = message["toolCalls"]
        return out

    # -- the event stream ----------------------------------------------------------------------------

    def emit(self, session_id: str | None, event: str, data: Any) -> int:
        """Send an event to every open stream of `session_id` (None: every open stream); how many got it.

        Any `event` name goes, documented or not (the server also sends `rate_limit_error`).
        """
        targets = [s for s in self._streams if session_id is None or s.session_id == session_id]
        for stream in targets:
            stream.queue.put_nowait((event, data))
        return len(targets)

    def drop_streams(self, session_id: str | None = None) -> int:
        """Cut every open stream of `session_id` (None: all) after what is queued: the client sees
        the connection end mid-stream, not a clean end. How many were cut."""
        targets = [s for s in self._streams if session_id is None or s.session_id == session_id]
        for stream in targets:
            stream.queue.put_nowait(_DROP)
        return len(targets)

    def end_streams(self, session_id: str | None = None) -> int:
        """End every open stream of `session_id` (None: all) cleanly after what is queued, as a server
        that closes the response would. How many were ended."""
        targets = [s for s in self._streams if session_id is None or s.session_id == session_id]
        for stream in targets:
            stream.queue.put_nowait(_END)
        return len(targets)

    def open_streams(self, session_id: str | None = None) -> int:
        """How many streams (of `session_id`, or all) are open now."""
        return sum(session_id is None or s.session_id == session_id for s in self._streams)

    async def wait_for_open_stream(self, session_id: str | None = None) -> None:
        """Return once at least one stream of `session_id` (None: any) is open."""
        while self.open_streams(session_id) == 0:
            self._stream_change.clear()
            await self._stream_change.wait()

    async def wait_for_streams(self, session_id: str | None = None, count: int = 1) -> None:
        """Return once exactly `count` streams of `session_id` (None: any) are open (0: all closed)."""
        while self.open_streams(session_id) != count:
            self._stream_change.clear()
            await self._stream_change.wait()

    def _stream_opened_or_closed(self) -> None:
        self._stream_change.set()

    @staticmethod
    def _frame(event_id: int, event: str, data: Any) -> bytes:
        retry = 45000 if event == "heartbeat" else 30000
        after = (as_object(data) or {}).get("retryAfter")
        if event == "error" and isinstance(after, int):
            retry = after  # the server's exponential backoff, or what the error asked for
        payload = json.dumps(data, separators=(",", ":"))
        return f"id: {event_id}\nevent: {event}\ndata: {payload}\nretry: {retry}\n\n".encode()

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        session_id = request.query.get("sessionId", "")
        if not session_id:
            return web.Response(status=400)
        await self._agent.held(session_id)  # a scripted `DropStream` holds reconnections back
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "Connection": "keep-alive"}
        )
        self._finish(request, response)
        await response.prepare(request)
        stream = _Stream(session_id, request)
        if session_id not in self.sessions:
            await response.write(self._frame(1, "error", {"error": f"Invalid session ID: {session_id}"}))
            await response.write_eof()
            return response
        self._streams.add(stream)
        self._stream_opened_or_closed()
        try:
            stream.queue.put_nowait(("connected", {"sessionId": session_id}))
            while True:
                try:
                    item = await asyncio.wait_for(stream.queue.get(), self.heartbeat)
                except asyncio.TimeoutError:
                    item = ("heartbeat", {"type": "ping"})
                if item is _DROP:
                    if request.transport is not None:
                        request.transport.abort()
                    return response
                if item is _END:
                    await response.write_eof()
                    return response
                event, data = item
                try:
                    await response.write(self._frame(stream.next_id, event, data))
                except ConnectionResetError:  # the client left while an event was on its way
                    return response
                stream.next_id += 1
        finally:
            self._streams.discard(stream)
            self._stream_opened_or_closed()

    # -- HTTP ----------------------------------------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        routes: dict[str, dict[str, Any]] = {
            "/api/sessions": {"GET": self._list, "POST": self._create},
            "/api/sessions/{id}": {"GET": self._get, "DELETE": self._delete},
            "/api/sessions/{id}/cancel": {"POST": self._cancel},
            "/api/sessions/{id}/messages": {"GET": self._messages, "POST": self._send},
            "/api/sessions/{id}/rewind": {"POST": self._rewind},
            "/api/sessions/{id}/export": {"GET": self._export},
            "/api/sessions/{id}/callbacks": {"PATCH": self._callbacks},
            "/api/sessions/{id}/files": {"GET": self._files},
            "/api/sessions/{id}/files/upload": {"POST": self._upload},
            "/api/sessions/{id}/files/{filename}": {"GET": self._download, "DELETE": self._delete_file},
            "/stream": {"GET": self._stream},
            "/api/permissions/{id}/grant": {"POST": self._grant},
            "/api/permissions/{id}/deny": {"POST": self._deny},
            "/api/messages/history": {"GET": self._history},
        }
        if self.v011:
            routes["/api/notifications/{id}/respond"] = {"POST": self._respond}
        if not self.v011:
            routes["/api/sessions/{id}/fork"] = {"POST": self._fork}
        for path, handlers in routes.items():
            resource = router.add_resource(path)
            for method, handler in {**handlers, "OPTIONS": self._options}.items():
                resource.add_route(method, handler)

    def _streams_body(self, request: web.Request) -> bool:
        return request.method == "POST" and request.path.endswith("/files/upload")

    def _error_body(self, status: int, message: str) -> Any:
        return {"error": {"code": status, "message": message, "type": _TYPES.get(status, "internal_error")}}

    def _error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
        return json_response(self._error_body(status, message), status, headers=headers, newline=True)

    def _finish(self, request: web.Request, response: web.StreamResponse) -> None:
        if not response.prepared:
            response.headers.update(_CORS)

    @staticmethod
    def _fail(exc: _MixError) -> web.Response:
        body = {"error": {"code": exc.status, "message": exc.message, "type": exc.type}}
        return json_response(body, exc.status, newline=True)

    @staticmethod
    async def _decode(request: web.Request, fields: Mapping[str, type], go_type: str) -> dict[str, Any] | None:
        """Go's strict `json.Decoder`: unknown fields and wrong types are 400s. None for an empty body."""
        try:
            body = await read_json(request)
        except ValueError as exc:
            raise _validation("body", f"invalid character in JSON input: {exc}") from None
        if body is MISSING:
            return None
        if body is None:
            return {}  # decoding `null` into a Go struct leaves it untouched
        obj = as_object(body)
        if obj is None:
            raise _validation("body", f"json: cannot unmarshal {_go_json_type(body)} into Go value of type {go_type}")
        for key, value in obj.items():
            if key not in fields:
                raise _validation("body", f'json: unknown field "{key}"')
            expected = fields[key]
            if value is not None and not _has_type(value, expected):
                raise _validation(
                    "body",
                    f"json: cannot unmarshal {_go_json_type(value)} into Go struct field "
                    f"{go_type.split('.')[-1]}.{key} of type {_GO_TYPES[expected]}",
                )
        return obj

    def _session(self, request: web.Request) -> tuple[str, dict[str, Any]]:
        session_id = request.match_info["id"]
        doc = self.sessions.get(session_id)
        if doc is None:
            raise _not_found(f"Session with ID '{session_id}' not found")
        return session_id, doc

    async def _options(self, request: web.Request) -> web.StreamResponse:
        return web.Response()

    async def _list(self, request: web.Request) -> web.StreamResponse:
        with_subagents = request.query.get("includeSubagents", "false").lower() in ("true", "1")
        rows = [self._public(d) for d in self.sessions if with_subagents or d["sessionType"] != "subagent"]
        return json_response(rows or None, newline=True)  # Go encodes an empty nil slice as null

    async def _get(self, request: web.Request) -> web.StreamResponse:
        try:
            _, doc = self._session(request)
        except _MixError as exc:
            return self._fail(exc)
        return json_response(self._public(doc, with_first=False), newline=True)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        try:
            fields = _CREATE_FIELDS_011 if self.v011 else _CREATE_FIELDS
            body = await self._decode(request, fields, "http.CreateSessionRequest")
            if body is None:
                raise _validation("body", "EOF")
            if not body.get("title"):
                raise _validation("title", "title is required")
            mode = body.get("promptMode") or "default"
            if mode not in ("default", "append", "replace"):
                raise _validation("promptMode", "promptMode must be 'default', 'append', or 'replace'")
            if (body.get("sessionType") or "main") != "main":
                raise _validation(
                    "sessionType",
                    "API can only create main sessions. Use /fork endpoint for forked sessions. "
                    "Subagent sessions are created automatically.",
                )
            prompt = len(str(body.get("customSystemPrompt") or "").encode())
            if mode in _PROMPT_LIMITS and prompt > _PROMPT_LIMITS[mode]:
                raise _validation(
                    "customSystemPrompt",
                    f"Custom prompt size ({prompt // 1024}KB) exceeds {mode} mode limit of {_PROMPT_LIMITS[mode] // 1024}KB",
                )
            extra = self._browser_fields(body) if self.v011 else {}
        except _MixError as exc:
            return self._fail(exc)
        if body.get("callbacks"):
            extra["callbacks"] = body["callbacks"]
        doc = self._new(body["title"], **extra)
        self.sessions.put(doc)
        self.emit(None, "session_created", self._created_event(doc))
        return json_response(self._public(doc, with_first=False), 201, newline=True)

    @staticmethod
    def _browser_fields(body: dict[str, Any]) -> dict[str, Any]:
        """0.11.4's browser and model fields, checked as the spec describes them (the real messages
        are UNCONFIRMED)."""
        mode = body.get("browserMode")
        if not mode:
            raise _validation("browserMode", "browserMode is required")
        if mode not in _BROWSER_MODES:
            raise _validation("browserMode", f"browserMode must be one of {', '.join(_BROWSER_MODES)}")
        cdp = body.get("cdpUrl")
        if mode == "remote-cdp-websocket" and not cdp:
            raise _validation("cdpUrl", "cdpUrl is required when browserMode is 'remote-cdp-websocket'")
        if cdp and not str(cdp).startswith(("ws://", "wss://")):
            raise _validation("cdpUrl", "cdpUrl must start with 'ws://' or 'wss://'")
        if body.get("modelId") and not body.get("provider"):
            raise _validation("provider", "provider is required when modelId is set")
        extra = {"browserMode": mode}
        extra.update({k: body[k] for k in ("cdpUrl", "modelId", "provider") if body.get(k)})
        return extra

    def _created_event(self, doc: dict[str, Any]) -> dict[str, Any]:
        created = datetime.fromisoformat(doc["createdAt"].replace("Z", "+00:00"))
        return {
            "type": "session_created",
            "sessionId": doc["id"],
            "title": doc["title"],
            "createdAt": int(created.timestamp()),
        }

    async def _fork(self, request: web.Request) -> web.StreamResponse:
        source_id = request.match_info["id"]
        try:
            body = await self._decode(request, _FORK_FIELDS, "http.ForkSessionRequest") or {}
            index = body.get("messageIndex")
            if index is not None and index < 0:
                raise _validation("messageIndex", "message index must be >= 0")
            source = self.sessions.get(source_id)
            if source is None:
                raise _MixError(500, "Internal error during forking session: session not found", "internal_error")
        except _MixError as exc:
            return self._fail(exc)
        messages = source["_messages"] if index is None else source["_messages"][: index + 1]
        doc = self._new(body.get("title") or "Forked Session", "forked", parentSessionId=source_id)
        doc["_messages"] = list(messages)
        self.sessions.put(self._recount(doc))
        return json_response(self._public(doc, with_first=False), 201, newline=True)

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        session_id = request.match_info["id"]
        if not self.sessions.delete(session_id):
            return self._fail(
                _MixError(500, "Internal error during deleting session: session not found", "internal_error")
            )
        shutil.rmtree(self._files_of(session_id), ignore_errors=True)
        self.emit(None, "session_deleted", {"type": "session_deleted", "sessionId": session_id})
        return web.Response(status=204)

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        try:
            session_id, _ = self._session(request)
        except _MixError as exc:
            return self._fail(exc)
        turn = self._turns.get(session_id)
        if turn is not None:
            turn.cancel()
        return json_response({"cancelled": turn is not None}, newline=True)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        try:
            session_id, _ = self._session(request)
        except _MixError as exc:
            return self._fail(exc)
        return json_response(self.messages(session_id) or None, newline=True)

    async def _send(self, request: web.Request) -> web.StreamResponse:
        try:
            session_id, _ = self._session(request)
            fields = _SEND_FIELDS_011 if self.v011 else _SEND_FIELDS
            body = await self._decode(request, fields, "http.MessageRequest") or {}
            text = body.get("text")
            if not text:
                raise _validation("text", "text is required")
            level = body.get("thinking_level")
            if level is not None and level not in _THINKING:
                raise _validation("thinking_level", "thinking_level must be 'off', 'basic', 'medium' or 'maximum'")
            steps = body.get("max_steps")
            if steps is not None and steps < 1:
                raise _validation("max_steps", "max_steps must be >= 1")
            if session_id in self._turns:
                raise _MixError(400, "Session is already processing a message", "bad_request")
        except _MixError as exc:
            return self._fail(exc)
        # The answer goes first; the turn plays on the event stream after it, as the server's does.
        self._turns[session_id] = asyncio.get_running_loop().create_task(self._agent.play(session_id, text))
        return json_response({"status": "processing", "sessionId": session_id}, 202, newline=True)

    async def _rewind(self, request: web.Request) -> web.StreamResponse:
        try:
            session_id, doc = self._session(request)
            body = await self._decode(request, _REWIND_FIELDS, "http.RewindRequest") or {}
            message_id = body.get("messageId")
            if not message_id:
                raise _validation("messageId", "messageId is required")
            messages: list[dict[str, Any]] = doc["_messages"]
            keep = next((i for i, m in enumerate(messages) if m["id"] == message_id), None)
            if keep is None:
                raise _not_found("Session or message not found")
        except _MixError as exc:
            return self._fail(exc)
        since = messages[keep]["at"]
        if body.get("cleanupMedia", True):
            folder = self._files_of(session_id)
            for path in folder.iterdir() if folder.is_dir() else ():
                if path.is_file() and path.stat().st_mtime > since:
                    path.unlink()
        doc = self._recount({**doc, "_messages": messages[: keep + 1]})
        self.sessions.put(doc)
        return json_response(self._public(doc, with_first=False), newline=True)

    async def _export(self, request: web.Request) -> web.StreamResponse:
        try:
            session_id, doc = self._session(request)
        except _MixError as exc:
            return self._fail(exc)
        messages: list[dict[str, Any]] = []
        for m in doc["_messages"]:
            stamp = self._now(datetime.fromtimestamp(m["at"], timezone.utc))
            exported = {
                "id": m["id"],
                "role": m["role"],
                "content": m["content"],
                "createdAt": stamp,
                "updatedAt": stamp,
            }
            if m.get("toolCalls"):
                exported["toolCalls"] = m["toolCalls"]
            if m.get("finishReason"):
                exported["finishReason"] = m["finishReason"]
            messages.append(exported)
        counters = ("userMessageCount", "assistantMessageCount", "toolCallCount", "promptTokens", "completionTokens")
        body = {
            "id": session_id,
            "title": doc["title"],
            "messages": messages,
            **{k: doc[k] for k in (*counters, "cost", "createdAt")},
            "updatedAt": messages[-1]["updatedAt"] if messages else doc["createdAt"],
        }
        disposition = {"Content-Disposition": f"attachment; filename=session_{session_id}_transcript.json"}
        return json_response(body, headers=disposition, newline=True)

    async def _callbacks(self, request: web.Request) -> web.StreamResponse:
        try:
            _, doc = self._session(request)
            body = await self._decode(request, _CALLBACK_FIELDS, "http.UpdateCallbacksRequest")
            if body is None or body.get("callbacks") is None:
                raise _validation("callbacks", "callbacks is required")
        except _MixError as exc:
            return self._fail(exc)
        doc = {**doc, "callbacks": body["callbacks"]}
        if not body["callbacks"]:
            doc.pop("callbacks")
        self.sessions.put(doc)
        return json_response(self._public(doc, with_first=False), newline=True)

    # -- questions and history -----------------------------------------------------------------------

    async def _grant(self, request: web.Request) -> web.StreamResponse:
        return self._permission(request, "grant")

    async def _deny(self, request: web.Request) -> web.StreamResponse:
        return self._permission(request, "deny")

    def _permission(self, request: web.Request, answer: str) -> web.StreamResponse:
        if not self._agent.answer(request.match_info["id"], "permission", {"answer": answer}):
            return self._fail(_not_found("Permission not found"))
        return json_response({"granted" if answer == "grant" else "denied": True}, newline=True)

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await read_json(request)
        except ValueError as exc:
            return self._fail(_validation("body", f"invalid character in JSON input: {exc}"))
        answer = answer_body(body)
        if isinstance(answer, str):
            return self._fail(_validation("body", answer))
        if not self._agent.answer(request.match_info["id"], "notification", answer):
            return self._fail(_not_found("Notification not found or already responded"))
        return web.Response(status=204)

    async def _history(self, request: web.Request) -> web.StreamResponse:
        """The user messages of every session, newest first; bad numbers fall back to the defaults,
        as the server's `strconv` parsing does."""
        limit = _whole(request.query.get("limit"), 50, 1)
        offset = _whole(request.query.get("offset"), 0, 0)
        rows = [
            (m["at"], self._backend_message(str(doc["id"]), m))
            for doc in self.sessions
            for m in doc["_messages"]
            if m["role"] == "user"
        ]
        rows.sort(key=lambda row: row[0], reverse=True)
        return json_response([m for _, m in rows[offset : offset + limit]] or None, newline=True)

    # -- files ---------------------------------------------------------------------------------------

    def _file_info(self, session_id: str, path: Path) -> dict[str, Any]:
        info = path.stat()
        return {
            "name": path.name,
            "size": info.st_size,
            "modified": int(info.st_mtime),
            "isDir": path.is_dir(),
            "url": f"/api/sessions/{session_id}/files/{path.name}",
        }

    def _file(self, request: web.Request) -> tuple[str, Path]:
        session_id, _ = self._session(request)
        name = request.match_info["filename"]
        if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
            raise _MixError(400, "Invalid filename", "bad_request")
        return session_id, self._files_of(session_id) / name

    async def _files(self, request: web.Request) -> web.StreamResponse:
        try:
            session_id, _ = self._session(request)
        except _MixError as exc:
            return self._fail(exc)
        folder = self._files_of(session_id)
        paths = sorted(folder.iterdir()) if folder.is_dir() else []
        return json_response([self._file_info(session_id, p) for p in paths] or None, newline=True)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        try:
            session_id, _ = self._session(request)
            _, target, _ = await receive_upload(request, self._files_of(session_id), limit=self.max_upload_bytes)
        except UploadRefused as exc:
            return self._fail(_MixError(exc.status, exc.message, "bad_request"))
        except _MixError as exc:
            return self._fail(exc)
        return json_response(self._file_info(session_id, target), 201, newline=True)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        try:
            _, path = self._file(request)
            thumb, at = request.query.get("thumb"), request.query.get("time")
            if thumb is not None and not _THUMB.fullmatch(thumb):
                raise _MixError(400, "Invalid thumb parameter", "bad_request")
            if at is not None and not (_is_number(at) and 0 <= float(at) <= 86400):
                raise _MixError(400, "Invalid time parameter", "bad_request")
            if not path.is_file():
                raise _not_found("File not found")
        except _MixError as exc:
            return self._fail(exc)
        # Served from disk in chunks (no thumbnail is made: the fake serves the file itself).
        return web.FileResponse(path, chunk_size=256 * 1024)

    async def _delete_file(self, request: web.Request) -> web.StreamResponse:
        try:
            _, path = self._file(request)
            if path.is_dir():
                raise _MixError(400, "Cannot delete directory", "bad_request")
            if not path.exists():
                raise _not_found("File not found")
        except _MixError as exc:
            return self._fail(exc)
        path.unlink()
        return web.Response(status=204)


def _whole(text: str | None, default: int, least: int) -> int:
    if text is None or not text.isdigit() or len(text) > 18 or int(text) < least:
        return default
    return int(text)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
