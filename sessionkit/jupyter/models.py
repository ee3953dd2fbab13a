"""Jupyter Server models, with the wire names of `/api/sessions`, `/api/kernels` and `/api/kernelspecs`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
    "KernelSpecFile",
    "KernelSpec",
    "KernelSpecs",
    "InterruptKernelRequest",
    "RestartKernelRequest",
]


@attrs.define(kw_only=True)
class Kernel:
    """A running kernel, as a session (or a restart) reports it.

    `execution_state` is `"starting"` until a client attaches to the kernel's channels or the
    kernel is restarted, then `"idle"` or `"busy"`; `"dead"` when it failed.
    """

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


@attrs.define(kw_only=True)
class KernelSpecFile:
    """The `spec` of a kernelspec: the contents of its `kernel.json` (other members are ignored)."""

    display_name: str | None = None
    language: str | None = None
    argv: list[str] = attrs.Factory(list[str])
    env: dict[str, Any] = attrs.Factory(dict[str, Any])
    interrupt_mode: str | None = None
    metadata: dict[str, Any] = attrs.Factory(dict[str, Any])


@attrs.define(kw_only=True)
class KernelSpec:
    """One installed kernelspec: the `name` a `KernelRef` takes, its spec and its resource URLs."""

    name: str
    spec: KernelSpecFile | None = None
    resources: dict[str, Any] = attrs.Factory(dict[str, Any])


@attrs.define(kw_only=True)
class KernelSpecs:
    """`GET /api/kernelspecs`: the default kernelspec's name and every installed one by name."""

    default: str | None = None
    kernelspecs: dict[str, KernelSpec] = attrs.Factory(dict[str, KernelSpec])


@attrs.define(kw_only=True)
class InterruptKernelRequest:
    """Which kernel to interrupt: a session's `kernel.id`."""

    kernel_id: str


@attrs.define(kw_only=True)
class RestartKernelRequest:
    """Which kernel to restart: a session's `kernel.id`."""

    kernel_id: str
