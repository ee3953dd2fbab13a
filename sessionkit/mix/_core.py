"""`MixCore`: a client core for a local Mix backend (no authentication)."""

from __future__ import annotations

from typing_extensions import Unpack

from .._core import BaseCore, CoreOptions
from .errors import mix_error_class


class MixCore(BaseCore):
    """A Mix REST API client core. Mix has no API auth: it is a local desktop backend."""

    service = "mix"
    default_server_url = "http://localhost:8088"

    def __init__(self, server_url: str | None = None, **options: Unpack[CoreOptions]) -> None:
        super().__init__(server_url=server_url, **options)

    # The body decides: the server sends a RESTError even for statuses the spec does not declare.
    error_classifier = mix_error_class
