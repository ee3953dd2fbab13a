"""One OpenTelemetry span per operation (`pip install 'sessionkit[otel]'`), as botocore's instrumentation does.

With `opentelemetry-api` installed and a tracer provider set, each call makes one span
(`SpanKind.INTERNAL`, named by the operation id, e.g. `orq.sessions.count`) that is the parent of
the HTTP client spans of aiohttp's instrumentation (`opentelemetry-instrumentation-aiohttp-client`)
when that is on, each of which then carries `http.request.resend_count` on a retry or a redirect
(when the tracer provider was set before the core opened its pool, as an application does at start).

Attributes: `sessionkit.service`, `sessionkit.operation.id`, `sessionkit.attempts`,
`http.response.status_code` (the final status, when the server answered), `error.type` (the
sessionkit error class, on an `Err`), `sessionkit.request_id`, and `sessionkit.session.id` where
the operation takes one. Events: `sessionkit.retry` (attempt, wait, reason) before each retry,
`sessionkit.rate_limiter.wait` (seconds) after a rate limiter held an attempt, and
`sessionkit.deadline` (which, timeout) when a deadline ended an attempt or the call. A stream is one
span (`sessionkit.events` counts what it delivered). Without the package, or with no tracer
provider set, nothing of this runs (one check per call; `benchmarks/instructions.py` counts it).
"""

from __future__ import annotations

import contextlib
import os
import types
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .errors import APIError, ResponseValidationError, SessionkitError
from .result import Err, Ok, Result

if TYPE_CHECKING:
    import aiohttp
    from opentelemetry.trace import Span, Tracer

    from ._operation import Operation

__all__ = [
    "TRACING",
    "OperationSpan",
    "current",
    "end_stream",
    "resend_trace_config",
    "stream_span",
    "traced",
    "tracer",
]

T = TypeVar("T")

try:
    from opentelemetry import context as _context
    from opentelemetry import trace as _trace
except ImportError:  # the `otel` extra is not installed: nothing here is ever called
    _trace = _context = None

TRACING = _trace is not None
"""Whether OpenTelemetry can be used at all (`opentelemetry-api` is installed)."""

_cached: tuple[object, Any] | None = None


_PRIVATE_PROVIDER = _trace is not None and hasattr(_trace, "_TRACER_PROVIDER")
_ENV_PROVIDER = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ


def tracer() -> Tracer | None:
    """The tracer to use now, or None when no tracer provider is set (tracing is off)."""
    if _trace is None:
        return None
    global _cached
    if _PRIVATE_PROVIDER and not _ENV_PROVIDER:
        # `get_tracer_provider()` looks the environment up on every call while no provider is set
        # (about 9,000 instructions); the API's own global says the same in one read.
        set_provider: Any = _trace._TRACER_PROVIDER  # pyright: ignore[reportPrivateUsage]
        if set_provider is None:
            return None
    provider = _trace.get_tracer_provider()
    if isinstance(provider, (_trace.ProxyTracerProvider, _trace.NoOpTracerProvider)):
        return None
    cached = _cached
    if cached is None or cached[0] is not provider:
        from ._core import VERSION

        cached = _cached = (provider, provider.get_tracer("sessionkit", VERSION))
    return cached[1]


