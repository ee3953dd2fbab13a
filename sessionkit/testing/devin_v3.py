"""`FakeDevinV3`: an in-process imitation of Devin's v3 sessions API, scoped to one organisation.

Every route is served under `/v3/organizations/{org_id}` and under the short form `/v3/organizations`
(the teams quickstart's single-organisation form). Auth is `Authorization: Bearer cog_...`: an `apk_`
(v1) key or any other token is a 401, another organisation a 403. Errors are RFC 9457 problems
(`application/problem+json`, `{type, title, status, detail, instance}`, plus `errors` on a 422).

Sessions move through states over time. A session walks `lifecycle` (default `working` then
`waiting_for_user`), one step every `gets_per_step` reads of it, or every `seconds_per_step` of
`clock` time (share a `FakeClock` with the core and a wait runs in virtual time); with neither, it
stays at the first step. Reaching `waiting_for_user`, `waiting_for_approval` or `finished` adds a
Devin message. A message to the session starts the walk again (a suspended session resumes);
`set_status` pins a session where a test wants it; archive and terminate pin it too.

    from sessionkit.testing import FakeClock, FakeDevinV3

    clock = FakeClock()
    async with FakeDevinV3(api_key="cog_test", org_id="org-1", seconds_per_step=30, clock=clock) as fake:
        ...  # DevinCore("cog_test", "org-1", server_url=fake.url, clock=clock)
        fake.set_status(devin_id, "suspended", "inactivity")

Attachments: `POST .../attachments` (multipart `file`, streamed to disk) answers `{attachment_id,
name, url}`; `GET .../attachments/{uuid}/{name}` is a 307 to a presigned URL on `storage_url` (another
port, so another origin) valid 60 seconds, which refuses an `Authorization` header as a storage
service does. `attachment_urls` of a create or a message are the session's attachments (`source`
user); `add_devin_attachment` adds one Devin made. Insights: `GET .../sessions/{id}/insights` (the
session, its message counts, a size, and `analysis` once generated), `POST .../insights/generate`
(`started`, then `already_exists`), and `GET .../sessions/insights` (a page, with the list's filters).

Behaviour the docs leave open is chosen here, and UNCONFIRMED: responses carry the bare hex
`session_id` (paths need `devin-<hex>`), a 404 for an unknown session, a 409 for a message to an
ended or archived session, tags filters match sessions with all of them, and times are seconds.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import quote

from aiohttp import web

from .._clock import SYSTEM_CLOCK, Clock
from ._attachments import AttachmentStore
from ._server import FakeServer, SessionStore, UploadRefused, as_object, json_response, read_json

__all__ = ["FakeDevinV3"]

# A state (what `Session.state` reads) as the (status, status_detail) pair the API sends.
_STATES: dict[str, tuple[str, str | None]] = {
    "new": ("new", None),
    "creating": ("creating", None),
    "claimed": ("claimed", None),
    "resuming": ("resuming", None),
    "working": ("running", "working"),
    "waiting_for_user": ("running", "waiting_for_user"),
    "waiting_for_approval": ("running", "waiting_for_approval"),
    "finished": ("running", "finished"),
    "exit": ("exit", None),
    "error": ("error", None),
    "suspended": ("suspended", "inactivity"),
}
_DEVIN_SAYS = {
    "waiting_for_user": "I have a question before I go on.",
    "waiting_for_approval": "May I run this command?",
    "finished": "Done.",
}
_PUBLIC = (
    "session_id", "url", "org_id", "status", "status_detail", "acus_consumed", "created_at", "updated_at", "tags",
    "pull_requests", "title", "user_id", "service_user_id", "playbook_id", "parent_session_id", "child_session_ids",
    "is_archived", "structured_output", "origin", "category", "subcategory",
)  # fmt: skip
_GET_ONLY = ("status_detail", "structured_output", "category", "subcategory")
_MODES = (None, "normal", "fast", "lite", "ultra", "fusion")
MAX_TAGS = 50
_V3 = TypeVar("_V3", bound="FakeDevinV3")
_SIZES = ((4, "xs"), (10, "s"), (30, "m"), (100, "l"))  # messages below which a session has this size


def _problem(status: int, detail: str | None = None, *, instance: str = "", **extra: Any) -> web.Response:
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return web.Response(body=json.dumps(body).encode(), status=status, content_type="application/problem+json")


def _invalid(request: web.Request, *errors: dict[str, Any]) -> web.Response:
    return _problem(422, "Request validation failed", instance=request.path, errors=list(errors))


def _field_error(where: str, name: str, msg: str, kind: str) -> dict[str, Any]:
    return {"loc": [where, name], "msg": msg, "type": kind}


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)  # pyright: ignore[reportUnknownVariableType]


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int | None:
    """The position a cursor stands for (0 without one); None for a cursor this fake never gave."""
    if cursor is None:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        return int(number) if kind == "offset" and int(number) >= 0 else None
    except (ValueError, binascii.Error, UnicodeError):
        return None


class FakeDevinV3(FakeServer):
    """Devin v3 sessions of one organisation; see the module docstring."""

    def __init__(
        self,
        api_key: str = "cog_fake-devin-key",
        org_id: str = "org-fake",
        *,
        lifecycle: Sequence[str] = ("working", "waiting_for_user"),
        gets_per_step: int | None = None,
        seconds_per_step: float | None = None,
        clock: Clock | None = None,
        platforms: Sequence[str] = ("default",),
        app_url: str = "https://app.devin.ai",
        max_upload_bytes: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not api_key.startswith("cog_"):
            raise ValueError("v3 keys start with cog_")
        unknown = [s for s in lifecycle if s not in _STATES]
        if not lifecycle or unknown:
            raise ValueError(f"lifecycle takes states among {sorted(_STATES)}, got {list(lifecycle)}")
        self.api_key = api_key
        self.org_id = org_id
        self.lifecycle = tuple(lifecycle)
        self.gets_per_step = gets_per_step
        self.seconds_per_step = seconds_per_step
        self.clock: Clock = clock or SYSTEM_CLOCK
        self.platforms = tuple(platforms)
        self.app_url = app_url.rstrip("/")
        self.max_upload_bytes = max_upload_bytes
        self.storage_port = 0
        self.attachments = AttachmentStore()
        """Every uploaded file (`attachments.files`, by attachment id), on disk."""
        super().__init__(host=host, port=port)

    async def start(self: _V3) -> _V3:
        """Serve the API, and the presigned storage URLs on a second port (another origin)."""
        fresh = self._runner is None
        await super().start()
        if fresh and self._runner is not None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((self.host, self.storage_port))
                await web.SockSite(self._runner, sock).start()
            except BaseException:
                sock.close()
                await self.stop()
                raise
            self.storage_port = sock.getsockname()[1]
        return self

    @property
    def storage_url(self) -> str:
        """Where the presigned download URLs point (another port of this fake)."""
        return f"http://{self.host}:{self.storage_port}"

    def add_devin_attachment(self, devin_id: str, name: str, data: bytes) -> dict[str, Any]:
        """A file Devin made in the session (`source` devin); its row as the session lists it."""
        doc = self._doc(devin_id)
        stored = self.attachments.add(name, data)
        row = self._attachment_row(stored.attachment_id, stored.name, "devin")
        self.sessions.put({**doc, "_attachments": [*doc["_attachments"], row]})
        return row

    def generate_insights(self, devin_id: str) -> None:
        """Give a session the analysis `sessions_insights_generate` would."""
        doc = self._doc(devin_id)
        self.sessions.put({**doc, "_analysis": self._analysis(doc)})

    # -- state ---------------------------------------------------------------------------------------

    def _clear_state(self) -> None:
        self.sessions = SessionStore("_id")
        """Session documents by `devin-<hex>` id: the API's fields, plus `_messages`, `_attachments`,
        `_analysis` and walk state."""
        store: AttachmentStore | None = getattr(self, "attachments", None)
        if store is not None:
            store.clear()

    def _now(self) -> int:
        return int(self.clock.wall())

    def _new(self, prompt: str, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
        hex_id = uuid.uuid4().hex
        now = self._now()
        doc: dict[str, Any] = {
            "_id": f"devin-{hex_id}",
            "session_id": hex_id,
            "url": f"{self.app_url}/sessions/{hex_id}",
            "org_id": self.org_id,
            "acus_consumed": 0.0,
            "created_at": now,
            "updated_at": now,
            "tags": [],
            "pull_requests": [],
            "title": prompt[:60],
            "user_id": None,
            "service_user_id": "service-user-fake",
            "playbook_id": None,
            "parent_session_id": None,
            "child_session_ids": None,
            "is_archived": False,
            "structured_output": None,
            "origin": "api",
            "category": None,
            "subcategory": None,
            "_messages": [{"event_id": uuid.uuid4().hex, "source": "user", "message": prompt, "created_at": now}],
            "_attachments": [],
            "_analysis": None,
        }
        self._restart(doc)
        doc.update({k: v for k, v in (fields or {}).items() if k in _PUBLIC and v is not None})
        return doc

    def _restart(self, doc: dict[str, Any]) -> None:
        """Begin the lifecycle walk again from its first step."""
        doc.update(_pinned=False, _gets=0, _born=self.clock.monotonic(), _step=-1)
        self._enter(doc, 0)

    def _enter(self, doc: dict[str, Any], step: int) -> None:
        state = self.lifecycle[step]
        doc["status"], doc["status_detail"] = _STATES[state]
        doc["_step"] = step
        doc["updated_at"] = self._now()
        if state in _DEVIN_SAYS:
            note = {"event_id": uuid.uuid4().hex, "source": "devin", "message": _DEVIN_SAYS[state],
                    "created_at": doc["updated_at"]}  # fmt: skip
            doc["_messages"] = [*doc["_messages"], note]

    def _walk(self, doc: dict[str, Any], *, read: bool) -> dict[str, Any]:
        """Move an unpinned session to the step its reads or its age reach; `read` counts one read."""
        if doc["_pinned"]:
            return doc
        reached = 0
        if self.gets_per_step:
            reached = doc["_gets"] // self.gets_per_step
        if self.seconds_per_step:
            reached = max(reached, int((self.clock.monotonic() - doc["_born"]) // self.seconds_per_step))
        step = min(reached, len(self.lifecycle) - 1)
        doc = dict(doc)
        if read:
            doc["_gets"] += 1
        while doc["_step"] < step:
            self._enter(doc, doc["_step"] + 1)
        self.sessions.put(doc)
        return doc

    def seed_sessions(self, count: int, **fields: Any) -> list[dict[str, Any]]:
        """Store `count` sessions (prompts `Seed task <n>`); `fields` override response fields."""
        start = len(self.sessions)
        docs = [self._new(f"Seed task {start + i}", fields) for i in range(count)]
        for doc in docs:
            self.sessions.put(doc)
        return docs

    def _doc(self, devin_id: str) -> dict[str, Any]:
        doc = self.sessions.get(devin_id if devin_id.startswith("devin-") else f"devin-{devin_id}")
        if doc is None:
            raise KeyError(devin_id)
        return doc

    def set_status(self, devin_id: str, status: str, status_detail: str | None = None, **fields: Any) -> None:
        """Pin a session (id with or without `devin-`) at `status` / `status_detail`; `fields` set
        other response fields. A later message starts its lifecycle again."""
        doc = self._doc(devin_id)
        self.sessions.put(
            {**doc, **fields, "status": status, "status_detail": status_detail, "_pinned": True,
             "updated_at": self._now()}
        )  # fmt: skip

    def messages_of(self, devin_id: str) -> list[dict[str, Any]]:
        """The session's messages as the messages endpoint sends them."""
        return list(self._doc(devin_id)["_messages"])

    # -- HTTP ----------------------------------------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        for scope in ("/v3/organizations/{org_id}", "/v3/organizations"):
            base = scope + "/sessions"
            one = base + "/{devin_id}"
            router.add_post(base, self._create)
            router.add_get(base, self._list)
            router.add_get(base + "/insights", self._insights_list)  # before `one`, which would take it
            router.add_get(one, self._get)
            router.add_get(one + "/attachments", self._session_attachments)
            router.add_get(one + "/insights", self._insights)
            router.add_post(one + "/insights/generate", self._generate)
            router.add_post(scope + "/attachments", self._upload)
            router.add_get(scope + "/attachments/{uuid}/{name}", self._download)
            router.add_delete(one, self._terminate)
            router.add_post(one + "/messages", self._message)
            router.add_get(one + "/messages", self._messages)
            router.add_get(one + "/tags", self._tags_get)
            router.add_post(one + "/tags", self._tags_add)
            router.add_put(one + "/tags", self._tags_replace)
            router.add_post(one + "/archive", self._archive)
        router.add_get("/_storage/{uuid}/{name}", self._storage)

    def _error_body(self, status: int, message: str) -> Any:
        return {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": message}

    def _error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
        response = _problem(status, message)
        response.headers.update(headers or {})
        return response

    def _streams_body(self, request: web.Request) -> bool:
        return request.method == "POST" and request.path.endswith("/attachments")

    def _authorize(self, request: web.Request) -> web.StreamResponse | None:
        if request.path.startswith("/_storage/"):
            return None  # a presigned URL: its signature is the credential
        header = request.headers.get("Authorization")
        if not header:
            return _problem(401, "Missing API key: send Authorization: Bearer cog_...", instance=request.path)
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key.startswith("cog_"):
            detail = "v3 takes a cog_ service-user key or personal access token (apk_ keys are v1 only)"
            return _problem(401, detail, instance=request.path)
        if not hmac.compare_digest(key.encode(), self.api_key.encode()):
            return _problem(401, "Invalid API key", instance=request.path)
        org = request.match_info.get("org_id", self.org_id)
        if org != self.org_id:
            return _problem(403, f"No access to organization {org}", instance=request.path)
        return None

    def _out(self, doc: dict[str, Any], *, full: bool = False) -> dict[str, Any]:
        """A session as the API sends it; only get and list fill the `_GET_ONLY` fields."""
        return {k: (doc.get(k) if full or k not in _GET_ONLY else None) for k in _PUBLIC}

    def _find(self, request: web.Request) -> dict[str, Any] | web.Response:
        doc = self.sessions.get(request.match_info["devin_id"])
        if doc is None:
            return _problem(404, "Session not found", instance=request.path)
        return doc

    async def _body(
        self, request: web.Request, checks: Mapping[str, Callable[[Any], str | None]], required: Sequence[str]
    ) -> dict[str, Any] | web.Response:
        """The JSON object body, or the 422 naming every bad field. A check returns an error message."""
        try:
            obj = as_object(await read_json(request))
        except ValueError:
            obj = None
        if obj is None:
            return _invalid(request, _field_error("body", "", "Input should be a valid JSON object", "model_type"))
        errors = [_field_error("body", name, "Field required", "missing") for name in required if name not in obj]
        for name, check in checks.items():
            message = check(obj[name]) if name in obj else None
            if message is not None:
                errors.append(_field_error("body", name, message, "value_error"))
        return _invalid(request, *errors) if errors else obj

    async def _create(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(
            request,
            {
                "prompt": lambda v: None if isinstance(v, str) else "Input should be a valid string",
                "tags": lambda v: None if v is None or _is_str_list(v) else "Input should be a valid list",
                "devin_mode": lambda v: None if v in _MODES else f"Input should be one of {list(_MODES[1:])}",
            },
            ["prompt"],
        )
        if isinstance(body, web.Response):
            return body
        urls = self._attachment_urls(request, body)
        if isinstance(urls, web.Response):
            return urls
        platform = body.get("platform")
        if platform not in (None, "inherit", *self.platforms):
            detail = f"Unknown platform {platform!r}; this organization has {list(self.platforms)}"
            return _problem(400, detail, instance=request.path)
        doc = self._new(body["prompt"], {"title": body.get("title"), "tags": body.get("tags"),
                                         "playbook_id": body.get("playbook_id")})  # fmt: skip
        doc["_attachments"] = urls
        self.sessions.put(doc)
        return json_response(self._out(doc))

    async def _list(self, request: web.Request) -> web.StreamResponse:
        return self._select(request, lambda doc: self._out(doc, full=True))

    async def _insights_list(self, request: web.Request) -> web.StreamResponse:
        return self._select(request, self._insight)

    def _select(self, request: web.Request, present: Callable[[dict[str, Any]], dict[str, Any]]) -> web.Response:
        """Newest first; `first` (1-200) after the cursor `after`; filters on ids, tags, archive and times."""
        query = request.query
        numbers: dict[str, int | None] = {}
        for name in ("first", "created_after", "created_before", "updated_after", "updated_before"):
            raw = query.get(name)
            try:
                numbers[name] = None if raw is None else int(raw)
            except ValueError:
                return _invalid(request, _field_error("query", name, "Input should be a valid integer", "int_parsing"))
        first = numbers["first"] or 100
        if not 1 <= first <= 200:
            return _invalid(request, _field_error("query", "first", "Input should be between 1 and 200", "range"))
        ids = {i if i.startswith("devin-") else f"devin-{i}" for i in query.getall("session_ids", [])}
        tags = set(query.getall("tags", []))
        archived = query.get("is_archived")

        def within(value: int, field: str) -> bool:
            after, before = numbers[f"{field}_after"], numbers[f"{field}_before"]
            return (after is None or value > after) and (before is None or value < before)

        def keep(doc: dict[str, Any]) -> bool:
            return (
                (not ids or doc["_id"] in ids)
                and tags <= set(doc["tags"])
                and (archived is None or doc["is_archived"] == (archived.lower() == "true"))
                and within(doc["created_at"], "created")
                and within(doc["updated_at"], "updated")
            )

        docs = [self._walk(d, read=False) for d in reversed(list(self.sessions)) if keep(d)]
        return self._page(request, [present(d) for d in docs], first)

    def _page(self, request: web.Request, items: list[dict[str, Any]], first: int) -> web.Response:
        start = _offset(request.query.get("after"))
        if start is None:
            return _problem(400, "Invalid cursor", instance=request.path)
        window = items[start : start + first]
        more = start + first < len(items)
        return json_response(
            {"items": window, "has_next_page": more, "end_cursor": _cursor(start + first) if more else None,
             "total": len(items)}
        )  # fmt: skip

    async def _get(self, request: web.Request) -> web.StreamResponse:
        doc = self._find(request)
        if isinstance(doc, web.Response):
            return doc
        return json_response(self._out(self._walk(doc, read=True), full=True))

    async def _message(self, request: web.Request) -> web.StreamResponse:
        doc = self._find(request)
        if isinstance(doc, web.Response):
            return doc
        body = await self._body(
            request,
            {"message": lambda v: None if isinstance(v, str) else "Input should be a valid string"},
            ["message"],
        )
        if isinstance(body, web.Response):
            return body
        if doc["is_archived"] or doc["status"] in ("exit", "error"):
            why = "archived" if doc["is_archived"] else "ended"
            return _problem(409, f"Session is {why}; it cannot take messages", instance=request.path)
        urls = self._attachment_urls(request, body)
        if isinstance(urls, web.Response):
            return urls
        note = {"event_id": uuid.uuid4().hex, "source": "user", "message": body["message"], "created_at": self._now()}
        doc = {**doc, "_messages": [*doc["_messages"], note], "_attachments": [*doc["_attachments"], *urls]}
        self._restart(doc)  # Devin works on it again (a suspended session resumes)
        self.sessions.put(doc)
        return json_response(self._out(doc))

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        doc = self._find(request)
        if isinstance(doc, web.Response):
            return doc
        raw = request.query.get("first", "100")
        if not raw.isdigit() or not 1 <= int(raw) <= 200:
            return _invalid(request, _field_error("query", "first", "Input should be between 1 and 200", "range"))
        return self._page(request, list(doc["_messages"]), int(raw))

    async def _tags_body(self, request: web.Request) -> tuple[dict[str, Any], list[str]] | web.Response:
        doc = self._find(request)
        if isinstance(doc, web.Response):
            return doc

        def check(value: Any) -> str | None:
            if not _is_str_list(value):
                return "Input should be a valid list"
            return None if len(value) <= MAX_TAGS else f"List should have at most {MAX_TAGS} items"

        body = await self._body(request, {"tags": check}, ["tags"])
        if isinstance(body, web.Response):
            return body
        return doc, list(body["tags"])

    async def _tags_get(self, request: web.Request) -> web.StreamResponse:
        doc = self._find(request)
        if isinstance(doc, web.Response):
            return doc
        return json_response({"tags": doc["tags"]})

    async def _tags_add(self, request: web.Request) -> web.StreamResponse:
        found = await self._tags_body(request)
        if isinstance(found, web.Response):
            return found
        doc, tags = found
        merged = list(dict.fromkeys([*doc["tags"], *tags]))
        self.sessions.put({**doc, "tags": merged, "updated_at": self._now()})
        return json_response({"tags": merged})

    async def _tags_replace(self, request: web.Request) -> web.StreamResponse:
        found = await self._tags_body(request)
        if isinstance(found, web.Response):
            return found
        doc, tags = found
        tags = list(dict.fromkeys(tags))
        self.sessions.put({**doc, "tags": tags, "updated_at": self._now()})
        return json_response({"tags": tags})

    async def _archive(self, request: web.Request) -> web.StreamResponse:
        doc = self._find(request)
        if isinstance(doc, web.Response):
            return doc
        doc = {**doc, "is_archived": True, "_pinned": True, "updated_at": self._now()}
        if doc["status"] == "running":  # "archive ... and put it to sleep if currently running"
            doc.update(status="suspended", status_detail="user_request")
        self.sessions.put(doc)
        return json_response(self._out(doc))

    async def _terminate(self, request: web.Request) -> web.StreamResponse:
        doc = self._find(request)
        if isinstance(doc, web.Response):
            return doc
        archive = request.query.get("archive", "false").lower()
        if archive not in ("true", "false"):
            return _invalid(
                request, _field_error("query", "archive", "Input should be a valid boolean", "bool_parsing")
            )
        doc = {**doc, "status": "exit", "status_detail": None, "_pinned": True, "updated_at": self._now()}
        doc["is_archived"] = doc["is_archived"] or archive == "true"
        self.sessions.put(doc)
        return json_response(self._out(doc))

    # -- attachments -------------------------------------------------------------------------------

    def _attachment_url(self, attachment_id: str, name: str) -> str:
        return f"{self.url}/v3/organizations/{quote(self.org_id, safe='')}/attachments/{attachment_id}/{quote(name, safe='')}"

    def _attachment_row(self, attachment_id: str, name: str, source: str, url: str | None = None) -> dict[str, Any]:
        stored = self.attachments.find(attachment_id, name)
        content_type = "application/octet-stream" if stored is not None else None
        if url is None:
            url = self._attachment_url(attachment_id, name)
        return {
            "attachment_id": attachment_id,
            "name": name,
            "source": source,
            "url": url,
            "content_type": content_type,
        }

    def _attachment_urls(self, request: web.Request, body: dict[str, Any]) -> list[dict[str, Any]] | web.Response:
        """The rows of a body's `attachment_urls` (1 to 2083 characters each), or the 422."""
        urls = body.get("attachment_urls")
        if urls is None:
            return []
        if not _is_str_list(urls) or not all(1 <= len(u) <= 2083 for u in urls):
            error = _field_error(
                "body", "attachment_urls", "Input should be a list of 1 to 2083 character URLs", "list_type"
            )
            return _invalid(request, error)
        rows: list[dict[str, Any]] = []
        for url in urls:
            stored = self.attachments.of_url(url)
            if stored is not None:
                rows.append(self._attachment_row(stored.attachment_id, stored.name, "user", url))
            else:  # a URL this fake did not issue: listed as given (what Devin does with one is UNCONFIRMED)
                name = url.rstrip("/").rsplit("/", 1)[-1] or "attachment"
                rows.append(self._attachment_row(str(uuid.uuid5(uuid.NAMESPACE_URL, url)), name, "user", url))
        return rows

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        try:
            stored = await self.attachments.receive(request, self.max_upload_bytes)
        except UploadRefused as exc:
            if exc.status == 413:
                return _problem(413, exc.message, instance=request.path)
            return _invalid(request, _field_error("body", "file", exc.message, "missing"))
        url = self._attachment_url(stored.attachment_id, stored.name)
        return json_response({"attachment_id": stored.attachment_id, "name": stored.name, "url": url})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        stored = self.attachments.find(request.match_info["uuid"], request.match_info["name"])
        if stored is None:
            return _problem(404, "Attachment not found", instance=request.path)
        location = self.attachments.presigned(stored, self.storage_url, self.clock.wall())
        return web.Response(status=307, headers={"Location": location})

    async def _storage(self, request: web.Request) -> web.StreamResponse:
        return self.attachments.serve(request, self.clock.wall())

    async def _session_attachments(self, request: web.Request) -> web.StreamResponse:
        doc = self._find(request)
        if isinstance(doc, web.Response):
            return doc
        return json_response(doc["_attachments"])

    # -- insights ----------------------------------------------------------------------------------

    @staticmethod
    def _analysis(doc: dict[str, Any]) -> dict[str, Any]:
        prompt = doc["_messages"][0]["message"] if doc["_messages"] else ""
        return {
            "action_items": [],
            "classification": {"category": "other", "confidence": 0.5, "programming_languages": [],
                               "tools_and_frameworks": []},
            "issues": [],
            "note_usage": {"bad_usages": [], "good_usages": []},
            "suggested_prompt": {"original_prompt": prompt, "suggested_prompt": prompt, "feedback_items": []},
            "timeline": [],
        }  # fmt: skip

    def _insight(self, doc: dict[str, Any]) -> dict[str, Any]:
        messages: list[dict[str, Any]] = doc["_messages"]
        count = len(messages)
        size = next((name for below, name in _SIZES if count < below), "xl")
        return {
            **self._out(doc, full=True),
            "num_devin_messages": sum(m["source"] == "devin" for m in messages),
            "num_user_messages": sum(m["source"] == "user" for m in messages),
            "session_size": size,
            "analysis": doc["_analysis"],
        }

    async def _insights(self, request: web.Request) -> web.StreamResponse:
        doc = self._find(request)
        if isinstance(doc, web.Response):
            return doc
        return json_response(self._insight(self._walk(doc, read=False)))

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        doc = self._find(request)
        if isinstance(doc, web.Response):
            return doc
        status = "already_exists" if doc["_analysis"] is not None else "started"
        if doc["_analysis"] is None:  # generated at once here; the server does it in the background
            self.sessions.put({**doc, "_analysis": self._analysis(doc)})
        return json_response({"session_id": doc["session_id"], "status": status})
