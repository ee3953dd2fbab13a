"""The clients under test, each behind the same tiny interface.

A client opens against a server URL, gives one `call(scenario)` coroutine function per scenario
that sends one request and returns whether the answer was correct, and closes. Every client sends
the same requests (same paths, headers and JSON bodies) to the same server.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import cache
from types import ModuleType
from typing import Any

from sessionkit.orq import (
    CreateThreadRequest,
    GetSessionRequest,
    ListThreadsRequest,
    ListThreadsResponse,
    Thread,
    ThreadBilling,
    ThreadFilters,
    ThreadKind,
    ThreadUsage,
)

from . import payloads

SCENARIOS = ("get", "list", "create")
API_KEY = "bench-key"
Call = Callable[[], Awaitable[bool]]

_GET_PATH = f"/v2/sessions/{payloads.SESSION_ID}"


@cache
def sessionkit_headers() -> dict[str, str]:
    """The headers a default `OrqCore` sends on every request (Accept, Accept-Encoding, User-Agent,
    Authorization), read from the core itself so that every client sends exactly the same set."""
    from sessionkit.orq import OrqCore

    return dict(OrqCore(api_key=API_KEY).base_headers())


def _get_headers() -> dict[str, str]:
    return sessionkit_headers()


@cache
def _post_headers() -> dict[str, str]:
    # The pipeline adds Content-Type to a request with a JSON body.
    return {**sessionkit_headers(), "Content-Type": "application/json"}


# --- sessionkit's JSON backend (a process-wide switch; absent from older checkouts) ---------------


def json_module() -> ModuleType | None:
    """`sessionkit._json`, or None for a sessionkit that has no switchable JSON backend."""
    try:
        return importlib.import_module("sessionkit._json")
    except ImportError:
        return None


def orjson_available() -> bool:
    try:
        import orjson  # noqa: F401  # pyright: ignore[reportUnusedImport]
    except ImportError:
        return False
    return True


def json_backend() -> str | None:
    """The active backend ("json" or "orjson"), or None when sessionkit cannot switch."""
    module = json_module()
    return None if module is None else str(module.backend())


def use_json_backend(name: str | None) -> None:
    """Select sessionkit's JSON backend for the whole process (nothing to do without `_json`)."""
    module = json_module()
    if module is not None and name is not None:
        module.use(name)


def _check_thread(thread_id: Any) -> bool:
    return thread_id == payloads.SESSION_ID


def _check_page(ids: list[Any], has_more: Any) -> bool:
    return len(ids) == payloads.PAGE_SIZE and ids[0] == payloads.SESSION_ID and has_more is False


class Client:
    """Base of every client: `name`, `open`, `call`, `close`; `activate` before each timed run."""

    name = "?"
    description = ""
    slow = False  # served at a few hundred req/s: runs `Config.slow_requests` per cell

    @classmethod
    def available(cls) -> bool:
        """Whether this client can run here (an optional dependency may be missing)."""
        return True

    def activate(self) -> None:
        """Set any process-wide state this client needs; called right before each run of it."""

    async def open(self, url: str) -> None:
        raise NotImplementedError

    def call(self, scenario: str) -> Call:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


# --- the server's own ceiling: HTTP/1.1 by hand over asyncio streams, no client library ---------


