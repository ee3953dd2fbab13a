"""`FakeOrq`: an in-process imitation of Orq's live `/v2/sessions` API (threads).

Create, get, update (PATCH, with `clear_tags` / `clear_contact_ids`), delete (204), query with
`page`/`limit`/`has_more` pagination, count and tags, behind `Authorization: Bearer <api key>`
(401 `{"message", "code"}` otherwise). Every response decodes with the official `orq-ai-sdk`.

Pages are 1-based (`page` defaults to 1, `limit` to 50); threads are listed in creation order
(populated ones first). Filters: `interval` (required), `project_id`, `tags` (any of), `client`,
`repo`, `kind`, `start_date`/`end_date` (ISO-8601 or epoch milliseconds, on `started_at`).

    from sessionkit.testing import FakeOrq

    async with FakeOrq(api_key="k") as fake:
        fake.seed_sessions(120)            # 120 stored threads: three pages of 50
        fake.populate(1_000_000)           # or a million threads built only when read
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from ._server import MISSING, FakeServer, SessionStore, as_object, json_response, read_json

__all__ = ["FakeOrq"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_INTERVALS = {
    "SESSION_INTERVAL_LAST_30_MINUTES": timedelta(minutes=30),
    "SESSION_INTERVAL_LAST_1_HOUR": timedelta(hours=1),
    "SESSION_INTERVAL_LAST_6_HOURS": timedelta(hours=6),
    "SESSION_INTERVAL_LAST_24_HOURS": timedelta(hours=24),
    "SESSION_INTERVAL_LAST_3_DAYS": timedelta(days=3),
    "SESSION_INTERVAL_LAST_7_DAYS": timedelta(days=7),
    "SESSION_INTERVAL_LAST_14_DAYS": timedelta(days=14),
    "SESSION_INTERVAL_LAST_1_MONTH": timedelta(days=30),
    "SESSION_INTERVAL_LAST_3_MONTHS": timedelta(days=90),
}
# gRPC status codes, which Orq's ErrorResponse.code carries.
_INVALID_ARGUMENT, _NOT_FOUND, _UNAUTHENTICATED = 3, 5, 16


def _ulid() -> str:
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, timezone.utc)  # filters may carry epoch millis
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)  # pyright: ignore[reportUnknownVariableType]


def _numbers(*keys: str, check: Callable[[Any], bool] = _is_number) -> Callable[[Any], bool]:
    def ok(value: Any) -> bool:
        obj = as_object(value)
        return obj is not None and all(check(obj.get(k)) for k in keys)

    return ok


def _optional_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


_FIELDS: dict[str, Callable[[Any], bool]] = {
    "external_id": lambda v: isinstance(v, str),
    "duration": _is_number,
    "contact_ids": _is_str_list,
    "billing": _numbers("input_cost", "output_cost", "total_cost"),
    "usage": _numbers("prompt_tokens", "completion_tokens", "total_tokens", check=_is_int),
    "traces_count": _is_int,
    "tags": _is_str_list,
    "project_id": _optional_str,
    "started_at": lambda v: v is None or _parse_time(v) is not None,
    "updated_at": lambda v: v is None or _parse_time(v) is not None,
    "title": _optional_str,
    "client": _optional_str,
    "repo": _optional_str,
    "kind": _optional_str,  # an open enum: unknown kinds are kept
}
_REQUIRED = ("external_id", "duration", "contact_ids", "billing", "usage", "traces_count", "tags")


class _Invalid(Exception):
    def __init__(self, status: int, message: str, code: int) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class FakeOrq(FakeServer):
    """Orq `/v2/sessions`. `api_key` is the only Bearer token accepted; `rate_limit`: see `set_rate_limit`."""

    def __init__(
        self,
        api_key: str = "fake-orq-key",
        *,
        default_limit: int = 50,
        max_limit: int = 1000,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: float | None = None,
    ) -> None:
        self.api_key = api_key
        self.default_limit = default_limit
        self.max_limit = max_limit
        super().__init__(host=host, port=port, rate_limit=rate_limit)

    # -- state ---------------------------------------------------------------------------------------

    def _clear_state(self) -> None:
        self.sessions = SessionStore("_id")
        """Threads in their wire form (`_id`, `external_id`, ...)."""

    def seed_sessions(self, count: int, **fields: Any) -> list[dict[str, Any]]:
        """Store `count` threads (external ids `seed-<n>`, tags cycling a/b/c); `fields` override any wire field."""
        start = len(self.sessions)
        docs = [
            self._thread(start + i, f"thread_{_ulid()}", datetime.now(timezone.utc), **fields) for i in range(count)
        ]
        for doc in docs:
            self.sessions.put(doc)
        return docs

    def populate(self, count: int, **fields: Any) -> None:
        """Make `count` threads exist without storing them (ids `thread_pop_<12 digits>`), one second apart
        and ending now. Reads, pages and counts stay cheap; changing one stores only that one."""
        end = datetime.now(timezone.utc)

        def build(index: int, sid: str) -> dict[str, Any]:
            return self._thread(index, sid, end - timedelta(seconds=count - index), **fields)

        self.sessions.populate(count, build, prefix="thread_pop_")

    @staticmethod
    def _thread(index: int, sid: str, started: datetime, **fields: Any) -> dict[str, Any]:
        return {
            "_id": sid,
            "external_id": f"seed-{index}",
            "duration": 1000 + index,
            "contact_ids": [],
            "billing": {"input_cost": 0.001, "output_cost": 0.002, "total_cost": 0.003},
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            "traces_count": 1,
            "tags": [("a", "b", "c")[index % 3]],
            "project_id": None,
            "started_at": _iso(started),
            "updated_at": _iso(started),
            **fields,
        }

    # -- HTTP ----------------------------------------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v2/sessions", self._create)
        router.add_post("/v2/sessions/query", self._query)
        router.add_post("/v2/sessions/count", self._count)
        router.add_get("/v2/sessions/tags", self._tags)
        one = router.add_resource("/v2/sessions/{session_id}")
        one.add_route("GET", self._get)
        one.add_route("PATCH", self._update)
        one.add_route("DELETE", self._delete)

    def _error_body(self, status: int, message: str) -> Any:
        return {"message": message, "code": {401: _UNAUTHENTICATED, 404: _NOT_FOUND}.get(status, 2)}

    def _authorize(self, request: web.Request) -> web.StreamResponse | None:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(key.strip().encode(), self.api_key.encode()):
            return None
        return json_response({"message": "Invalid or missing API key", "code": _UNAUTHENTICATED}, 401)

    @staticmethod
    def _fail(exc: _Invalid) -> web.Response:
        return json_response({"message": exc.message, "code": exc.code}, exc.status)

    async def _object(self, request: web.Request, *, required: bool) -> dict[str, Any]:
        try:
            body = await read_json(request)
        except ValueError:
            raise _Invalid(400, "Malformed JSON in request body", _INVALID_ARGUMENT) from None
        if body is MISSING and not required:
            return {}
        obj = as_object(body)
        if obj is None:
            raise _Invalid(400, "Request body must be a JSON object", _INVALID_ARGUMENT)
        return obj

    @staticmethod
    def _validate(body: dict[str, Any], required: Iterable[str]) -> None:
        for key in required:
            if key not in body:
                raise _Invalid(400, f"{key}: Required", _INVALID_ARGUMENT)
        for key, ok in _FIELDS.items():
            if key in body and not ok(body[key]):
                raise _Invalid(400, f"{key}: Invalid value", _INVALID_ARGUMENT)

    def _lookup(self, request: web.Request) -> dict[str, Any]:
        doc = self.sessions.get(request.match_info["session_id"])
        if doc is None:
            raise _Invalid(404, "Session not found", _NOT_FOUND)
        return doc

    async def _create(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await self._object(request, required=True)
            self._validate(body, _REQUIRED)
        except _Invalid as exc:
            return self._fail(exc)
        now = _iso(datetime.now(timezone.utc))
        doc: dict[str, Any] = {"_id": f"thread_{_ulid()}", "project_id": None, "started_at": now, "updated_at": now}
        doc.update({k: v for k, v in body.items() if k in _FIELDS and v is not None})
        self.sessions.put(doc)
        return json_response(doc)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        try:
            return json_response(self._lookup(request))
        except _Invalid as exc:
            return self._fail(exc)

    async def _update(self, request: web.Request) -> web.StreamResponse:
        try:
            doc = self._lookup(request)
            body = await self._object(request, required=False)
            self._validate(body, ())
        except _Invalid as exc:
            return self._fail(exc)
        updated = {**doc, "updated_at": _iso(datetime.now(timezone.utc))}
        updated.update({k: v for k, v in body.items() if k in _FIELDS})
        if body.get("clear_tags"):
            updated["tags"] = []
        if body.get("clear_contact_ids"):
            updated["contact_ids"] = []
        self.sessions.put(updated)
        return json_response(updated)

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        try:
            doc = self._lookup(request)
        except _Invalid as exc:
            return self._fail(exc)
        self.sessions.delete(doc["_id"])
        return web.Response(status=204)

    async def _filtered(self, request: web.Request) -> tuple[dict[str, Any], Callable[[dict[str, Any]], bool] | None]:
        body = await self._object(request, required=True)
        filters = as_object(body.get("filters"))
        if filters is None:
            raise _Invalid(400, "filters: Required", _INVALID_ARGUMENT)
        interval = filters.get("interval")
        if not isinstance(interval, str):
            raise _Invalid(400, "filters.interval: Required", _INVALID_ARGUMENT)
        checks: list[Callable[[dict[str, Any]], bool]] = []
        span = _INTERVALS.get(interval)  # ALL_TIME and unknown intervals do not narrow
        if span is not None:
            since = datetime.now(timezone.utc) - span
            checks.append(lambda d: (_parse_time(d.get("started_at")) or since) >= since)
        for key in ("project_id", "client", "repo", "kind"):
            if filters.get(key) is not None:
                checks.append(lambda d, key=key: d.get(key) == filters[key])
        tags = filters.get("tags")
        if _is_str_list(tags) and tags:
            wanted: set[str] = set(tags)
            checks.append(lambda d: bool(wanted.intersection(d.get("tags") or ())))
        for key, after in (("start_date", True), ("end_date", False)):
            bound = _parse_time(filters[key]) if filters.get(key) else None
            if bound is not None:
                checks.append(lambda d, b=bound, a=after: _in_bound(d, b, a))
        if not checks:
            return body, None
        return body, lambda d: all(check(d) for check in checks)

    async def _query(self, request: web.Request) -> web.StreamResponse:
        try:
            body, keep = await self._filtered(request)
            page, limit = body.get("page", 1), body.get("limit", self.default_limit)
            if not _is_int(page) or page < 1:
                raise _Invalid(400, "page: must be an integer >= 1", _INVALID_ARGUMENT)
            if not _is_int(limit) or not 1 <= limit <= self.max_limit:
                raise _Invalid(400, f"limit: must be an integer from 1 to {self.max_limit}", _INVALID_ARGUMENT)
        except _Invalid as exc:
            return self._fail(exc)
        offset = (page - 1) * limit
        if keep is None:
            rows = self.sessions.page(offset, limit + 1)
        else:
            rows = [d for d in self.sessions if keep(d)][offset : offset + limit + 1]
        return json_response({"object": "list", "data": rows[:limit], "has_more": len(rows) > limit})

    async def _count(self, request: web.Request) -> web.StreamResponse:
        try:
            _, keep = await self._filtered(request)
        except _Invalid as exc:
            return self._fail(exc)
        count = len(self.sessions) if keep is None else sum(1 for d in self.sessions if keep(d))
        return json_response({"count": count})

    async def _tags(self, request: web.Request) -> web.StreamResponse:
        return json_response(sorted({tag for d in self.sessions for tag in d.get("tags") or ()}))


def _in_bound(doc: dict[str, Any], bound: datetime, after: bool) -> bool:
    started = _parse_time(doc.get("started_at"))
    if started is None:
        return False
    return started >= bound if after else started <= bound
