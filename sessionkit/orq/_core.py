"""`OrqCore`: bearer-key auth for Orq."""

from __future__ import annotations

from typing_extensions import Unpack

from .._config import CoreArgument
from .._core import BaseCore, CoreOptions
from ..errors import status_table
from .errors import ORQ_ERRORS


class OrqCore(BaseCore):
    """An Orq client core. `api_key` falls back to the `ORQ_API_KEY` environment variable."""

    service = "orq"
    credential = CoreArgument("api_key", "ORQ_API_KEY", "API key", required=True)
    error_classifier = status_table(ORQ_ERRORS)
    default_server_url = "https://my.orq.ai"

    def __init__(
        self, api_key: str | None = None, *, server_url: str | None = None, **options: Unpack[CoreOptions]
    ) -> None:
        super().__init__(server_url=server_url, credential=api_key, **options)

    def auth_headers(self) -> dict[str, str]:
        key = self._credential
        if not key:
            return {}
        # As the official SDKs do: a key that already carries the scheme is sent as it is.
        return {"Authorization": key if key.lower().startswith("bearer ") else f"Bearer {key}"}