class _RawConnection(asyncio.Protocol):
    """One keep-alive connection that sends a request and waits for `Content-Length` bytes."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        at = self.buffer.find(b"Content-Length: ", 0, end)
        length = int(self.buffer[at + 16 : self.buffer.find(b"\r\n", at)])
        if len(self.buffer) >= end + 4 + length:
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.waiter.set_result(body)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionResetError("closed"))

    async def request(self, raw: bytes) -> bytes:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        try:
            return await self.waiter
        finally:
            self.waiter = None


class ServerCeiling(Client):
    """Pre-encoded requests over bare asyncio protocols: what the server can serve at most."""

    name = "server ceiling"
    description = "hand-written HTTP/1.1 over asyncio.Protocol; bodies compared byte for byte"

    async def open(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.idle: list[_RawConnection] = []
        self.all: list[_RawConnection] = []

    def _request(self, method: str, path: str, body: bytes = b"") -> bytes:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        for name, value in (_post_headers() if body else _get_headers()).items():
            head += f"{name}: {value}\r\n"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        return head.encode() + b"\r\n" + body

    def call(self, scenario: str) -> Call:
        raw, expected = {
            "get": (self._request("GET", _GET_PATH), payloads.THREAD_BYTES),
            "list": (self._request("POST", "/v2/sessions/query", payloads.LIST_REQUEST_BYTES), payloads.PAGE_BYTES),
            "create": (self._request("POST", "/v2/sessions", payloads.CREATE_BYTES), payloads.THREAD_BYTES),
        }[scenario]

        async def one() -> bool:
            conn = self.idle.pop() if self.idle else await self._connect()
            body = await conn.request(raw)
            self.idle.append(conn)
            return body == expected

        return one

    async def _connect(self) -> _RawConnection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_RawConnection, self.host, self.port)
        self.all.append(conn)
        return conn

    async def close(self) -> None:
        for conn in self.all:
            if conn.transport is not None:
                conn.transport.close()
        self.all.clear()
        self.idle.clear()
        await asyncio.sleep(0)


# --- raw aiohttp: the floor sessionkit is measured against ---------------------------------------


def _aiohttp_session() -> tuple[Any, Any]:
    """An `aiohttp.ClientSession` with the pool a default `OrqCore` builds, and its per-request timeout."""
    import aiohttp

    from sessionkit.orq import OrqCore

    # The same pool and per-request timeout sessionkit builds, read from a default core; no
    # User-Agent of aiohttp's own (the core's is in the headers every request carries).
    defaults = OrqCore(api_key=API_KEY)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=defaults.max_connections, limit_per_host=defaults.max_connections_per_host, ttl_dns_cache=300
        ),
        timeout=aiohttp.ClientTimeout(total=None),
        skip_auto_headers=("User-Agent",),
    )
    return session, aiohttp.ClientTimeout(total=defaults.timeout.attempt, connect=defaults.timeout.connect)


class RawAiohttp(Client):
    """aiohttp with sessionkit's connector, timeout and headers, `json.loads`, and nothing else."""

    name = "raw aiohttp"
    description = "aiohttp.ClientSession with BaseCore's TCPConnector settings and headers + json.loads"

    async def open(self, url: str) -> None:
        self.url = url
        self.session, self.timeout = _aiohttp_session()

    def call(self, scenario: str) -> Call:
        session, timeout, url = self.session, self.timeout, self.url

        if scenario == "get":
            get_headers = _get_headers()

            async def get() -> bool:
                async with session.get(url + _GET_PATH, headers=get_headers, timeout=timeout) as resp:
                    data = json.loads(await resp.read())
                return resp.status == 200 and _check_thread(data["_id"])

            return get

        path, body_of = _post_target(scenario)
        post_headers = _post_headers()

        async def post() -> bool:
            body = json.dumps(body_of(), separators=(",", ":")).encode()
            async with session.post(url + path, data=body, headers=post_headers, timeout=timeout) as resp:
                data = json.loads(await resp.read())
            return resp.status == 200 and _check_json(scenario, data)

        return post

    async def close(self) -> None:
        await self.session.close()


def _post_target(scenario: str) -> tuple[str, Callable[[], dict[str, Any]]]:
    if scenario == "list":
        return "/v2/sessions/query", lambda: {"filters": dict(payloads.LIST_FILTERS), "limit": payloads.PAGE_SIZE}
    return "/v2/sessions", payloads.create_body


def _check_json(scenario: str, data: Any) -> bool:
    if scenario == "list":
        return _check_page([t["_id"] for t in data["data"]], data["has_more"])
    return _check_thread(data["_id"])


# --- the requests both typed clients build per call, from the same inputs -------------------------


