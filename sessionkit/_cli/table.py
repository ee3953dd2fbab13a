"""What the CLI knows of each service: its core, its credential flags, and its operations.

The operations are not listed here: they come from the service's own registry (`OPERATIONS`, see
`sessionkit._registry`), imported only for the service a command names. A new operation shows up as
a command without an edit here. `DEFAULT_BODIES` holds the one thing a registry cannot say: the body
a command sends when `--body` is left out.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .._registry import SERVICES as REGISTERED_SERVICES
from .._registry import Registered
from .._registry import Service as RegisteredService

__all__ = ["Credential", "Op", "Service", "SERVICES", "ops_of"]


@dataclass(frozen=True)
class Op:
    """One `sessionkit <service> sessions <name>` command, calling `fn(core, request)`.

    `id_key` is the request key the positional id fills. `body_key` is the request key that `--body`
    goes under; when it is None the body is the request itself (merged with the id, if any).
    `batch` offers `--batch`; `every_page` offers `--all`. `default_body` (JSON) is sent when no
    `--body` is given. `idempotency` says how a batch create keeps a retried or resumed line from
    creating a second session: "key" sends an `Idempotency-Key` header (only for a service that
    honours one), "field" sets the request's `idempotent` field; None when the operation needs
    neither or its service offers neither (Orq, Mix, Log10 creates). A line without either that a
    stop cut off mid-call is reported `in_doubt` (see `batchrun`).
    """

    name: str
    help: str
    fn: Callable[..., Any]
    id_key: str | None = None
    body_key: str | None = None
    body: bool = True
    batch: bool = False
    every_page: Callable[..., Any] | None = None
    default_body: str | None = None
    idempotency: Literal["key", "field"] | None = None
    waits: bool = False  # `fn` is a waiter: `(core, request, *, timeout, [until])`
    takes_until: bool = False
    streams: bool = False  # `fn` is an async iterator of results: each is printed as it comes
    group: str = "sessions"  # the id's group: a service's other groups get a sub-command of their own
    short: str = ""  # the name within `group` (`kernels execute`), when the group is not "sessions"
    takes_code: bool = False  # the request holds code to run: `--code` / `--file`, outputs printed as text
    runs: bool = False  # `fn` drives a turn: `(core, {"id", "message"}, *, on_permission, options)`

    @classmethod
    def of(cls, entry: Registered) -> Op:
        note = _IDEMPOTENCY_NOTES.get(entry.idempotency, "")
        group = entry.group
        short = entry.name.split(" ", 1)[1] if group != "sessions" and " " in entry.name else ""
        return cls(
            name=entry.name.replace(" ", "-").replace("_", "-"),
            help=entry.summary + note,
            fn=entry.function,
            id_key=entry.id_key,
            body_key=entry.body_key,
            body=entry.takes_body,
            batch=entry.batch,
            every_page=entry.every_page,
            default_body=DEFAULT_BODIES.get(entry.operation.id),
            idempotency=entry.idempotency,
            streams=entry.streams,
            group=group,
            short=short.replace(" ", "-").replace("_", "-"),
            takes_code=entry.takes_code,
        )


@dataclass(frozen=True)
class Credential:
    """A secret or identity flag, the core keyword it feeds, and the env var the core falls back to."""

    flag: str
    kwarg: str
    env: str
    help: str


@dataclass(frozen=True)
class Service:
    """One service's command group, from its entry in the registry (`sessionkit._registry`)."""

    name: str
    help: str
    module: str
    core: str
    entry: RegisteredService

    @classmethod
    def of(cls, entry: RegisteredService) -> Service:
        return cls(entry.name, entry.title, entry.package, entry.core, entry)

    @property
    def credentials(self) -> tuple[Credential, ...]:
        """The core's arguments that fall back to the environment, as flags (this imports the service)."""
        arguments = self.entry.core_class().arguments()
        return tuple(Credential("--" + a.name.replace("_", "-"), a.name, a.env, a.help) for a in arguments)


def ops_of(service: Service) -> tuple[Op, ...]:
    """The commands of `service`, from its registry (this imports that service, and only it)."""
    registry = service.entry.operations()
    ops = [Op.of(entry) for entry in registry]
    for entry in registry:
        if entry.waiter is not None:
            summary = (inspect.getdoc(entry.waiter) or "").split("\n", 1)[0]
            takes_until = "until" in inspect.signature(entry.waiter).parameters
            ops.append(
                Op("wait", summary, entry.waiter, id_key=entry.id_key, body=False, waits=True, takes_until=takes_until)
            )
        if entry.driver is not None:
            summary = (inspect.getdoc(entry.driver) or "").split("\n", 1)[0]
            ops.append(Op("run", summary, entry.driver, id_key=entry.id_key, body=False, runs=True))
    return tuple(ops)


_IDEMPOTENCY_NOTES: dict[str | None, str] = {
    "key": " With --batch, each line sends an Idempotency-Key derived from it (the service honours it).",
    "field": " With --batch, each line sets idempotent unless it says otherwise.",
}
_ORQ_ALL = '{"filters": {"interval": "SESSION_INTERVAL_ALL_TIME"}}'
DEFAULT_BODIES: dict[str, str] = {"orq.sessions.list": _ORQ_ALL, "orq.sessions.count": _ORQ_ALL}

SERVICES: dict[str, Service] = {entry.name: Service.of(entry) for entry in REGISTERED_SERVICES}
"""The services, from the registry's one list."""
