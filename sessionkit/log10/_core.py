"""`Log10Core`: token auth and the organization header for Log10."""

from __future__ import annotations

from typing_extensions import Unpack

from .._core import BaseCore, CoreOptions, env

ORGANIZATION_HEADER = "X-Log10-Organization"


class Log10Core(BaseCore):
    """A Log10 client core.

    `token` falls back to `LOG10_TOKEN` and `organization` to `LOG10_ORG_ID`. Without an
    organization the `X-Log10-Organization` header is left out (never sent empty).
    """

    service = "log10"
    default_server_url = "https://log10.io"

    def __init__(
        self,
        token: str | None = None,
        organization: str | None = None,
        *,
        server_url: str | None = None,
        **options: Unpack[CoreOptions],
    ) -> None:
        self._token = token if token is not None else env("LOG10_TOKEN")
        self.organization = organization or env("LOG10_ORG_ID")
        if self.organization:
            options["headers"] = {ORGANIZATION_HEADER: self.organization, **(options.get("headers") or {})}
        super().__init__(server_url=server_url, **options)

    def auth_headers(self) -> dict[str, str]:
        return {"X-Log10-Token": self._token} if self._token else {}
