"""Jupyter's typed API errors. Its error body is `{"message": str, "reason": str | null}`, except a
kernel that cannot be started: 501 with `{"message": str, "short_message": str}`."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import APIError, InternalServerError, json_field

__all__ = ["JupyterKernelError", "JUPYTER_ERRORS"]


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
