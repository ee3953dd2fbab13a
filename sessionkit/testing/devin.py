"""`FakeDevin`: an in-process imitation of Devin's v1 sessions API (create, list, get, message, tags, terminate).

Create answers 200 (not 201) with `{session_id, url}`, plus `is_new_session` when `idempotent` is
true: an idempotent create with the prompt of an existing session returns that session
(`is_new_session: false`). Get answers every documented field. Auth is `Authorization: Bearer <key>`
(401 `{"detail": "Missing or invalid Authorization header"}`); bad bodies are FastAPI-style 422s
(`{"detail": [{"type", "loc", "msg", "input"}]}`). An unknown id is a 404 `{"detail": "Session not found"}`
(the real status is not documented). New sessions are `running` / `working` until `set_status`.

A message (`POST .../message`) is added to `messages` and answers `null`, moving a `blocked` session
back to `working`; to a `finished` or `expired` session it answers `{"detail": "..."}` and is not
added (which states make Devin answer a `detail` is UNCONFIRMED). `PUT .../tags` replaces the tags
(`{"detail": "Tags updated successfully"}`); `DELETE` ends the session as `finished`
(`{"detail": "Session terminated successfully"}`; the state a terminated session shows is UNCONFIRMED).

`POST /v1/attachments` (multipart `file`, streamed to disk) answers the file's URL as a JSON string
(`attachment_answer="text"`: as plain text, the other form the docs leave open). A prompt or message
line `ATTACHMENT:"<url>"` naming an uploaded file attaches it: `attachments_of(session_id)`.

    from sessionkit.testing import FakeDevin

    async with FakeDevin(api_key="k") as fake:
        ...
        fake.set_status(session_id, "finished", structured_output={"ok": True})
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web

from ._attachments import AttachmentStore, Stored
from ._server import MISSING, FakeServer, SessionStore, UploadRefused, as_object, json_response, read_json

__all__ = ["FakeDevin"]

_STATUS_FOR = {"working": "running", "blocked": "blocked", "finished": "finished", "expired": "expired"}
_SUMMARY = (
    "session_id", "status", "status_enum", "title", "created_at", "updated_at", "snapshot_id", "playbook_id",
    "tags", "pull_request", "structured_output", "requesting_user_email",
)  # fmt: skip
_PUBLIC = (
    "session_id", "status", "status_enum", "title", "created_at", "updated_at", "snapshot_id", "playbook_id",
    "tags", "pull_request", "structured_output", "messages",
)  # fmt: skip


def _now(moment: datetime | None = None) -> str:
    return (moment or datetime.now(timezone.utc)).isoformat(timespec="microseconds")


def _error(kind: str, msg: str, field: str, value: Any, **ctx: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "loc": ["body", field], "msg": msg, "input": value}
    if ctx:
        error["ctx"] = ctx
    return error


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)  # pyright: ignore[reportUnknownVariableType]


def _optional(check: Callable[[Any], bool], kind: str, msg: str) -> Callable[[str, Any], dict[str, Any] | None]:
    def validate(field: str, value: Any) -> dict[str, Any] | None:
        return None if value is None or check(value) else _error(kind, msg, field, value)

    return validate


def _acu(field: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        return _error("int_type", "Input should be a valid integer", field, value)
    return None if value > 0 else _error("greater_than", "Input should be greater than 0", field, value, gt=0)


def _secrets(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(s, dict) and isinstance(s.get("key"), str) and isinstance(s.get("value"), str)  # pyright: ignore[reportUnknownMemberType]
        for s in value  # pyright: ignore[reportUnknownVariableType]
    )


_FROM_CREATE = ("title", "snapshot_id", "playbook_id", "tags")  # request fields that GET echoes
_STRING = _optional(lambda v: isinstance(v, str), "string_type", "Input should be a valid string")
_BOOL = _optional(lambda v: isinstance(v, bool), "bool_type", "Input should be a valid boolean")
_LIST = _optional(_is_str_list, "list_type", "Input should be a valid list")
_FIELDS: dict[str, Callable[[str, Any], dict[str, Any] | None]] = {
    "snapshot_id": _STRING,
    "playbook_id": _STRING,
    "title": _STRING,
    "unlisted": _BOOL,
    "idempotent": _BOOL,
    "max_acu_limit": _acu,
    "secret_ids": _LIST,
    "knowledge_ids": _LIST,
    "tags": _LIST,
    "session_secrets": _optional(_secrets, "list_type", "Input should be a valid list"),
    "structured_output_schema": _optional(
        lambda v: isinstance(v, dict), "dict_type", "Input should be a valid dictionary"
    ),
}


class FakeDevin(FakeServer):
    """Devin v1 sessions. `api_key` is the only Bearer token accepted; `app_url` prefixes session URLs."""

    def __init__(
        self,
        api_key: str = "fake-devin-key",
        *,
        app_url: str = "https://app.devin.ai",
        attachment_answer: Literal["json", "text"] = "json",
        max_upload_bytes: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.app_url = app_url.rstrip("/")
        self.attachment_answer = attachment_answer
        self.max_upload_bytes = max_upload_bytes
        self.attachments = AttachmentStore()
        """Every uploaded file (`attachments.files`, by attachment id), on disk."""
        super().__init__(host=host, port=port)

    def attachments_of(self, session_id: str) -> list[Stored]:
        """The uploaded files a session's prompt and messages attached (`ATTACHMENT:"<url>"` lines)."""
        doc = self.sessions.get(session_id)
        if doc is None:
            raise KeyError(session_id)
        found = [self.attachments.of_url(url) for m in doc["messages"] for url in self.attachments.lines(m["message"])]
        return [stored for stored in found if stored is not None]

    # -- state ---------------------------------------------------------------------------------------

    def _clear_state(self) -> None:
        self.sessions = SessionStore("session_id")
        """Session documents: the GET fields, plus `prompt` and `url`."""
        store: AttachmentStore | None = getattr(self, "attachments", None)
        if store is not None:
            store.clear()

    def _new(
        self,
        prompt: str,
        fields: Mapping[str, Any] | None = None,
        *,
        sid: str | None = None,
        created: datetime | None = None,
    ) -> dict[str, Any]:
        session_id = sid or f"devin-{uuid.uuid4().hex}"
        stamp = _now(created)
        doc: dict[str, Any] = {
            "session_id": session_id,
            "status": "running",
            "status_enum": "working",
            "title": prompt[:60],
            "created_at": stamp,
            "updated_at": stamp,
            "snapshot_id": None,
            "playbook_id": None,
            "tags": None,
            "pull_request": None,
            "structured_output": None,
            "messages": [
                {"type": "initial_user_message", "event_id": uuid.uuid4().hex, "message": prompt,
                 "timestamp": stamp, "origin": "api"}
            ],
            "prompt": prompt,
            "url": f"{self.app_url}/sessions/{session_id.removeprefix('devin-')}",
        }  # fmt: skip
        doc.update({k: v for k, v in (fields or {}).items() if k in _PUBLIC and v is not None})
        return doc

    def seed_sessions(self, count: int, **fields: Any) -> list[dict[str, Any]]:
        """Store `count` sessions (prompts `Seed task <n>`); `fields` override GET fields."""
        start = len(self.sessions)
        docs = [self._new(f"Seed task {start + i}", fields) for i in range(count)]
        for doc in docs:
            self.sessions.put(doc)
        return docs

    def populate(self, count: int) -> None:
        """Make `count` sessions exist without storing them (ids `devin-pop<12 digits>`)."""
        end = datetime.now(timezone.utc)

        def build(index: int, sid: str) -> dict[str, Any]:
            return self._new(f"Populated task {index}", sid=sid, created=end - timedelta(seconds=count - index))

        self.sessions.populate(count, build, prefix="devin-pop")

    def set_status(self, session_id: str, status_enum: str, *, status: str | None = None, **fields: Any) -> None:
        """Move a session to `status_enum` (e.g. "blocked", "finished"); `fields` set other GET fields."""
        doc = self.sessions.get(session_id)
        if doc is None:
            raise KeyError(session_id)
        self.sessions.put(
            {**doc, **fields, "status_enum": status_enum, "status": status or _STATUS_FOR.get(status_enum, status_enum),
             "updated_at": _now()}
        )  # fmt: skip

    # -- HTTP ----------------------------------------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/sessions", self._create)
        router.add_get("/v1/sessions", self._list)
        router.add_get("/v1/sessions/{session_id}", self._get)
        router.add_delete("/v1/sessions/{session_id}", self._terminate)
        router.add_post("/v1/sessions/{session_id}/message", self._message)
        router.add_put("/v1/sessions/{session_id}/tags", self._tags)
        router.add_post("/v1/attachments", self._upload)

    def _streams_body(self, request: web.Request) -> bool:
        return request.method == "POST" and request.path == "/v1/attachments"

    def _error_body(self, status: int, message: str) -> Any:
        return {"detail": message}

    def _authorize(self, request: web.Request) -> web.StreamResponse | None:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(key.strip().encode(), self.api_key.encode()):
            return None
        return json_response({"detail": "Missing or invalid Authorization header"}, 401)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await read_json(request)
        except ValueError as exc:
            detail = [{"type": "json_invalid", "loc": ["body", 0], "msg": "JSON decode error", "input": {},
                       "ctx": {"error": str(exc).split(":")[0]}}]  # fmt: skip
            return json_response({"detail": detail}, 422)
        obj = as_object(body)
        if obj is None:
            if body is MISSING or body is None:
                error = {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}
            else:
                error = {"type": "model_attributes_type", "loc": ["body"],
                         "msg": "Input should be a valid dictionary or object to extract fields from", "input": body}  # fmt: skip
            return json_response({"detail": [error]}, 422)
        errors = [e for k, check in _FIELDS.items() if k in obj and (e := check(k, obj[k])) is not None]
        if "prompt" not in obj:
            errors.insert(0, _error("missing", "Field required", "prompt", obj))
        elif not isinstance(obj["prompt"], str):
            errors.insert(0, _error("string_type", "Input should be a valid string", "prompt", obj["prompt"]))
        if errors:
            return json_response({"detail": errors}, 422)
        idempotent = bool(obj.get("idempotent"))
        doc = self.sessions.find(lambda d: d["prompt"] == obj["prompt"]) if idempotent else None
        is_new = doc is None
        if doc is None:
            doc = self._new(obj["prompt"], {k: obj.get(k) for k in _FROM_CREATE})
            self.sessions.put(doc)
        answer: dict[str, Any] = {"session_id": doc["session_id"], "url": doc["url"]}
        if idempotent:
            answer["is_new_session"] = is_new
        return json_response(answer)

    async def _list(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1/sessions`: newest first, `limit` (default 100) from `offset`, `tags` (all of them) and
        `user_email` filters, as FastAPI reads a query (a bad number is a 422)."""
        query = request.query
        numbers: dict[str, int] = {}
        for name, default in (("limit", 100), ("offset", 0)):
            raw = query.get(name)
            try:
                numbers[name] = default if raw is None else int(raw)
            except ValueError:
                detail = [{"type": "int_parsing", "loc": ["query", name], "msg": "Input should be a valid integer"}]
                return json_response({"detail": detail}, 422)
        tags = set(query.getall("tags", []))
        email = query.get("user_email")
        docs = [
            d
            for d in self.sessions
            if tags <= set(d.get("tags") or []) and (email is None or d.get("requesting_user_email") == email)
        ]
        docs.sort(key=lambda d: d["created_at"], reverse=True)
        window = docs[numbers["offset"] : numbers["offset"] + max(numbers["limit"], 0)]
        return json_response({"sessions": [{k: d.get(k) for k in _SUMMARY} for d in window]})

    async def _get(self, request: web.Request) -> web.StreamResponse:
        doc = self.sessions.get(request.match_info["session_id"])
        if doc is None:
            return json_response({"detail": "Session not found"}, 404)
        return json_response({k: doc[k] for k in _PUBLIC})

    async def _body_field(
        self, request: web.Request, name: str, check: Callable[[Any], bool], kind: str, msg: str
    ) -> tuple[dict[str, Any], Any] | web.StreamResponse:
        """The session and one required body field, or the 404 / FastAPI 422 that refuses the request."""
        doc = self.sessions.get(request.match_info["session_id"])
        if doc is None:
            return json_response({"detail": "Session not found"}, 404)
        try:
            obj = as_object(await read_json(request))
        except ValueError:
            obj = None
        if obj is None:
            return json_response({"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required"}]}, 422)
        if name not in obj:
            return json_response({"detail": [_error("missing", "Field required", name, obj)]}, 422)
        if not check(obj[name]):
            return json_response({"detail": [_error(kind, msg, name, obj[name])]}, 422)
        return doc, obj[name]

    async def _message(self, request: web.Request) -> web.StreamResponse:
        found = await self._body_field(
            request, "message", lambda v: isinstance(v, str), "string_type", "Input should be a valid string"
        )
        if isinstance(found, web.StreamResponse):
            return found
        doc, message = found
        if doc["status_enum"] in ("finished", "expired"):
            return json_response({"detail": f"Session is {doc['status_enum']}; the message was not delivered"})
        note = {"type": "user_message", "event_id": uuid.uuid4().hex, "message": message, "timestamp": _now(),
                "origin": "api"}  # fmt: skip
        doc = {**doc, "messages": [*doc["messages"], note], "updated_at": note["timestamp"]}
        if doc["status_enum"] == "blocked":
            doc.update(status_enum="working", status="running")
        self.sessions.put(doc)
        return json_response(None)

    async def _tags(self, request: web.Request) -> web.StreamResponse:
        found = await self._body_field(request, "tags", _is_str_list, "list_type", "Input should be a valid list")
        if isinstance(found, web.StreamResponse):
            return found
        doc, tags = found
        self.sessions.put({**doc, "tags": list(tags), "updated_at": _now()})
        return json_response({"detail": "Tags updated successfully"})

    async def _terminate(self, request: web.Request) -> web.StreamResponse:
        doc = self.sessions.get(request.match_info["session_id"])
        if doc is None:
            return json_response({"detail": "Session not found"}, 404)
        if doc["status_enum"] not in ("finished", "expired"):
            self.sessions.put({**doc, "status_enum": "finished", "status": "finished", "updated_at": _now()})
        return json_response({"detail": "Session terminated successfully"})

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        try:
            stored = await self.attachments.receive(request, self.max_upload_bytes)
        except UploadRefused as exc:
            if exc.status == 413:
                return json_response({"detail": exc.message}, 413)
            return json_response({"detail": [{"type": "missing", "loc": ["body", "file"], "msg": exc.message}]}, 422)
        url = f"{self.url}/v1/attachments/{stored.attachment_id}/{quote(stored.name, safe='')}"
        if self.attachment_answer == "text":
            return web.Response(text=url, content_type="text/plain")
        return json_response(url)