class OperationSpan:
    """The span of one call, as the pipeline reports to it (a retry, a rate-limiter wait, a deadline)."""

    __slots__ = ("events", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.events = 0

    def retry(self, attempt: int, wait: float, reason: str) -> None:
        attributes = {"sessionkit.attempt": attempt, "sessionkit.wait_s": wait, "sessionkit.reason": reason}
        self.span.add_event("sessionkit.retry", attributes)

    def limited(self, seconds: float) -> None:
        self.span.add_event("sessionkit.rate_limiter.wait", {"sessionkit.wait_s": seconds})

    def deadline(self, which: str, seconds: float | None) -> None:
        attributes: dict[str, Any] = {"sessionkit.deadline": which}
        if seconds is not None:
            attributes["sessionkit.timeout_s"] = seconds
        self.span.add_event("sessionkit.deadline", attributes)


def _session_id(op: Operation[Any, Any], request: Any) -> str | None:
    name = op.session_param
    if name is None or request is None:
        return None
    value: Any = (
        cast("dict[str, Any]", request).get(name) if isinstance(request, dict) else getattr(request, name, None)
    )
    return value if isinstance(value, str) else None


def _start(tracer: Tracer, op: Operation[Any, Any], service: str, request: Any) -> Span:
    assert _trace is not None
    attributes: dict[str, Any] = {"sessionkit.service": service, "sessionkit.operation.id": op.id}
    session = _session_id(op, request)
    if session is not None:
        attributes["sessionkit.session.id"] = session
    return tracer.start_span(op.id, kind=_trace.SpanKind.INTERNAL, attributes=attributes)


def _finish(span: Span, result: Result[Any, SessionkitError] | None, cancelled: bool = False) -> None:
    assert _trace is not None
    if isinstance(result, Ok):
        meta = result.meta
        if meta is not None:
            span.set_attribute("sessionkit.attempts", meta.attempts)
            span.set_attribute("http.response.status_code", meta.status)
            if meta.request_id is not None:
                span.set_attribute("sessionkit.request_id", meta.request_id)
    elif isinstance(result, Err):
        error = result.error
        span.set_attribute("sessionkit.attempts", error.attempts)
        span.set_attribute("error.type", type(error).__name__)
        if isinstance(error, (APIError, ResponseValidationError)) and error.status:
            span.set_attribute("http.response.status_code", error.status)
        if isinstance(error, APIError) and error.request_id is not None:
            span.set_attribute("sessionkit.request_id", error.request_id)
        span.set_status(_trace.Status(_trace.StatusCode.ERROR, type(error).__name__))
    elif cancelled:
        span.set_attribute("error.type", "CancelledError")
        span.set_status(_trace.Status(_trace.StatusCode.ERROR, "cancelled"))
    span.end()


@contextlib.contextmanager
def current(span: OperationSpan | None) -> Generator[None, None, None]:
    """`span` as the current span inside the block (so the HTTP spans made there are its children)."""
    if span is None or _trace is None or _context is None:
        yield
        return
    token = _context.attach(_trace.set_span_in_context(span.span))
    try:
        yield
    finally:
        _context.detach(token)


async def traced(
    tracer: Tracer,
    op: Operation[Any, Any],
    service: str,
    request: Any,
    call: Callable[[OperationSpan], Awaitable[Result[T, SessionkitError]]],
) -> Result[T, SessionkitError]:
    """`call(span)` inside one span of `op`, made current, so aiohttp's HTTP spans are its children."""
    span = OperationSpan(_start(tracer, op, service, request))
    result: Result[T, SessionkitError] | None = None
    try:
        with current(span):
            result = await call(span)
        return result
    finally:
        _finish(span.span, result, cancelled=result is None)


def stream_span(tracer: Tracer, op: Operation[Any, Any], service: str, request: Any) -> OperationSpan:
    """The span of a whole stream; each connection is opened inside it (`current`), and
    `end_stream` ends it with the number of items the stream delivered."""
    return OperationSpan(_start(tracer, op, service, request))


def end_stream(span: OperationSpan, last_error: SessionkitError | None, cancelled: bool) -> None:
    span.span.set_attribute("sessionkit.events", span.events)
    _finish(span.span, Err(last_error) if last_error is not None else None, cancelled)


def resend_trace_config() -> aiohttp.TraceConfig:
    """An aiohttp trace config that marks the HTTP client span of a retry or a redirect with
    `http.request.resend_count` (the count travels in the request's `trace_request_ctx`)."""
    import aiohttp

    async def mark(session: Any, ctx: types.SimpleNamespace, params: Any) -> None:
        assert _trace is not None
        asked: Any = getattr(ctx, "trace_request_ctx", None)
        resend: Any = cast("dict[str, Any]", asked).get("sessionkit_resend") if isinstance(asked, dict) else None
        if resend:
            _trace.get_current_span().set_attribute("http.request.resend_count", resend)

    config = aiohttp.TraceConfig()
    # aiohttp's instrumentation makes the HTTP span current in its own `on_request_start`, which
    # runs after this config's (it is appended later); at the end that span is still current.
    config.on_request_end.append(mark)
    config.on_request_exception.append(mark)
    return config
