"""`FakeMix`: an in-process imitation of the Mix server's sessions REST API (SDK 0.10.1, flattened).

Bare `SessionData` bodies (success bodies end with a newline, as Go's encoder writes them), `null` for
an empty list, errors as `{"error": {"code", "message", "type"}}`, create 201 with unknown fields
refused (400 `validation_error`, Go's `DisallowUnknownFields`), fork 201 with an optional body
`{messageIndex (0-based), title}`, delete 204, no auth, CORS headers on every response. Server quirks
kept: an unknown fork source or delete target is a 500 `internal_error`, not a 404; `get` omits
`firstUserMessage`, which `list` includes.

    from sessionkit.testing import FakeMix

    async with FakeMix() as fake:
        [s] = fake.seed_sessions(1)
        fake.add_message(s["id"], "user", "hello")   # fork copies messages up to messageIndex
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from aiohttp import web

from ._server import MISSING, FakeServer, SessionStore, as_object, json_response, read_json

__all__ = ["FakeMix"]

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, X-Requested-With",
    "Access-Control-Max-Age": "86400",
}
_TYPES = {400: "validation_error", 401: "unauthorized", 404: "not_found"}
_CREATE_FIELDS = {
    "title": str,
    "customSystemPrompt": str,
    "promptMode": str,
    "sessionType": str,
    "subagentType": str,
    "callbacks": list,
}
_FORK_FIELDS = {"messageIndex": int, "title": str}
_GO_TYPES = {str: "string", int: "int64", list: "[]http.Callback"}
_PROMPT_LIMITS = {"append": 51_200, "replace": 102_400}
_INTERNAL = ("parentToolCallId", "_messages")


class _MixError(Exception):
    def __init__(self, status: int, message: str, type_: str) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type_


def _validation(field: str, message: str) -> _MixError:
    return _MixError(400, f"Validation error for field '{field}': {message}", "validation_error")


def _go_json_type(value: Any) -> str:
    for kind, name in ((dict, "object"), (list, "array"), (str, "string"), (bool, "bool")):
        if isinstance(value, kind):
            return name
    return "number"


class FakeMix(FakeServer):
    """Mix server sessions API (no auth). `tz` is the server's local zone for `createdAt`."""

    def __init__(self, *, tz: tzinfo = timezone.utc, host: str = "127.0.0.1", port: int = 0) -> None:
        self.tz = tz
        super().__init__(host=host, port=port)

    # -- state ---------------------------------------------------------------------------------------

    def _clear_state(self) -> None:
        self.sessions = SessionStore("id")
        """SessionData documents, plus the internal `_messages` list."""

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
            **extra,
        }
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

    def add_message(self, session_id: str, role: str, content: str) -> None:
        """Append a message (`role` "user" or "assistant") and update the session's counters."""
        doc = self.sessions.get(session_id)
        if doc is None:
            raise KeyError(session_id)
        doc = {**doc, "_messages": [*doc["_messages"], {"role": role, "content": content}]}
        self.sessions.put(self._recount(doc))

    @staticmethod
    def _recount(doc: dict[str, Any]) -> dict[str, Any]:
        messages: list[dict[str, str]] = doc["_messages"]
        doc["userMessageCount"] = sum(m["role"] == "user" for m in messages)
        doc["assistantMessageCount"] = sum(m["role"] == "assistant" for m in messages)
        first = next((m["content"] for m in messages if m["role"] == "user"), None)
        if first is not None:
            doc["firstUserMessage"] = first
        return doc

    @staticmethod
    def _public(doc: dict[str, Any], *, with_first: bool = True) -> dict[str, Any]:
        hidden = _INTERNAL if with_first else (*_INTERNAL, "firstUserMessage")
        return {k: v for k, v in doc.items() if k not in hidden}

    # -- HTTP ----------------------------------------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        routes = {
            "/api/sessions": {"GET": self._list, "POST": self._create},
            "/api/sessions/{id}": {"GET": self._get, "DELETE": self._delete},
            "/api/sessions/{id}/fork": {"POST": self._fork},
        }
        for path, handlers in routes.items():
            resource = router.add_resource(path)
            for method, handler in {**handlers, "OPTIONS": self._options}.items():
                resource.add_route(method, handler)

    def _error_body(self, status: int, message: str) -> Any:
        return {"error": {"code": status, "message": message, "type": _TYPES.get(status, "internal_error")}}

    def _error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
        return json_response(self._error_body(status, message), status, headers=headers, newline=True)

    def _finish(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(_CORS)

    @staticmethod
    def _fail(exc: _MixError) -> web.Response:
        body = {"error": {"code": exc.status, "message": exc.message, "type": exc.type}}
        return json_response(body, exc.status, newline=True)

    @staticmethod
    async def _decode(request: web.Request, fields: dict[str, type], go_type: str) -> dict[str, Any] | None:
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
            if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
                raise _validation(
                    "body",
                    f"json: cannot unmarshal {_go_json_type(value)} into Go struct field "
                    f"{go_type.split('.')[-1]}.{key} of type {_GO_TYPES[expected]}",
                )
        return obj

    async def _options(self, request: web.Request) -> web.StreamResponse:
        return web.Response()

    async def _list(self, request: web.Request) -> web.StreamResponse:
        with_subagents = request.query.get("includeSubagents", "false").lower() in ("true", "1")
        rows = [self._public(d) for d in self.sessions if with_subagents or d["sessionType"] != "subagent"]
        return json_response(rows or None, newline=True)  # Go encodes an empty nil slice as null

    async def _get(self, request: web.Request) -> web.StreamResponse:
        session_id = request.match_info["id"]
        doc = self.sessions.get(session_id)
        if doc is None:
            return self._fail(_MixError(404, f"Session with ID '{session_id}' not found", "not_found"))
        return json_response(self._public(doc, with_first=False), newline=True)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await self._decode(request, _CREATE_FIELDS, "http.CreateSessionRequest")
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
        except _MixError as exc:
            return self._fail(exc)
        extra = {"callbacks": body["callbacks"]} if body.get("callbacks") else {}
        doc = self._new(body["title"], **extra)
        self.sessions.put(doc)
        return json_response(self._public(doc, with_first=False), 201, newline=True)

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
        return web.Response(status=204)
