"""`Log10Core`: token auth and the organization header for Log10."""

from __future__ import annotations

from typing_extensions import Unpack

from .._config import CoreArgument
from .._core import BaseCore, CoreOptions, env

ORGANIZATION_HEADER = "X-Log10-Organization"


class Log10Core(BaseCore):
    """A Log10 client core.

    `token` falls back to `LOG10_TOKEN` and `organization` to `LOG10_ORG_ID`. Without an
    organization the `X-Log10-Organization` header is left out (never sent empty).
    """

    service = "log10"
    credential = CoreArgument("token", "LOG10_TOKEN", "X-Log10-Token", required=True)
    identities = (CoreArgument("organization", "LOG10_ORG_ID", "X-Log10-Organization"),)
    credential_header = "X-Log10-Token"
    default_server_url = "https://log10.io"

    def __init__(
        self,
        token: str | None = None,
        organization: str | None = None,
        *,
        server_url: str | None = None,
        **options: Unpack[CoreOptions],
    ) -> None:
        self.organization = organization or env(self.identities[0].env)
        if self.organization:
            options["headers"] = {ORGANIZATION_HEADER: self.organization, **(options.get("headers") or {})}
        super().__init__(server_url=server_url, credential=token, **options)

    def auth_headers(self) -> dict[str, str]:
        return {"X-Log10-Token": self._credential} if self._credential else {}
