"""`DevinCore` (v3): a `cog_` bearer key, and the organisation every path is scoped to."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote

import attrs
from typing_extensions import Unpack

from ..._core import BaseCore, CoreOptions, env
from ..._pipeline import Operation, RequestOptions
from ...errors import SessionkitError, status_table
from ...result import Result
from .errors import DEVIN_V3_ERRORS

__all__ = ["DevinCore"]

T = TypeVar("T")


def _segment(value: str) -> str:
    encoded = quote(value, safe="")
    return encoded if encoded.strip(".") else encoded.replace(".", "%2E")


class DevinCore(BaseCore):
    """A Devin v3 client core for one organisation.

    `api_key` (a `cog_` service-user key or personal access token) falls back to `DEVIN_API_KEY`,
    `org_id` (`org-...`) to `DEVIN_ORG_ID`. The operations declare their paths relative to the
    organisation (`/sessions/{devin_id}`); `send` puts them under `path_prefix`,
    `/v3/organizations/{org_id}`, so `server_url` stays the API's root (and a per-call
    `RequestOptions.server_url` keeps the scope). Without an org id the prefix is the short form
    `/v3/organizations`, which Devin's teams quickstart documents for a key of a single organisation
    (for operations other than create: UNCONFIRMED).
    """

    service = "devin_v3"
    credential_env = "DEVIN_API_KEY"
    error_classifier = status_table(DEVIN_V3_ERRORS)
    default_server_url = "https://api.devin.ai"

    def __init__(
        self,
        api_key: str | None = None,
        org_id: str | None = None,
        *,
        server_url: str | None = None,
        **options: Unpack[CoreOptions],
    ) -> None:
        self.org_id: str | None = org_id or env("DEVIN_ORG_ID")
        self.path_prefix = "/v3/organizations" + (f"/{_segment(self.org_id)}" if self.org_id else "")
        self._scoped: dict[Operation[Any, Any], Operation[Any, Any]] = {}
        super().__init__(server_url=server_url, credential=api_key, **options)

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._credential}"} if self._credential else {}

    def scoped(self, op: Operation[Any, T]) -> Operation[Any, T]:
        """`op` with its path under this core's `path_prefix` (built once per operation)."""
        found = self._scoped.get(op)
        if found is None:
            found = self._scoped[op] = attrs.evolve(op, path=self.path_prefix + op.path)
        return found

    async def send(
        self, op: Operation[Any, T], request: Any = None, options: RequestOptions | None = None
    ) -> Result[T, SessionkitError]:
        """Run one operation, scoped to the organisation, through the shared pipeline."""
        return await super().send(self.scoped(op), request, options)

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, org_id={self.org_id!r})"
