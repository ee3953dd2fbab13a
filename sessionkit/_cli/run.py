"""Running one parsed command: build the core from the table, call the operation, print the result."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any, cast

from ..errors import InvalidRequestError, SessionkitError
from ..result import Err, Result
from .output import EXIT_API, EXIT_OK, UsageError, batch_line, dumps, print_error, print_result
from .progress import progress
from .request import batch_request, build_request, read_body
from .table import Op, Service

__all__ = ["run_operation"]


def _core_kwargs(service: Service, ns: argparse.Namespace) -> dict[str, Any]:
    # Flags left out are not passed, so each core applies its own default and env-var fallback.
    kwargs: dict[str, Any] = {"server_url": ns.server_url, "timeout": ns.timeout, "retries": ns.retries}
    kwargs.update({c.kwarg: getattr(ns, c.kwarg) for c in service.credentials})
    return {k: v for k, v in kwargs.items() if v is not None}


async def run_operation(ns: argparse.Namespace) -> int:
    """Import only the service the command names, and run the command against it."""
    service: Service = ns.service_spec
    op: Op = ns.op_spec
    batch = getattr(ns, "batch", False)
    request: Any = None
    if not batch:
        body = read_body(getattr(ns, "body", None))
        if body is None and op.default_body is not None:
            body = json.loads(op.default_body)
        request = build_request(op, getattr(ns, "id", None), body)
    module = importlib.import_module(service.module)
    fn = getattr(module, op.function)
    async with getattr(module, service.core)(**_core_kwargs(service, ns)) as core:
        if batch:
            return await _run_batch(fn, core, op, ns.concurrency)
        if getattr(ns, "all", False):
            return await _run_all(getattr(module, f"{op.function}_all"), core, request)
        return print_result(await fn(core, request))


async def _run_all(list_all: Any, core: Any, request: Any) -> int:
    """Every page, printed as one JSON array; the first failure ends it."""
    items: list[Any] = []
    async for item in list_all(core, request):
        result: Result[Any, SessionkitError] = item
        if isinstance(result, Err):
            return print_error(result.error)
        items.append(result.value)
    print(dumps(items, indent=2))
    return EXIT_OK


def _line_request(op: Op, line: str, number: int) -> Any:
    try:
        return batch_request(op, line, number)
    except UsageError as exc:
        return Err(InvalidRequestError(str(exc)))


async def _run_batch(fn: Any, core: Any, op: Op, concurrency: int) -> int:
    """NDJSON in, NDJSON out in input order (written as soon as each next line is known)."""
    from ..batch import batch_iter  # only batch mode needs it

    lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
    inputs = [_line_request(op, line, number) for number, line in enumerate(lines, 1)]

    async def call(request: Any) -> Result[Any, SessionkitError]:
        if isinstance(request, Err):
            return cast("Err[SessionkitError]", request)
        return await fn(core, request)

    done: dict[int, Result[Any, Exception]] = {}
    written = failed = 0
    with progress(op.name, len(inputs), enabled=sys.stderr.isatty()) as bar:
        async for index, result in batch_iter(call, inputs, concurrency=concurrency):
            bar.advance()
            done[index] = result
            while written in done:
                current = done.pop(written)
                failed += isinstance(current, Err)
                sys.stdout.write(batch_line(written, current) + "\n")
                written += 1
            sys.stdout.flush()
    return EXIT_OK if failed == 0 else EXIT_API
