"""`DevinCore`: bearer-key auth for the Devin API."""

from __future__ import annotations

from typing_extensions import Unpack

from .._config import CoreArgument
from .._core import BaseCore, CoreOptions
from ..errors import status_table
from .errors import DEVIN_ERRORS


class DevinCore(BaseCore):
    """A Devin API client core. `api_key` falls back to the `DEVIN_API_KEY` environment variable."""

    service = "devin"
    credential = CoreArgument("api_key", "DEVIN_API_KEY", "API key", required=True)
    error_classifier = status_table(DEVIN_ERRORS)
    default_server_url = "https://api.devin.ai"

    def __init__(
        self, api_key: str | None = None, *, server_url: str | None = None, **options: Unpack[CoreOptions]
    ) -> None:
        super().__init__(server_url=server_url, credential=api_key, **options)

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._credential}"} if self._credential else {}
