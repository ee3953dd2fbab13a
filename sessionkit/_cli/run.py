"""Running one parsed command: build the core from the table, call the operation, print the result."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from contextlib import aclosing
from typing import Any

import attrs

from .._options import RequestOptions
from .._reader import ByteStream
from ..errors import SessionkitError
from ..result import Err, Ok, Result
from .batchrun import rate_limiter, run_batch
from .code import run_code, with_code
from .output import EXIT_API, EXIT_CONNECTION, EXIT_OK, UsageError, dumps, ndjson_line, print_error, print_result
from .request import build_request, read_body
from .table import Op, Service

__all__ = ["run_operation"]


def _core_kwargs(service: Service, ns: argparse.Namespace) -> dict[str, Any]:
    # Flags left out are not passed, so each core applies its own default and env-var fallback.
    kwargs: dict[str, Any] = {"server_url": ns.server_url, "timeout": ns.timeout, "retries": ns.retries}
    kwargs["rate_limiter"] = rate_limiter(ns, service.name)  # --rate, shared through --redis-url
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
        if op.takes_code:
            request = with_code(request, ns)
    module = importlib.import_module(service.module)
    fn = op.fn
    try:
        core = getattr(module, service.core)(**_core_kwargs(service, ns))
    except ValueError as exc:  # a --server-url, --timeout or credential the core refuses
        raise UsageError(str(exc)) from None
    async with core:
        if batch:
            return await run_batch(fn, core, op, ns)
        if op.runs:
            return await _run_turn(fn, core, ns)
        if op.waits:
            extra: dict[str, Any] = {"timeout": ns.wait_timeout}
            if getattr(ns, "until", None):
                extra["until"] = frozenset(s.strip() for s in ns.until.split(",") if s.strip())
            return print_result(await fn(core, request, **extra))
        if getattr(ns, "all", False) and op.every_page is not None:
            return await _run_all(op.every_page, core, request)
        if op.takes_code and not op.streams:
            stream = getattr(module, f"{getattr(fn, '__name__', '')}_stream", None)
            if stream is not None:
                return await run_code(stream, core, request)
        if op.streams:
            return await _run_stream(fn, core, request)
        result: Result[Any, SessionkitError] = await fn(core, request)
        if isinstance(result, Ok) and isinstance(result.value, ByteStream):
            return await _write_body(result.value)
        return print_result(result)


async def _grant(event: Any) -> bool:
    return True


async def _run_turn(run: Any, core: Any, ns: argparse.Namespace) -> int:
    """One turn, its permissions all granted (`--grant-all`) or all denied; the turn as JSON. Exit 0
    when it completed, 1 when the agent failed or it was cancelled, 3 when its deadline passed."""
    options = None
    if ns.turn_timeout is not None:
        options = RequestOptions(timeout=attrs.evolve(core.timeout, total=ns.turn_timeout))
    request = {"id": ns.id, "message": {"text": ns.message}}
    result: Result[Any, SessionkitError] = await run(
        core, request, on_permission=_grant if ns.grant_all else None, options=options
    )
    code = print_result(result)
    if isinstance(result, Ok):
        ended = getattr(result.value, "ended", "complete")
        code = EXIT_OK if ended == "complete" else EXIT_CONNECTION if ended == "deadline" else EXIT_API
    return code


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


async def _run_stream(stream: Any, core: Any, request: Any) -> int:
    """Each item on its own NDJSON line as it comes, until the stream ends, fails or is interrupted
    (Ctrl-C cancels the read, which closes the connection). An error goes to stderr and the stream
    goes on as the library's does (one bad event does not end it; a failure of the stream does,
    and is its last item); the exit code is that of the last error, or 0."""
    code = EXIT_OK
    async with aclosing(stream(core, request)) as items:
        async for item in items:
            result: Result[Any, SessionkitError] = item
            if isinstance(result, Err):
                code = print_error(result.error)
                continue
            print(ndjson_line(result.value), flush=True)
    return code


async def _write_body(body: ByteStream) -> int:
    """A streamed body (a downloaded file) copied to stdout as bytes, chunk by chunk."""
    out = sys.stdout.buffer
    async with body:
        async for chunk in body:
            if isinstance(chunk, Err):
                out.flush()
                return print_error(chunk.error)
            out.write(chunk.value)
    out.flush()
    return EXIT_OK
