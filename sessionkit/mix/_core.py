"""`MixCore`: a client core for a local Mix backend (no authentication)."""

from __future__ import annotations

from typing import Any

from typing_extensions import Unpack

from .._core import BaseCore, CoreOptions
from .._pipeline import Operation
from ..errors import APIError
from .errors import mix_error_class


class MixCore(BaseCore):
    """A Mix REST API client core. Mix has no API auth: it is a local desktop backend."""

    service = "mix"
    default_server_url = "http://localhost:8088"

    def __init__(self, server_url: str | None = None, **options: Unpack[CoreOptions]) -> None:
        super().__init__(server_url=server_url, **options)

    def error_class(self, op: Operation[Any, Any], status: int, body: Any) -> type[APIError]:
        # The body decides: the server sends a RESTError even for statuses the spec does not declare.
        return mix_error_class(status, body)
