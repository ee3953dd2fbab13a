"""`JupyterCore`: token auth for a Jupyter Server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from typing_extensions import Unpack

from .._core import BaseCore, CoreOptions
from ..errors import status_table
from .errors import JUPYTER_ERRORS


class JupyterCore(BaseCore):
    """A Jupyter Server client core. `token` falls back to the `JUPYTER_TOKEN` environment variable."""

    service = "jupyter"
    credential_env = "JUPYTER_TOKEN"
    error_classifier = status_table(JUPYTER_ERRORS)
    default_server_url = "http://localhost:8888"
    # Jupyter answers a missing or wrong token with 403 (never 401): say so where it shows.
    status_hints: ClassVar[Mapping[int, str]] = {
        403: "Jupyter answers 403 to a missing or wrong token: check token= or JUPYTER_TOKEN"
    }

    def __init__(self, server_url: str | None = None, token: str | None = None, **options: Unpack[CoreOptions]) -> None:
        super().__init__(server_url=server_url, credential=token, **options)

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self._credential}"} if self._credential else {}
