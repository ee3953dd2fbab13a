"""Write the generated tables into the docs and the README, from the registry (`sessionkit._registry`).

    python scripts/gen_docs.py           # rewrite every generated region
    python scripts/gen_docs.py --check   # exit 1 if a region is not what the registry says

A region sits between `<!-- NAME -->` and `<!-- /NAME -->` in a Markdown file and is written in full,
so GitHub shows the same tables the built site does; the mkdocs build and a test both check them.

- `<!-- operations: SERVICE -->` in a service's page: its operations (function, HTTP, request, value);
- `<!-- services -->` in README.md: every service's core, its environment variables and functions;
- `<!-- cli-commands -->` in docs/cli.md: every command of the console script.
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sessionkit._registry import SERVICES, Registered, Service  # noqa: E402

REGION = re.compile(r"(<!-- (?P<name>[a-z0-9 :._-]+) -->\n)(?P<body>.*?)(<!-- /(?P=name) -->)", re.DOTALL)


def type_name(tp: Any) -> str:
    if tp is None:
        return "None"
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if origin is not None and args:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(type_name(a) for a in args)}]"
    return getattr(tp, "__name__", str(tp))


def _functions(entry: Registered) -> list[Callable[..., Any]]:
    """The operation's function and the helpers built on it (every page, a waiter, a turn)."""
    return [fn for fn in (entry.function, entry.every_page, entry.waiter, entry.driver) if fn is not None]


def operations_table(service: Service) -> str:
    """One row per operation: its functions, its HTTP request, what it takes and gives."""
    rows = [
        "| function | HTTP | request: model / mapping | `Ok` value | what it does |",
        "| --- | --- | --- | --- | --- |",
    ]
    for entry in service.operations():
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
        names = ", ".join(f"`{fn.__name__}`" for fn in _functions(entry))
        rows.append(f"| {names} | {http} | {shown} | `{type_name(op.response)}` | {entry.summary} |")
    return "\n".join(rows)


def _signature(service: Service) -> str:
    core = service.core_class()
    params = [p for p in inspect.signature(core.__init__).parameters.values() if p.name != "self"]
    shown: list[str] = []
    for p in params:
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        if p.name == "server_url":
            shown.append(f'server_url="{core.default_server_url}"')
        else:
            shown.append(p.name)
    return f"`{service.core}({', '.join(shown)})`"


def services_table() -> str:
    """README's table: each service's core, the environment variables it reads, its functions."""
    rows = ["| service | package | core | environment | functions |", "| --- | --- | --- | --- | --- |"]
    for service in SERVICES:
        envs = ", ".join(f"`{a.env}`" for a in service.core_class().arguments()) or "none"
        names = ", ".join(f"`{fn.__name__}`" for entry in service.operations() for fn in _functions(entry))
        row = f"| {service.title} | `{service.package}` | {_signature(service)} | {envs} | {names} |"
        rows.append(row)
    return "\n".join(rows)


def commands_table() -> str:
    """docs/cli.md's table: the console script's services and commands, as the CLI builds them."""
    from sessionkit._cli.table import SERVICES as COMMANDS
    from sessionkit._cli.table import ops_of

    rows = [
        "| service | commands (`sessions` unless a group is named; `ID` fills the request key shown) | credentials |",
        "| --- | --- | --- |",
    ]
    for service in COMMANDS.values():
        shown = []
        for op in ops_of(service):
            called = f"{op.group} {op.short}" if op.short else op.name
            command = f"`{called} ID`" if op.id_key else f"`{called}`"
            extra = " (`--all`)" if op.every_page is not None else ""
            key = f" ({op.id_key})" if op.id_key else ""
            shown.append(command + key + extra)
        creds = ", ".join(f"`{c.flag}` / `{c.env}`" for c in service.credentials) or "none"
        rows.append(f"| `{service.name}` | {', '.join(shown)} | {creds} |")
    return "\n".join(rows)


def render(name: str) -> str:
    """The generated text of the region `name`."""
    if name.startswith("operations: "):
        wanted = name.removeprefix("operations: ")
        return operations_table(next(s for s in SERVICES if s.name == wanted))
    if name == "services":
        return services_table()
    if name == "cli-commands":
        return commands_table()
    raise KeyError(f"no generated region is called {name!r}")


def regenerate(text: str) -> str:
    """`text` with every generated region written anew."""
    return REGION.sub(lambda m: m.group(1) + render(m.group("name")) + "\n" + m.group(4), text)


def files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "docs" / "cli.md", *sorted({ROOT / s.page for s in SERVICES})]


def drift() -> list[str]:
    """The files whose generated regions are not what the registry says."""
    return [str(p.relative_to(ROOT)) for p in files() if regenerate(p.read_text("utf-8")) != p.read_text("utf-8")]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = drift()
        if stale:
            print(f"generated tables out of date in {', '.join(stale)}: run python scripts/gen_docs.py")
            return 1
        return 0
    for path in files():
        text = path.read_text("utf-8")
        fresh = regenerate(text)
        if fresh != text:
            path.write_text(fresh, "utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
