"""`JupyterCore`: token auth for a Jupyter Server, and the kernel channels its executions share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from typing_extensions import Unpack

from .._config import CoreArgument
from .._core import BaseCore, CoreOptions
from ..errors import status_table
from ._channels import KernelChannels
from .errors import JUPYTER_ERRORS


class JupyterCore(BaseCore):
    """A Jupyter Server client core. `token` falls back to the `JUPYTER_TOKEN` environment variable.

    Code run with `kernels_execute` goes over one WebSocket per kernel, kept open for the next
    executions on that kernel and closed with the core (`aclose`, or leaving `async with`).
    """

    service = "jupyter"
    credential = CoreArgument("token", "JUPYTER_TOKEN", "server token")  # a server may run without one
    error_classifier = status_table(JUPYTER_ERRORS)
    default_server_url = "http://localhost:8888"
    # Jupyter answers a missing or wrong token with 403 (never 401): say so where it shows.
    status_hints: ClassVar[Mapping[int, str]] = {
        403: "Jupyter answers 403 to a missing or wrong token: check token= or JUPYTER_TOKEN"
    }

    def __init__(self, server_url: str | None = None, token: str | None = None, **options: Unpack[CoreOptions]) -> None:
        super().__init__(server_url=server_url, credential=token, **options)
        self._channels: KernelChannels | None = None

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self._credential}"} if self._credential else {}

    def kernel_channels(self) -> KernelChannels | str:
        """The kernel channels of the running loop's pool (made on first use), or why there are none."""
        handle = self.handle()
        if isinstance(handle, str):
            return handle
        channels = self._channels
        if channels is None or channels.session is not handle.session:
            channels = self._channels = KernelChannels(handle.session)  # a new pool: the old channels went with it
        return channels

    async def aclose(self) -> None:
        """Close every kernel channel, then the connection pool. Safe to call twice."""
        self._closed = True  # first: an execution whose channel closes below must not open another
        channels, self._channels = self._channels, None
        if channels is not None:
            await channels.aclose()
        await super().aclose()
