"""The clients under test, each behind the same tiny interface.

A client opens against a server URL, gives one `call(scenario)` coroutine function per scenario
that sends one request and returns whether the answer was correct, and closes. Every client sends
the same requests (same paths, headers and JSON bodies) to the same server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from . import payloads

SCENARIOS = ("get", "list", "create")
API_KEY = "bench-key"
Call = Callable[[], Awaitable[bool]]

_GET_PATH = f"/v2/sessions/{payloads.SESSION_ID}"
_JSON_HEADERS = {"Accept": "application/json", "Authorization": f"Bearer {API_KEY}"}
_POST_HEADERS = {**_JSON_HEADERS, "Content-Type": "application/json"}


def _check_thread(thread_id: Any) -> bool:
    return thread_id == payloads.SESSION_ID


def _check_page(ids: list[Any], has_more: Any) -> bool:
    return len(ids) == payloads.PAGE_SIZE and ids[0] == payloads.SESSION_ID and has_more is False


class Client:
    """Base of every client: `name`, `open`, `call`, `close`."""

    name = "?"
    description = ""

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
        for name, value in (_POST_HEADERS if body else _JSON_HEADERS).items():
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


class RawAiohttp(Client):
    """aiohttp with sessionkit's connector and timeout settings, `json.loads`, and nothing else."""

    name = "raw aiohttp"
    description = "aiohttp.ClientSession with BaseCore's TCPConnector settings + json.loads"

    async def open(self, url: str) -> None:
        import aiohttp

        from sessionkit.orq import OrqCore

        # The same pool and per-request timeout sessionkit builds, read from a default core.
        defaults = OrqCore(api_key=API_KEY)
        self.url = url
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=defaults.max_connections, limit_per_host=defaults.max_connections_per_host, ttl_dns_cache=300
            ),
            timeout=aiohttp.ClientTimeout(total=None),
            skip_auto_headers=("User-Agent",),
        )
        self.timeout = aiohttp.ClientTimeout(total=defaults.timeout.attempt, connect=defaults.timeout.connect)

    def call(self, scenario: str) -> Call:
        session, timeout, url = self.session, self.timeout, self.url

        if scenario == "get":

            async def get() -> bool:
                async with session.get(url + _GET_PATH, headers=_JSON_HEADERS, timeout=timeout) as resp:
                    data = json.loads(await resp.read())
                return resp.status == 200 and _check_thread(data["_id"])

            return get

        path, body_of = _post_target(scenario)

        async def post() -> bool:
            body = json.dumps(body_of(), separators=(",", ":")).encode()
            async with session.post(url + path, data=body, headers=_POST_HEADERS, timeout=timeout) as resp:
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


# --- raw httpx --------------------------------------------------------------------------------------


def _httpx_client(**kwargs: Any) -> Any:
    import httpx

    # Keep-alive for every connection a concurrency-64 run opens (httpx keeps only 20 by default).
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    return httpx.AsyncClient(limits=limits, timeout=60.0, **kwargs)


class RawHttpx(Client):
    """`httpx.AsyncClient` + `json.loads`."""

    name = "raw httpx"
    description = "httpx.AsyncClient (100 keep-alive connections) + json.loads"

    async def open(self, url: str) -> None:
        self.url = url
        self.client = _httpx_client()

    def call(self, scenario: str) -> Call:
        client, url = self.client, self.url

        if scenario == "get":

            async def get() -> bool:
                resp = await client.get(url + _GET_PATH, headers=_JSON_HEADERS)
                return resp.status_code == 200 and _check_thread(json.loads(resp.content)["_id"])

            return get

        path, body_of = _post_target(scenario)

        async def post() -> bool:
            body = json.dumps(body_of(), separators=(",", ":")).encode()
            resp = await client.post(url + path, content=body, headers=_POST_HEADERS)
            return resp.status_code == 200 and _check_json(scenario, json.loads(resp.content))

        return post

    async def close(self) -> None:
        await self.client.aclose()


# --- the official Orq SDK -------------------------------------------------------------------------


def _create_kwargs() -> dict[str, Any]:
    """The create body as Python values (datetimes parsed), as a caller of either SDK holds it."""
    body = payloads.create_body()
    for key in ("started_at", "updated_at"):
        body[key] = datetime.fromisoformat(body[key].replace("Z", "+00:00"))
    return body


class OrqSDK(Client):
    """`orq_ai_sdk.Orq(...).sessions.get_async / list_async / create_async` (pydantic models)."""

    name = "orq-ai-sdk"
    description = "orq_ai_sdk.Orq sessions.*_async over an httpx.AsyncClient with 100 keep-alive connections"

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
    """`sessionkit.orq`: `sessions_get / sessions_list / sessions_create` on an `OrqCore`."""

    name = "sessionkit"
    description = "sessionkit.orq sessions_* on an OrqCore (default pool, retries, timeouts)"

    async def open(self, url: str) -> None:
        from sessionkit.orq import OrqCore

        self.core = OrqCore(api_key=API_KEY, server_url=url)

    def call(self, scenario: str) -> Call:
        from sessionkit.orq import (
            CreateThreadRequest,
            GetSessionRequest,
            ListThreadsRequest,
            ThreadBilling,
            ThreadFilters,
            ThreadUsage,
            sessions_create,
            sessions_get,
            sessions_list,
        )

        core = self.core

        if scenario == "get":

            async def get() -> bool:
                result = await sessions_get(core, GetSessionRequest(session_id=payloads.SESSION_ID))
                return result.is_ok() and _check_thread(result.unwrap().id)

            return get

        if scenario == "list":

            async def list_page() -> bool:
                request = ListThreadsRequest(filters=ThreadFilters(**payloads.LIST_FILTERS), limit=payloads.PAGE_SIZE)
                result = await sessions_list(core, request)
                if not result.is_ok():
                    return False
                page = result.unwrap()
                return _check_page([t.id for t in page.data], page.has_more)

            return list_page

        async def create() -> bool:
            kwargs = _create_kwargs()
            kwargs["billing"] = ThreadBilling(**kwargs["billing"])
            kwargs["usage"] = ThreadUsage(**kwargs["usage"])
            result = await sessions_create(core, CreateThreadRequest(**kwargs))
            return result.is_ok() and _check_thread(result.unwrap().id)

        return create

    async def close(self) -> None:
        await self.core.aclose()


# Order matters only for the table: the ceiling first, then the floor, then the rest.
CLIENTS: tuple[type[Client], ...] = (ServerCeiling, RawAiohttp, Sessionkit, RawHttpx, OrqSDK)
