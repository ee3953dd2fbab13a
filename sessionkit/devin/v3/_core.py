"""`DevinCore` (v3): a `cog_` bearer key, and the organisation every path is scoped to."""

from __future__ import annotations

from urllib.parse import quote

from typing_extensions import Unpack

from ..._config import CoreArgument
from ..._core import BaseCore, CoreOptions, env
from ...errors import status_table
from .errors import DEVIN_V3_ERRORS

__all__ = ["DevinCore"]


def _segment(value: str) -> str:
    encoded = quote(value, safe="")
    return encoded if encoded.strip(".") else encoded.replace(".", "%2E")


def _checked_org_id(value: str | None, where: str) -> str | None:
    """`value` if it can name an organisation in a URL; `ValueError` naming `where` otherwise."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"{where} must be a string, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where} is not valid Unicode (it holds a lone surrogate or an undecodable byte)") from None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError(f"{where} must not hold control characters")
    return value


class DevinCore(BaseCore):
    """A Devin v3 client core for one organisation.

    `api_key` (a `cog_` service-user key or personal access token) falls back to `DEVIN_API_KEY`,
    `org_id` (`org-...`) to `DEVIN_ORG_ID`; an org id that cannot be sent (a lone surrogate, an
    undecodable byte, a control character) is a `ValueError` here. The operations declare their paths relative to the
    organisation (`/sessions/{devin_id}`); the pipeline puts them under `path_prefix`,
    `/v3/organizations/{org_id}`, so `server_url` stays the API's root (and a per-call
    `RequestOptions.server_url` keeps the scope). Without an org id the prefix is the short form
    `/v3/organizations`, which Devin's teams quickstart documents for a key of a single organisation
    (for operations other than create: UNCONFIRMED).
    """

    service = "devin_v3"
    credential = CoreArgument("api_key", "DEVIN_API_KEY", "API key (cog_...)", required=True)
    identities = (CoreArgument("org_id", "DEVIN_ORG_ID", "organisation id (org-...)"),)
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
        org_env = self.identities[0].env
        self.org_id: str | None = _checked_org_id(org_id, "org_id") or _checked_org_id(env(org_env), org_env)
        prefix = "/v3/organizations" + (f"/{_segment(self.org_id)}" if self.org_id else "")
        super().__init__(server_url=server_url, credential=api_key, path_prefix=prefix, **options)

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._credential}"} if self._credential else {}

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, org_id={self.org_id!r})"
