"""mkdocs hook: `<!-- operations: SERVICE -->` in a page becomes the table of that service's operations,
built from its registry (`sessionkit.SERVICE.OPERATIONS`), so a new operation is documented with the
summary line of its own docstring and nothing to edit here."""

from __future__ import annotations

import importlib
import re
import typing
from typing import Any

import attrs

MARKER = re.compile(r"<!-- operations: ([a-z0-9_.]+) -->")
COMMANDS = "<!-- cli-commands -->"


def type_name(tp: Any) -> str:
    if tp is None:
        return "None"
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if origin is not None and args:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(type_name(a) for a in args)}]"
    return getattr(tp, "__name__", str(tp))


def table(package: str) -> str:
    module = importlib.import_module(f"sessionkit.{package}")
    rows = [
        "| function | HTTP | request: model / mapping | `Ok` value | what it does |",
        "| --- | --- | --- | --- | --- |",
    ]
    for entry in module.OPERATIONS:
        op = entry.operation
        success = "/".join(str(s) for s in op.success)
        http = f"`{op.method} {op.path}` → {success}"
        request = op.request
        if request is None:
            shown = "none"
        else:
            required = [a.name for a in attrs.fields(request) if a.default is attrs.NOTHING]
            keys = ", ".join(required) if required else "all optional"
            shown = f"`{request.__name__}` / `{request.__name__}Params` ({keys})"
        function = f"`{entry.function.__name__}`"
        if entry.every_page is not None:
            function += f", `{entry.every_page.__name__}`"
        if entry.driver is not None:  # a helper built on the operation (Mix's turn)
            function += f", `{entry.driver.__name__}`"
        rows.append(f"| {function} | {http} | {shown} | `{type_name(op.response)}` | {entry.summary} |")
    return "\n".join(rows)


def commands() -> str:
    """The console script's services and commands, as the CLI builds them from the registries."""
    from sessionkit._cli.table import SERVICES, ops_of

    rows = [
        "| service | commands (`sessions` unless a group is named; `ID` fills the request key shown) | credentials |",
        "| --- | --- | --- |",
    ]
    for service in SERVICES.values():
        shown = []
        for op in ops_of(service):
            called = f"{op.group} {op.short}" if op.short else op.name
            name = f"`{called} ID`" if op.id_key else f"`{called}`"
            extra = " (`--all`)" if op.every_page is not None else ""
            key = f" ({op.id_key})" if op.id_key else ""
            shown.append(name + key + extra)
        creds = ", ".join(f"`{c.flag}` / `{c.env}`" for c in service.credentials) or "none"
        rows.append(f"| `{service.name}` | {', '.join(shown)} | {creds} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    if COMMANDS in markdown:
        markdown = markdown.replace(COMMANDS, commands())
    return MARKER.sub(lambda m: table(m.group(1)), markdown)
