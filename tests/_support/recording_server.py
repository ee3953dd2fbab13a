"""A loopback HTTP server that records every request and answers from a programmable route table.

    async with RecordingServer() as server:
        server.reply("GET", "/v2/sessions/s1", 200, {"_id": "s1", ...})
        ...call something with server.url...
        (request,) = server.requests

Routes match on the method and the raw (still percent-encoded) path, without the query. Replies
given twice for one route are served in order, and the last one keeps being served. A request with
no route gets `404 {"message": "no route"}`.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import attrs
from aiohttp import web
from multidict import CIMultiDict

__all__ = ["RecordedRequest", "RecordingServer", "Reply"]


@attrs.frozen
class Reply:
    """One programmed answer: `json_body`, else `text` (as `content_type`), else no body (as for 204)."""

    status: int = 200
    json_body: Any = None
    headers: dict[str, str] = attrs.Factory(dict)
    text: str | None = None
    content_type: str = "text/plain"


@attrs.frozen
class RecordedRequest:
    """What one request carried on the wire."""

    method: str
    path: str
    query: str  # raw, without the "?"
    headers: CIMultiDict[str]
    body: bytes

    @property
    def json(self) -> Any:
        """The parsed JSON body, or None when there was no body."""
        return json.loads(self.body) if self.body else None


class RecordingServer:
    """An aiohttp.web server on 127.0.0.1 with a free port."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: dict[tuple[str, str], deque[Reply]] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    def reply(
        self,
        method: str,
        path: str,
        status: int = 200,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        text: str | None = None,
        content_type: str = "text/plain",
    ) -> None:
        """Queue an answer for `method path` (the raw, percent-encoded path)."""
        answer = Reply(status, json_body, headers or {}, text, content_type)
        self._routes.setdefault((method.upper(), path), deque()).append(answer)

    def clear(self) -> None:
        """Forget recorded requests and routes."""
        self.requests.clear()
        self._routes.clear()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path, _, query = request.raw_path.partition("?")  # both still percent-encoded, as sent
        body = await request.read()
        self.requests.append(RecordedRequest(request.method, path, query, CIMultiDict(request.headers), body))
        queue = self._routes.get((request.method, path))
        if not queue:
            return web.json_response({"message": "no route"}, status=404)
        answer = queue.popleft() if len(queue) > 1 else queue[0]
        if answer.json_body is None and answer.text is not None:
            return web.Response(
                status=answer.status, headers=answer.headers, text=answer.text, content_type=answer.content_type
            )
        if answer.json_body is None:
            return web.Response(status=answer.status, headers=answer.headers)
        return web.json_response(answer.json_body, status=answer.status, headers=answer.headers)

    async def start(self) -> RecordingServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> RecordingServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
