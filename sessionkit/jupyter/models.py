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
    "GetKernelRequest",
    "StartKernelRequest",
    "DeleteKernelRequest",
    "ExecuteRequest",
    "ON_TIMEOUT",
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


@attrs.define(kw_only=True)
class GetKernelRequest:
    """Which kernel to read: a session's `kernel.id`, or one `kernels_list` returned."""

    kernel_id: str


@attrs.define(kw_only=True)
class StartKernelRequest:
    """Body of `POST /api/kernels`: the kernelspec `name` (the server's default when unset) and
    `path`, the directory the kernel starts in, relative to the server's root."""

    name: str | None = None
    path: str | None = None


@attrs.define(kw_only=True)
class DeleteKernelRequest:
    """Which kernel to shut down and forget."""

    kernel_id: str


ON_TIMEOUT = ("interrupt", "restart", "none")
"""What `ExecuteRequest.on_timeout` may say: interrupt the kernel, restart it, or leave it running."""


@attrs.define(kw_only=True)
class ExecuteRequest:
    """Code to run in a kernel, over its channels WebSocket.

    `timeout` (seconds) bounds the whole call: waiting for the kernel's queue, connecting and
    running. When it passes, the kernel is interrupted (`on_timeout="interrupt"`), restarted
    (`"restart"`) or left running (`"none"`), and the call ends in `Err(ExecutionTimeoutError)`.
    `store_history=True` (as Jupyter front ends do) makes the code count in `execution_count` and
    in the kernel's `In`/`Out`. `allow_stdin=True` lets the code call `input()`, which
    `kernels_execute_stream`'s caller answers (`InputRequest.reply`); without it `input()` raises
    in the kernel. `max_output_bytes` caps what `kernels_execute` keeps of stdout, stderr and
    displays (the rest is counted in `Execution.omitted_bytes`).
    """

    kernel_id: str
    code: str
    timeout: float = 30.0
    on_timeout: str = "interrupt"
    store_history: bool = True
    allow_stdin: bool = False
    max_output_bytes: int = 32 * 1024 * 1024
