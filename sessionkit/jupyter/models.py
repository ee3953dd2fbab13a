"""Jupyter Server session models, with the wire names of `/api/sessions`."""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = [
    "Kernel",
    "KernelRef",
    "NotebookRef",
    "Session",
    "CreateSessionRequest",
    "SessionUpdate",
    "GetSessionRequest",
    "UpdateSessionRequest",
    "DeleteSessionRequest",
]


@attrs.define(kw_only=True)
class Kernel:
    """A running kernel as a session reports it."""

    id: str
    name: str
    last_activity: datetime | None = None
    execution_state: str | None = None
    connections: int | None = None
    reason: str | None = None


@attrs.define(kw_only=True)
class NotebookRef:
    """The legacy `notebook` member, present only when `type == "notebook"`."""

    path: str | None = None
    name: str | None = None


@attrs.define(kw_only=True)
class Session:
    """A session: a path bound to a kernel."""

    id: str
    path: str | None = None
    name: str | None = None
    type: str | None = None
    kernel: Kernel | None = None
    notebook: NotebookRef | None = None


@attrs.define(kw_only=True)
class KernelRef:
    """Which kernel to use: a running one by `id`, or a new one from the kernelspec `name`."""

    name: str | None = None
    id: str | None = None


@attrs.define(kw_only=True)
class CreateSessionRequest:
    """Body of `POST /api/sessions`. A session that already exists for `path` is returned as is."""

    path: str
    type: str = "notebook"
    name: str | None = None
    kernel: KernelRef | None = None


@attrs.define(kw_only=True)
class SessionUpdate:
    """The fields of a session to change; unset fields are left alone."""

    path: str | None = None
    name: str | None = None
    type: str | None = None
    kernel: KernelRef | None = None


@attrs.define(kw_only=True)
class GetSessionRequest:
    session: str


@attrs.define(kw_only=True)
class DeleteSessionRequest:
    session: str


@attrs.define(kw_only=True)
class UpdateSessionRequest:
    session: str
    model: SessionUpdate = attrs.Factory(SessionUpdate)