def _create_kwargs() -> dict[str, Any]:
    """The create body as Python values (datetimes parsed), as a caller of either SDK holds it."""
    body = payloads.create_body()
    for key in ("started_at", "updated_at"):
        body[key] = datetime.fromisoformat(body[key].replace("Z", "+00:00"))
    return body


def get_request() -> GetSessionRequest:
    return GetSessionRequest(session_id=payloads.SESSION_ID)


def list_request() -> ListThreadsRequest:
    return ListThreadsRequest(filters=ThreadFilters(**payloads.LIST_FILTERS), limit=payloads.PAGE_SIZE)


def create_request() -> CreateThreadRequest:
    kwargs = _create_kwargs()
    kwargs["billing"] = ThreadBilling(**kwargs["billing"])
    kwargs["usage"] = ThreadUsage(**kwargs["usage"])
    return CreateThreadRequest(**kwargs)


# --- hand-written typed: the floor of any typed client in pure Python ------------------------------
#
# The same attrs models sessionkit returns, built and serialised by hand for exactly this API: no
# type checks, no unknown-field handling, no error mapping, no retries. What is left is the work no
# typed client can skip: reading each field into a model, the nested models, the datetimes and the
# enum, and on the way out the wire names and the omitted unset fields.

if sys.version_info >= (3, 11):
    _parse_datetime = datetime.fromisoformat  # reads "Z" and any fraction itself
else:  # pragma: no cover - Python 3.10

    def _parse_datetime(text: str) -> datetime:
        return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def _format_datetime(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# Known kinds by a dict lookup; only an unknown one goes through the (open) enum's call, which
# costs several times more. Any hand-written client that cares about speed does the same.
_KINDS: dict[str, ThreadKind] = {member.value: member for member in ThreadKind}


def hand_thread(d: dict[str, Any]) -> Thread:
    """One wire Thread as `sessionkit.orq.Thread`, by hand."""
    started_at, updated_at, kind = d.get("started_at"), d.get("updated_at"), d.get("kind")
    return Thread(
        id=d["_id"],
        external_id=d["external_id"],
        duration=d["duration"],
        contact_ids=d["contact_ids"],
        billing=ThreadBilling(**d["billing"]),
        usage=ThreadUsage(**d["usage"]),
        traces_count=d["traces_count"],
        tags=d["tags"],
        project_id=d.get("project_id"),
        started_at=None if started_at is None else _parse_datetime(started_at),
        updated_at=None if updated_at is None else _parse_datetime(updated_at),
        title=d.get("title"),
        client=d.get("client"),
        repo=d.get("repo"),
        kind=None if kind is None else _KINDS.get(kind) or ThreadKind(kind),
    )


def hand_page(d: dict[str, Any]) -> ListThreadsResponse:
    """One wire list page as `sessionkit.orq.ListThreadsResponse`, by hand."""
    return ListThreadsResponse(object=d["object"], data=[hand_thread(t) for t in d["data"]], has_more=d["has_more"])


def hand_list_body(request: ListThreadsRequest) -> dict[str, Any]:
    """A list request as its JSON body (unset fields omitted, as sessionkit omits them)."""
    f = request.filters
    filters: dict[str, Any] = {"interval": f.interval}  # a str enum: json writes its value
    if f.project_id is not None:
        filters["project_id"] = f.project_id
    if f.tags is not None:
        filters["tags"] = f.tags
    if f.start_date is not None:
        filters["start_date"] = f.start_date
    if f.end_date is not None:
        filters["end_date"] = f.end_date
    if f.client is not None:
        filters["client"] = f.client
    if f.repo is not None:
        filters["repo"] = f.repo
    if f.kind is not None:
        filters["kind"] = f.kind
    body: dict[str, Any] = {"filters": filters}
    if request.limit is not None:
        body["limit"] = request.limit
    if request.page is not None:
        body["page"] = request.page
    return body


def hand_create_body(request: CreateThreadRequest) -> dict[str, Any]:
    """A create request as its JSON body (unset fields omitted, datetimes as ISO 8601 with "Z")."""
    billing, usage = request.billing, request.usage
    body: dict[str, Any] = {
        "external_id": request.external_id,
        "duration": request.duration,
        "contact_ids": request.contact_ids,
        "billing": {
            "input_cost": billing.input_cost,
            "output_cost": billing.output_cost,
            "total_cost": billing.total_cost,
        },
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        },
        "traces_count": request.traces_count,
        "tags": request.tags,
    }
    if request.project_id is not None:
        body["project_id"] = request.project_id
    if request.started_at is not None:
        body["started_at"] = _format_datetime(request.started_at)
    if request.updated_at is not None:
        body["updated_at"] = _format_datetime(request.updated_at)
    if request.title is not None:
        body["title"] = request.title
    if request.client is not None:
        body["client"] = request.client
    if request.repo is not None:
        body["repo"] = request.repo
    if request.kind is not None:
        body["kind"] = request.kind
    return body


