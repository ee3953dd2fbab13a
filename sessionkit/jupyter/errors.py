"""Jupyter's typed errors. Its error body is `{"message": str, "reason": str | null}`, except a
kernel that cannot be started: 501 with `{"message": str, "short_message": str}`. Two more come
from running code over a kernel's channels: the kernel went away (`KernelGoneError`), and the
execution's deadline passed (`ExecutionTimeoutError`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ..errors import APIError, ConnectionError, InternalServerError, RequestTimeoutError, json_field

__all__ = ["ExecutionTimeoutError", "JupyterKernelError", "KernelGoneError", "JUPYTER_ERRORS"]


class JupyterKernelError(InternalServerError):
    """501: the kernel could not be started, e.g. its kernelspec `name` is not installed (on create,
    or on an update that changes the kernel). Not retried."""

    @property
    def short_message(self) -> str | None:
        """The server's one-line reason, e.g. `"nope not found"`."""
        value = json_field(self.body, "short_message")
        return value if isinstance(value, str) else None


JUPYTER_ERRORS: Mapping[int | str, type[APIError]] = {501: JupyterKernelError}
"""Every Jupyter operation shares this status → error table; other statuses get the generic errors."""

KernelState = Literal["dead", "restarting", "shut down", "deleted"]


class KernelGoneError(ConnectionError):
    """The kernel stopped while code ran in it: `state` says how.

    `"dead"`: the server reported it dead; `"restarting"`: it died or was restarted (its state is
    lost, and the code with it); `"shut down"`: a shutdown was asked for (a delete); `"deleted"`:
    the server no longer knows it (`GET /api/kernels/{id}` answers 404)."""

    def __init__(self, message: str, *, state: KernelState, kernel_id: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.state: KernelState = state
        self.kernel_id = kernel_id


KernelAction = Literal["interrupted", "restarted", "left running", "not sent", "interrupt failed", "restart failed"]


class ExecutionTimeoutError(RequestTimeoutError):
    """An execution's `timeout` passed (`deadline="total"`). `action` says what became of the code:
    `"interrupted"`, `"restarted"` or `"left running"` (as `on_timeout` asked), `"not sent"` (the
    deadline passed while it waited for the kernel's queue or a connection), or `"interrupt failed"`
    / `"restart failed"` (the message says why)."""

    def __init__(self, message: str, *, action: KernelAction, kernel_id: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.action: KernelAction = action
        self.kernel_id = kernel_id
