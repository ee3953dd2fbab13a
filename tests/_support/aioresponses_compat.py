"""Make aioresponses 0.7.9 build responses under aiohttp >= 3.13.

aiohttp made `stream_writer` a required argument of `ClientResponse.__init__`
(pnuckowski/aioresponses#289); aioresponses does not pass it. A mocked response has already been
"sent", so a writer that reports zero bytes written is all aiohttp needs from it.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

import aiohttp
import aioresponses.core


class CompatClientResponse(aiohttp.ClientResponse):
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


def install() -> None:
    if "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters:
        aioresponses.core.ClientResponse = CompatClientResponse  # type: ignore[misc]