def hand_dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


class HandTyped(Client):
    """Raw aiohttp + sessionkit's attrs models built and serialised by hand, with no checks."""

    name = "hand-written typed"
    description = (
        "raw aiohttp (same pool, timeout and headers) + the sessionkit.orq attrs models built and "
        "serialised by hand for this API, no checks; json.dumps / json.loads"
    )

    async def open(self, url: str) -> None:
        self.url = url
        self.session, self.timeout = _aiohttp_session()

    def call(self, scenario: str) -> Call:
        session, timeout, url = self.session, self.timeout, self.url
        get_headers, post_headers = _get_headers(), _post_headers()

        if scenario == "get":

            async def get() -> bool:
                request = get_request()
                target = url + "/v2/sessions/" + request.session_id
                async with session.get(target, headers=get_headers, timeout=timeout) as resp:
                    if resp.status != 200:
                        return False
                    data = json.loads(await resp.read())
                return _check_thread(hand_thread(data).id)

            return get

        if scenario == "list":

            async def list_page() -> bool:
                body = hand_dumps(hand_list_body(list_request()))
                async with session.post(
                    url + "/v2/sessions/query", data=body, headers=post_headers, timeout=timeout
                ) as resp:
                    if resp.status != 200:
                        return False
                    data = json.loads(await resp.read())
                page = hand_page(data)
                return _check_page([t.id for t in page.data], page.has_more)

            return list_page

        async def create() -> bool:
            body = hand_dumps(hand_create_body(create_request()))
            async with session.post(url + "/v2/sessions", data=body, headers=post_headers, timeout=timeout) as resp:
                if resp.status != 200:
                    return False
                data = json.loads(await resp.read())
            return _check_thread(hand_thread(data).id)

        return create

    async def close(self) -> None:
        await self.session.close()


# --- raw httpx --------------------------------------------------------------------------------------


def _httpx_client(**kwargs: Any) -> Any:
    import httpx

    # Keep-alive for every connection a concurrency-64 run opens (httpx keeps only 20 by default).
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    return httpx.AsyncClient(limits=limits, timeout=60.0, **kwargs)


class RawHttpx(Client):
    """`httpx.AsyncClient` + `json.loads`."""

    name = "raw httpx"
    description = "httpx.AsyncClient (100 keep-alive connections, sessionkit's headers) + json.loads"
    slow = True

    async def open(self, url: str) -> None:
        self.url = url
        self.client = _httpx_client()

    def call(self, scenario: str) -> Call:
        client, url = self.client, self.url

        if scenario == "get":
            get_headers = _get_headers()

            async def get() -> bool:
                resp = await client.get(url + _GET_PATH, headers=get_headers)
                return resp.status_code == 200 and _check_thread(json.loads(resp.content)["_id"])

            return get

        path, body_of = _post_target(scenario)
        post_headers = _post_headers()

        async def post() -> bool:
            body = json.dumps(body_of(), separators=(",", ":")).encode()
            resp = await client.post(url + path, content=body, headers=post_headers)
            return resp.status_code == 200 and _check_json(scenario, json.loads(resp.content))

        return post

    async def close(self) -> None:
        await self.client.aclose()


