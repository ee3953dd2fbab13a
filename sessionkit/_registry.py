"""Each service's operations as data: the declaration, its thin function, and what follows from them.

A service module ends with `OPERATIONS = collect(__name__)`. `collect` pairs every `Operation` the
module declares with the function named after its id (`"mix.sessions.fork"` -> `sessions_fork`,
`"jupyter.kernels.restart"` -> `kernels_restart`), and a function marked `@all_pages(OP)` with the
operation it pages through. A declaration without its function, or a coroutine function named like
one (`sessions_*`, or the prefix of any group the module declares, such as `kernels_*`) without its
declaration, fails at import: the CLI, the docs' operation tables and the all-operations request
test read this registry and nothing else. An operation whose function is an async iterator (an
event stream) marks it `@streams(OP)`; it must still be named after the operation's id. A helper
that drives an operation through to an end of its own (Mix's turn helper sends a message and follows
the turn) is marked `@drives(OP, RequestModel)`: it takes its own request model, and is the CLI's
`run ID`.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast

import attrs

from ._operation import Operation

__all__ = ["Registered", "all_pages", "collect", "drives", "function_name", "streams", "waits_on"]

F = TypeVar("F", bound=Callable[..., Any])
_PAGES = "__sessionkit_pages__"
_WAITS = "__sessionkit_waits__"
_STREAMS = "__sessionkit_streams__"
_DRIVES = "__sessionkit_drives__"
REQUEST_MODEL = "__sessionkit_request__"
"""The attribute a `@drives` function keeps its request model in (`scripts/gen_params.py` reads it)."""


def function_name(operation_id: str) -> str:
    """`"mix.sessions.messages.list"` -> `"sessions_messages_list"`."""
    return "_".join(operation_id.split(".")[1:])


def _marker(attribute: str, op: Operation[Any, Any]) -> Callable[[F], F]:
    def mark(fn: F) -> F:
        setattr(fn, attribute, op)
        return fn

    return mark


def all_pages(op: Operation[Any, Any]) -> Callable[[F], F]:
    """Mark a function as the every-page iterator of `op` (the CLI's `--all`)."""
    return _marker(_PAGES, op)


def waits_on(op: Operation[Any, Any]) -> Callable[[F], F]:
    """Mark a function as the waiter that polls `op` until a state (the CLI's `wait ID`).

    The function takes `(core, request, *, timeout, options)` and may take `until`.
    """
    return _marker(_WAITS, op)


def drives(op: Operation[Any, Any], request: type[Any]) -> Callable[[F], F]:
    """Mark a function as a helper that drives `op` to an end of its own, taking a `request` model
    (the CLI's `run ID`). The function takes `(core, request, *, options)` and keyword callbacks."""

    def mark(fn: F) -> F:
        setattr(fn, _DRIVES, op)
        setattr(fn, REQUEST_MODEL, request)
        return fn

    return mark


def streams(op: Operation[Any, Any]) -> Callable[[F], F]:
    """Mark an async iterator function as the function of `op` (the CLI prints its items as NDJSON)."""
    return _marker(_STREAMS, op)


@attrs.frozen
class Registered:
    """One operation of a service: its declaration, its function and (for paged lists) its iterator."""

    operation: Operation[Any, Any]
    function: Callable[..., Any]
    every_page: Callable[..., Any] | None = None
    waiter: Callable[..., Any] | None = None
    streams: bool = False
    """`function` is an async iterator of results, not a coroutine."""
    driver: Callable[..., Any] | None = None
    """A helper built on this operation that takes its own request (`@drives`)."""

    @property
    def name(self) -> str:
        """The command's name: the id after the service and "sessions" (`"messages list"`); another
        group stays in it (`"jupyter.kernels.restart"` -> `"kernels restart"`)."""
        parts = self.operation.id.split(".")[1:]
        return " ".join(parts[1:] if parts[0] == "sessions" else parts)

    @property
    def group(self) -> str:
        """The group of the operation's id: `"sessions"`, or another (`"jupyter.kernels.execute"` -> `"kernels"`)."""
        return self.operation.id.split(".")[1]

    @property
    def summary(self) -> str:
        """The first line of the function's docstring."""
        return (inspect.getdoc(self.function) or "").split("\n", 1)[0]

    @property
    def id_key(self) -> str | None:
        """The request key of the session id in the path, when the operation takes one."""
        params = self.operation.path_params
        if params:
            return params[0]
        return "id" if "id" in self.operation.query else None  # an event stream names its session there

    @property
    def body_key(self) -> str | None:
        """The request key the body goes under, when the body is one field of the request."""
        body = self.operation.body
        return body if body not in (None, "*") else None

    @property
    def takes_code(self) -> bool:
        """Whether the request has a `code` field: code to run (the CLI's `--code` and `--file`)."""
        request = self.operation.request
        return request is not None and any(a.name == "code" for a in attrs.fields(request))

    @property
    def takes_body(self) -> bool:
        """Whether the request has fields besides the id (another path field, such as a file's name,
        counts: it comes from the body too)."""
        request = self.operation.request
        return request is not None and any(a.name != self.id_key for a in attrs.fields(request))

    @property
    def creates(self) -> bool:
        """A create that is not safe to repeat as it is: a batch line needs idempotency for it."""
        op = self.operation
        return self.name == "create" and op.method == "POST" and op.retry_safe is not True

    @property
    def idempotency(self) -> Literal["key", "field"] | None:
        """How a batch keeps a retried or resumed create from making a second session, if it can.

        "field" when the request model has an `idempotent` field (Devin v1); "key" only when the
        operation declares an `Idempotency-Key` header among its request fields, which is how a
        service that honours one is declared (none does today). Otherwise None: sending a key the
        server ignores would only make the client retry a create the server does not deduplicate.
        """
        if not self.creates:
            return None
        request = self.operation.request
        if request is not None and any(a.name == "idempotent" for a in attrs.fields(request)):
            return "field"
        if any(header.lower() == "idempotency-key" for header in self.operation.headers.values()):
            return "key"
        return None

    @property
    def batch(self) -> bool:
        """Whether the operation takes a request, so that NDJSON lines can each be one."""
        return (self.id_key is not None or self.takes_body) and not self.streams


def collect(module_name: str) -> tuple[Registered, ...]:
    """Every operation `module_name` declares, paired with its functions, in declaration order."""
    module = sys.modules[module_name]
    namespace = vars(module)
    ops: list[Operation[Any, Any]] = [v for v in namespace.values() if isinstance(v, Operation)]  # pyright: ignore[reportUnknownVariableType]
    prefixes = ("sessions_", *{op.id.split(".")[1] + "_" for op in ops})
    functions = {n: f for n, f in namespace.items() if n.startswith(prefixes) and inspect.iscoroutinefunction(f)}
    pagers, waiters, drivers = _marked(namespace, _PAGES), _marked(namespace, _WAITS), _marked(namespace, _DRIVES)
    for fn in [*pagers.values(), *waiters.values(), *drivers.values()]:  # a marked function is not an operation's own
        functions.pop(getattr(fn, "__name__", ""), None)
    streamers = _marked(namespace, _STREAMS)
    out: list[Registered] = []
    for op in ops:
        name = function_name(op.id)
        streamer = streamers.pop(id(op), None)
        fn = functions.pop(name, None) if streamer is None else streamer
        if fn is None or getattr(fn, "__name__", "") != name:
            raise RuntimeError(f"{module_name}: {op.id} is declared but has no function {name}")
        if streamer is not None and not inspect.isasyncgenfunction(streamer):
            raise RuntimeError(f"{module_name}: {name} is marked @streams but is not an async iterator function")
        out.append(
            Registered(
                op,
                fn,
                pagers.pop(id(op), None),
                waiters.pop(id(op), None),
                streamer is not None,
                drivers.pop(id(op), None),
            )
        )
    if functions or pagers or waiters or streamers or drivers:
        stray = sorted(functions) or [*pagers.values(), *waiters.values(), *streamers.values(), *drivers.values()]
        raise RuntimeError(f"{module_name}: functions without a declaration: {stray}")
    return tuple(out)


def _marked(namespace: dict[str, Any], attribute: str) -> dict[int, Callable[..., Any]]:
    """The functions marked with `attribute`, by the id of the operation they name."""
    found: dict[int, Callable[..., Any]] = {}
    for value in namespace.values():
        marked: object = getattr(value, attribute, None)
        if isinstance(marked, Operation) and callable(value):
            found[id(cast("object", marked))] = value
    return found


@attrs.frozen
class Service:
    """One service as everything else finds it: the CLI, the docs' tables, `scripts/gen_params.py`,
    the all-operations tests and the README's table read `SERVICES`, and nothing else.

    `name` is its name in the CLI and the docs (`devin-v3`), `package` the module that holds its core
    and `OPERATIONS`, `fake` its stand-in in `sessionkit.testing`, `page` its docs page. Nothing is
    imported until asked for.
    """

    name: str
    package: str
    core: str
    title: str
    fake: str
    page: str

    def module(self) -> Any:
        return importlib.import_module(self.package)

    def operations(self) -> tuple[Registered, ...]:
        """Every operation of the service with its functions (the package's `OPERATIONS`)."""
        found: tuple[Registered, ...] = self.module().OPERATIONS
        return found

    def core_class(self) -> Any:
        return getattr(self.module(), self.core)

    def fake_class(self) -> Any:
        return getattr(importlib.import_module("sessionkit.testing"), self.fake)


SERVICES: tuple[Service, ...] = (
    Service(
        "jupyter",
        "sessionkit.jupyter",
        "JupyterCore",
        "Jupyter Server /api/sessions and /api/kernels",
        "FakeJupyter",
        "docs/services/jupyter.md",
    ),
    Service("orq", "sessionkit.orq", "OrqCore", "Orq /v2/sessions", "FakeOrq", "docs/services/orq.md"),
    Service("mix", "sessionkit.mix", "MixCore", "Mix /api/sessions", "FakeMix", "docs/services/mix.md"),
    Service("devin", "sessionkit.devin", "DevinCore", "Devin /v1/sessions", "FakeDevin", "docs/services/devin.md"),
    Service(
        "devin-v3",
        "sessionkit.devin.v3",
        "DevinCore",
        "Devin API v3 /v3/organizations/{org_id}/sessions (current)",
        "FakeDevinV3",
        "docs/services/devin.md",
    ),
    Service("log10", "sessionkit.log10", "Log10Core", "Log10 /api/v1/sessions", "FakeLog10", "docs/services/log10.md"),
)
"""Every service, in the order the CLI and the docs list them."""


def service(name: str) -> Service:
    """The service called `name` (`KeyError` for none)."""
    for found in SERVICES:
        if found.name == name:
            return found
    raise KeyError(name)
