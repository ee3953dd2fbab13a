"""`FakeLog10`: an in-process imitation of Log10's `POST /api/v1/sessions`.

It answers 201 `{"session": {"id": "<uuid>"}}` to a request carrying `X-Log10-Token: <token>` (sent raw,
no prefix), and 401 `{"message": "Unauthorized"}` otherwise. Any body (or none) is accepted, as is an
absent or empty `X-Log10-Organization`; when `organization` is set, a different non-empty one is a 403.

    from sessionkit.testing import FakeLog10

    async with FakeLog10(token="t", organization="org") as fake:
        ...
        assert fake.sessions.get(new_id)["organization"] == "org"
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from ._server import FakeServer, SessionStore, json_response

__all__ = ["FakeLog10"]


class FakeLog10(FakeServer):
    """Log10 sessions. `token` is the only `X-Log10-Token` accepted; `rate_limit`: see `set_rate_limit`."""

    def __init__(
        self,
        token: str = "fake-log10-token",
        *,
        organization: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: float | None = None,
    ) -> None:
        self.token = token
        self.organization = organization
        super().__init__(host=host, port=port, rate_limit=rate_limit)

    def _clear_state(self) -> None:
        self.sessions = SessionStore("id")
        """Created sessions: `{id, organization, created_at}` (organization as sent, or None)."""

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/v1/sessions", self._create)

    def _authorize(self, request: web.Request) -> web.StreamResponse | None:
        token = request.headers.get("X-Log10-Token", "")
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return self._error_response(401, "Unauthorized")
        org = request.headers.get("X-Log10-Organization", "")
        if self.organization is not None and org and org != self.organization:
            return self._error_response(403, "Forbidden")
        return None

    async def _create(self, request: web.Request) -> web.StreamResponse:
        doc: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "organization": request.headers.get("X-Log10-Organization") or None,
            "created_at": datetime.now(timezone.utc).isoformat(),
        }
        self.sessions.put(doc)
        return json_response({"session": {"id": doc["id"]}}, 201)