# --- the official Orq SDK -------------------------------------------------------------------------


class OrqSDK(Client):
    """`orq_ai_sdk.Orq(...).sessions.get_async / list_async / create_async` (pydantic models)."""

    name = "orq-ai-sdk"
    description = "orq_ai_sdk.Orq sessions.*_async over an httpx.AsyncClient with 100 keep-alive connections"
    slow = True

    async def open(self, url: str) -> None:
        from orq_ai_sdk import Orq

        self.http = _httpx_client(follow_redirects=True)
        self.sdk = Orq(api_key=API_KEY, server_url=url, async_client=self.http)

    def call(self, scenario: str) -> Call:
        sessions = self.sdk.sessions

        if scenario == "get":

            async def get() -> bool:
                thread = await sessions.get_async(session_id=payloads.SESSION_ID)
                return _check_thread(thread.id)

            return get

        if scenario == "list":

            async def list_page() -> bool:
                filters: Any = dict(payloads.LIST_FILTERS)  # the SDK's TypedDict form
                page = await sessions.list_async(filters=filters, limit=payloads.PAGE_SIZE)
                return _check_page([t.id for t in page.data], page.has_more)

            return list_page

        async def create() -> bool:
            thread = await sessions.create_async(**_create_kwargs())
            return _check_thread(thread.id)

        return create

    async def close(self) -> None:
        await self.http.aclose()


# --- sessionkit -------------------------------------------------------------------------------------


class Sessionkit(Client):
    """`sessionkit.orq`: `sessions_get / sessions_list / sessions_create` on an `OrqCore`, with the
    standard library's JSON (selected before each run; an older sessionkit has only that)."""

    name = "sessionkit"
    description = "sessionkit.orq sessions_* on an OrqCore (default pool, retries, timeouts), standard-library json"
    backend = "json"

    def activate(self) -> None:
        use_json_backend(self.backend)

    async def open(self, url: str) -> None:
        from sessionkit.orq import OrqCore

        self.core = OrqCore(api_key=API_KEY, server_url=url)

    def call(self, scenario: str) -> Call:
        from sessionkit.orq import sessions_create, sessions_get, sessions_list

        core = self.core

        if scenario == "get":

            async def get() -> bool:
                result = await sessions_get(core, get_request())
                return result.is_ok() and _check_thread(result.unwrap().id)

            return get

        if scenario == "list":

            async def list_page() -> bool:
                result = await sessions_list(core, list_request())
                if not result.is_ok():
                    return False
                page = result.unwrap()
                return _check_page([t.id for t in page.data], page.has_more)

            return list_page

        async def create() -> bool:
            result = await sessions_create(core, create_request())
            return result.is_ok() and _check_thread(result.unwrap().id)

        return create

    async def close(self) -> None:
        await self.core.aclose()


class SessionkitOrjson(Sessionkit):
    """The same sessionkit calls with `sessionkit._json.use("orjson")` (`sessionkit[fast]`)."""

    name = "sessionkit[orjson]"
    description = "the sessionkit client with sessionkit._json.use('orjson') (needs orjson and sessionkit._json)"
    backend = "orjson"

    @classmethod
    def available(cls) -> bool:
        return orjson_available() and json_module() is not None


# Order matters only for the tables: the ceiling, the floors, sessionkit, then the rest.
ALL_CLIENTS: tuple[type[Client], ...] = (
    ServerCeiling,
    RawAiohttp,
    HandTyped,
    Sessionkit,
    SessionkitOrjson,
    RawHttpx,
    OrqSDK,
)
# The clients that can run here: sessionkit[orjson] needs orjson and a sessionkit with `_json`.
CLIENTS: tuple[type[Client], ...] = tuple(cls for cls in ALL_CLIENTS if cls.available())
