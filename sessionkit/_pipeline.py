"""The single request pipeline: `execute(cfg, pool, op, request, options)` for every operation.

    plan -> limit -> attempt -> classify -> decode -> Ok(model)
                        ^                \\-> next wait -> (sleep) --+
                        +-------------------------------------------+   ... -> Err(error)

Each stage fails into exactly one kind of error, and every error leaves through `_Call.fail`,
which scrubs the call's secrets out of it. Every wait asks the call's one `Deadline`; time and
sleep come from the core's clock. A body is JSON bytes, or a `Body` built per attempt (multipart,
streamed from its source). An operation whose response is `ByteStream` is not decoded: its
success body is left open for the caller to read in chunks, within its cap and the same deadline.
The pipeline reads a `CoreConfig` and asks a `Pool`; it never imports the core.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
from collections.abc import Coroutine, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp

from . import _json  # pyright: ignore[reportPrivateUsage]  # its loads/dumps are switched at run time
from ._batchcall import BATCH_CALL
from ._bodies import Body
from ._deadline import Deadline, DeadlinePassed, Which, client_timeout
from ._hooks import HookContext, PreparedRequest
from ._logging import logger, redact_headers
from ._operation import Invalid, Operation, Planned, plan
from ._options import OptionError, RequestOptions, check_headers
from ._reader import BodyTooLarge, ByteStream, EncodingRefused, Raw, StreamErrors
from ._retry import parse_retry_after
from ._secrets import redact_url
from ._serde import StructureFailure
from ._tracing import TRACING, OperationSpan, traced
from ._tracing import tracer as current_tracer
from ._transport import send_attempt
from .errors import (
    APIError,
    ConnectionError,
    InvalidRequestError,
    RateLimitError,
    RequestTimeoutError,
    ResponseValidationError,
    SessionkitError,
    clean_text,
    message_from_body,
)
from .result import Err, Ok, Result, ok_with_meta

if TYPE_CHECKING:
    from pathlib import Path

    from ._config import CoreConfig, Pool

__all__ = ["execute", "start"]

Resp = TypeVar("Resp")

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "cf-ray")

# How far a failure may be repeated (`_Call.reach`): not at all, when the request is safe to repeat,
# or whatever the method, because the server cannot have acted on it (a 429, a refused connection).
FINAL, IF_SAFE, ALWAYS = 0, 1, 2


async def execute(
    cfg: CoreConfig,
    pool: Pool,
    op: Operation[Any, Resp],
    request: Any,
    options: RequestOptions | None = None,
    *,
    max_bytes: int | None = None,
    deadline: Deadline | None = None,
    span: OperationSpan | None = None,
) -> Result[Resp, SessionkitError]:
    """Run `op` through the pipeline. Returns a value for everything but cancellation.

    For a streamed operation (`response=ByteStream`) the value is the open body: `max_bytes` caps
    it (None: no cap), `Timeout.attempt` bounds the wait for the response and each silence while
    it is read, and `Timeout.total` the whole call, reading included. `deadline` is one the call
    shares with others (an event stream's reconnections): its total deadline holds for this call too.
    `span` is the tracing span the call reports its retries, rate-limiter waits and deadlines to.
    """
    started = cfg.clock.monotonic()
    try:
        planned = plan(cfg, op, request, options)
        if op.streams and max_bytes is not None and (type(max_bytes) is not int or max_bytes < 1):
            raise Invalid("must be an int >= 1 or None", "max_bytes")
    except Invalid as exc:
        call = _Call(cfg, op, started)
        return await call.fail(InvalidRequestError(exc.reason, field_path=exc.field_path, **call.common()))
    call = _Call(cfg, op, started, planned, deadline)
    call.span = span
    limiter = cfg.limiter
    while True:
        call.attempts += 1
        if limiter is not None:  # the core's rate limit holds for every attempt, retries included
            asked = cfg.clock.monotonic()
            refused = await limiter.acquire(cfg.clock, call.at)
            if span is not None:
                span.limited(cfg.clock.monotonic() - asked)
            if refused is not None:
                return await call.fail(refused.error(call.total, **call.common()))
        outcome = await _attempt(pool, call)
        if type(outcome) is Raw:
            if outcome.status in op.success:
                value = _succeed(call, outcome, max_bytes)
                if isinstance(value, ResponseValidationError):
                    return await call.fail(value)
                if cfg.hooks.after_success:
                    await _after_success(call, value)
                return value
            error: SessionkitError = _classify(call, outcome, call.retry.statuses)
        else:
            error = outcome  # pyright: ignore[reportAssignmentType]
        batch = BATCH_CALL.get()  # an adaptive batch hears of each failed attempt and paces each retry
        if batch is not None:
            batch.failed(error)
        wait = _next_wait(call, error)
        if wait is None or pool.closed_by_caller:
            return await call.fail(error)
        await cfg.clock.sleep(wait)
        if batch is not None and (refused := await batch.acquire(cfg.clock, call.at)) is not None:
            return await call.fail(refused.error(call.total, **call.common()))


class _Call(Deadline):
    """One call: its deadline, what it sends (once planned), its attempts, its secrets, and how
    its errors are made. One object per call, so the hot path builds one, not four."""

    __slots__ = (
        "attempts",
        "body",
        "cfg",
        "headers",
        "limits",
        "model",
        "op",
        "reach",
        "retry",
        "retry_after",
        "secrets",
        "span",
        "url",
        "waited",
        "waits",
    )

    def __init__(
        self,
        cfg: CoreConfig,
        op: Operation[Any, Any],
        started: float,
        planned: Planned | None = None,
        shared: Deadline | None = None,
    ) -> None:
        """The call of `op` that began at `started`, sending what `planned` says (None: its plan was
        refused, and all it can do is fail); `shared` is a deadline it shares with others."""
        self.cfg, self.op, self.clock, self.started = cfg, op, cfg.clock, started
        self.attempts = 0
        self.reach = FINAL  # set by the stage that made the last error
        self.retry_after: float | None = None
        self.waits: Iterator[float] | None = None  # the backoff schedule, built once a call has failed
        self.waited = 0.0
        self.at = self.total = None
        self.span: OperationSpan | None = None
        if planned is None:
            self.secrets = cfg.secrets
            return
        self.model, self.url, self.headers, self.body, self.retry, timeout, self.secrets, self.limits = planned
        self.attempt, self.connect, self.total = timeout.attempt, timeout.connect, timeout.total
        if shared is not None:
            self.started, self.total, self.at = shared.started, shared.total, shared.at
        elif timeout.total is not None:
            self.at = started + timeout.total

    def common(self) -> dict[str, Any]:
        return {
            "operation_id": self.op.id,
            "attempts": self.attempts,
            "elapsed": self.clock.monotonic() - self.started,
        }

    def timeout(self, which: Which, seconds: float | None, reason: str = "") -> RequestTimeoutError:
        reason = reason or (
            "the total deadline passed" if which == "total" else f"no complete response within {seconds}s"
        )
        if self.span is not None:
            self.span.deadline(which, seconds)
        return RequestTimeoutError(reason, deadline=which, timeout=seconds, **self.common())

    def replayable(self) -> bool:
        """Whether the body can be sent again (an async iterator upload cannot)."""
        body = self.body
        return not isinstance(body, Body) or body.replayable

    def retry_safe(self) -> bool:
        """Whether repeating the request cannot do harm; asked only once a call has failed."""
        if not self.replayable():
            return False  # its source is read as it is sent: a second attempt would send a different body
        return self.op.is_retry_safe(self.model) or any(k.lower() == "idempotency-key" for k in self.headers)

    def scrubbed(self, error: SessionkitError) -> SessionkitError:
        """`error` with every secret of the call taken out (message, body, text, headers, cause)."""
        return self.secrets.scrub_error(error)

    async def fail(self, error: SessionkitError) -> Err[SessionkitError]:
        """The one way an error leaves `execute`: scrubbed, seen by the hooks, logged."""
        error = self.secrets.scrub_error(error)
        hooks = self.cfg.hooks
        if hooks.after_error:
            await _run_hooks(hooks.after_error, HookContext(self.op.id, self.cfg.service, self.attempts), error)
        if logger.isEnabledFor(logging.INFO):
            logger.info("%s failed after %d attempt(s): %s", self.op.id, self.attempts, error.message)
        return Err(error)


async def _attempt(pool: Pool, call: _Call) -> Raw | SessionkitError:
    """Stage 2: one attempt on the wire, within the deadline; the final answer, or what stopped it."""
    handle = pool.handle()
    if isinstance(handle, str):
        call.reach = FINAL
        return InvalidRequestError(handle, field_path="core", **call.common())
    cfg = call.cfg
    url, headers, body = call.url, call.headers, call.body
    if cfg.hooks.before_request:
        changed = await _before_request(call)
        if isinstance(changed, SessionkitError):
            return changed
        url, headers, body = changed.url, changed.headers, changed.body
    try:
        timeout, watch, budget, which = call.arm_attempt(handle.watchdog)
    except DeadlinePassed:
        call.reach = FINAL
        return call.timeout("total", call.total)
    clock = cfg.clock
    started = clock.monotonic()
    ends = None if watch is not None or budget is None else started + budget
    # Python 3.10 and a streamed body: aiohttp's `total` would also cut the body's reading (each
    # read of it is bounded by the deadline), so `wait_for` holds the attempt up to the answer's head.
    held = watch is None and budget is not None and call.op.streams
    if held:
        timeout, ends = client_timeout(None, call.connect), None
    resend = None if call.span is None else call.attempts - 1  # marks the HTTP spans of retries
    sending = send_attempt(handle.send, call.op.method, url, headers, body, timeout, ends, clock, call.limits, resend)
    if held:
        sending = asyncio.wait_for(sending, budget)
    failure: BaseException
    try:
        raw = await sending
    except asyncio.CancelledError:
        if watch is None or not watch.fired():
            raise  # the caller's cancellation: it passes through
        failure = DeadlinePassed(which, budget)
    except Exception as exc:
        failure = exc
    else:
        if logger.isEnabledFor(logging.DEBUG):
            _log_attempt(call, url, headers, f"{raw.status} in {clock.monotonic() - started:.3f}s")
        return raw
    finally:
        if watch is not None:
            watch.slot.discard(watch)  # `watch.done()`, inline
    if isinstance(body, Body) and body.failed is not None:  # the caller's source, not the network
        call.reach = FINAL
        failed = body.failed
        error: SessionkitError = InvalidRequestError(
            failed.reason, field_path=f"$.{failed.field}", cause=failed.cause, **call.common()
        )
    else:
        error = _transport_error(call, failure, which, budget)
    if logger.isEnabledFor(logging.DEBUG):
        _log_attempt(call, url, headers, error.message)
    return error


async def _before_request(call: _Call) -> PreparedRequest | SessionkitError:
    """The before-request hooks see the request and may change its URL, headers or body."""
    req = PreparedRequest(call.op.method, call.url, dict(call.headers), call.body)
    await _run_hooks(call.cfg.hooks.before_request, HookContext(call.op.id, call.cfg.service, call.attempts), req)
    try:
        check_headers(req.headers)
    except OptionError as exc:
        call.reach = FINAL
        return InvalidRequestError(str(exc), field_path=exc.field_path, **call.common())
    return req


def _succeed(call: _Call, raw: Raw, max_bytes: int | None) -> Ok[Any] | ResponseValidationError:
    """Stage 4: the decoded model (or the open body of a streamed operation) with its metadata."""
    op = call.op
    value: Any
    if op.streams:
        value = ByteStream(raw, limit=max_bytes, errors=_StreamErrors(call), deadline=call)
    else:
        value = _decode(op, raw, call)
        if type(value) is ResponseValidationError:
            return value
    headers = raw.headers
    elapsed = call.clock.monotonic() - call.started
    return ok_with_meta(value, op.id, raw.status, headers, call.attempts, elapsed, _request_id(headers))


async def _after_success(call: _Call, ok: Ok[Any]) -> None:
    cfg = call.cfg
    context = HookContext(call.op.id, cfg.service, call.attempts)
    await _run_hooks(cfg.hooks.after_success, context, ok.meta, ok.value)


def _request_id(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value is not None:
            return value
    return None


def _summary(body: Any, text: str) -> str:
    message = message_from_body(body)
    if message is None:
        if text.lstrip()[:1] == "<":  # an HTML error page says nothing a caller can use
            return ""
        message = text[:200]
    return clean_text(message)


def _classify(call: _Call, raw: Raw, statuses: frozenset[int]) -> APIError:
    """Stage 3 for a failing status: the typed error, and whether the status is worth another attempt."""
    text = raw.text()
    body: Any = None
    if text.lstrip()[:1] in ("{", "["):
        try:
            body = _json.loads(text)
        except ValueError:
            body = None
    cfg, status = call.cfg, raw.status
    cls = call.op.error_class(status) or cfg.classify(status, body)
    summary = raw.note or raw.problem or _summary(body, text)
    message = f"{status} {clean_text(raw.reason)}".rstrip() + (f": {summary}" if summary else "")
    hint = cfg.hints.get(status)
    if hint:
        message += f" ({hint})"
    kwargs: dict[str, Any] = dict(
        status=status, body=body, raw_text=text, headers=raw.headers, request_id=_request_id(raw.headers)
    )
    retry_after: float | None = None
    if issubclass(cls, RateLimitError) or status in statuses:
        retry_after = parse_retry_after(raw.headers, cfg.clock.wall())
    if issubclass(cls, RateLimitError):
        kwargs["retry_after"] = retry_after
    # The server refused a 429 before acting on it: repeatable whatever the method.
    call.reach = (ALWAYS if status == 429 else IF_SAFE) if status in statuses else FINAL
    call.retry_after = retry_after
    return cls(message, **kwargs, **call.common())


def _decode(op: Operation[Any, Any], raw: Raw, call: _Call) -> Any:
    """Stage 4: the decoded model, or a `ResponseValidationError`."""
    if op.response is None:
        return None
    try:
        if raw.problem:
            raise StructureFailure(raw.problem, "")
        try:
            data = _json.loads_for_model(raw.body) if op.parse is None else op.parse(raw.body)
        except ValueError as exc:
            reason = f"the body is not JSON ({exc})" if op.parse is None else f"the body cannot be read ({exc})"
            raise StructureFailure(reason, "$") from None
        except RecursionError:  # the standard library's parser, called straight
            raise StructureFailure(f"the body is not JSON ({_json.JSONDepthError()})", "$") from None
        if op.decode is not None:
            data = op.decode(data)
        return (op.structure or op.structure_fn())(data)
    except StructureFailure as exc:
        reason, path = exc.reason, exc.path
    except Exception as exc:  # a decode hook that choked on unexpected data is still a validation error
        reason, path = f"{type(exc).__name__}: {exc}", "$"
    return ResponseValidationError(
        clean_text(reason),
        field_path=path,
        raw_text=raw.text(),
        status=raw.status,
        headers=raw.headers,
        **call.common(),
    )


_NO_SUCH_NAME = frozenset(
    code for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None)) if code is not None
)


def _unknown_host(exc: BaseException) -> bool:
    os_error = getattr(exc, "os_error", None)
    return isinstance(os_error, socket.gaierror) and os_error.errno in _NO_SUCH_NAME


def _transport_error(call: _Call, exc: BaseException, which: Which, budget: float | None) -> SessionkitError:
    """Stage 2's failures: a deadline, a URL that cannot be sent to, the request body's source, or the network."""
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):  # distinct classes on 3.10
        if isinstance(exc, DeadlinePassed):
            which = exc.which
        call.reach = IF_SAFE if which == "attempt" else FINAL
        seconds = budget if which == "attempt" else None
        return call.timeout(which, seconds)
    call.reach = FINAL
    text = clean_text(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, aiohttp.InvalidURL) or (
        isinstance(exc, ValueError) and not isinstance(exc, aiohttp.ClientError)
    ):
        return InvalidRequestError(f"cannot send to this URL: {text}", field_path="server_url", **call.common())
    if isinstance(exc, (aiohttp.ClientError, OSError)) and not _unknown_host(exc):
        # A name that does not exist will not exist a second later; a resolver that failed may recover.
        # A connection that was never made sent nothing: repeating it cannot act twice.
        call.reach = ALWAYS if isinstance(exc, aiohttp.ClientConnectorError) else IF_SAFE
    return ConnectionError(text, cause=exc, **call.common())


def _next_wait(call: _Call, error: SessionkitError) -> float | None:
    """Stage 5: how long to wait before the next attempt, or None to stop here."""
    retry = call.retry
    reach = call.reach
    if reach == FINAL or call.attempts > retry.max_retries:
        return None
    if isinstance(error, RequestTimeoutError):
        if not retry.retry_timeouts:
            return None
    elif isinstance(error, ConnectionError) and not retry.retry_connection_errors:
        return None
    if not (call.retry_safe() if reach == IF_SAFE else call.replayable()):
        return None
    retry_after = call.retry_after if isinstance(error, APIError) else None
    if retry_after is not None:
        if retry_after > retry.max_retry_after:
            return None
        wait = retry.honoured(retry_after)
    else:
        if call.waits is None:
            call.waits = retry.waits()
        wait = next(call.waits)
    if not 0.0 <= wait < float("inf") or call.waited + wait > retry.max_total_wait or not call.fits(wait):
        return None
    call.waited += wait
    if call.span is not None:
        call.span.retry(call.attempts, wait, type(error).__name__)
    return wait


def start(
    cfg: CoreConfig,
    pool: Pool,
    op: Operation[Any, Resp],
    request: Any,
    options: RequestOptions | None = None,
    **kw: Any,
) -> Coroutine[Any, Any, Result[Resp, SessionkitError]]:
    """`execute(...)`, inside one tracing span of `op` when OpenTelemetry is on (see `_tracing`)."""
    if TRACING:
        tracer = current_tracer()
        if tracer is not None:

            def run(span: OperationSpan) -> Coroutine[Any, Any, Result[Resp, SessionkitError]]:
                return execute(cfg, pool, op, request, options, span=span, **kw)

            return traced(tracer, op, cfg.service, request, run)
    return execute(cfg, pool, op, request, options, **kw)


async def _run_hooks(hooks: list[Any], *args: Any) -> None:
    for hook in hooks:
        outcome = hook(*args)
        if inspect.isawaitable(outcome):
            await outcome


class _StreamErrors(StreamErrors):
    """A streamed body's failures, as errors of the call that opened it (scrubbed like any other)."""

    def __init__(self, call: _Call) -> None:
        self._call = call

    def read_failed(self, exc: BaseException) -> SessionkitError:
        call = self._call
        if isinstance(exc, DeadlinePassed):
            if exc.which == "total":
                error: SessionkitError = call.timeout(
                    "total", exc.seconds, "the total deadline passed while reading the body"
                )
            else:
                error = call.timeout("attempt", exc.seconds, f"no data for {exc.seconds}s while reading the body")
        else:
            error = _transport_error(call, exc, "attempt", call.attempt)
        return call.scrubbed(error)

    def refused(self, exc: BodyTooLarge | EncodingRefused) -> SessionkitError:
        if isinstance(exc, BodyTooLarge):
            reason = f"the response body is larger than max_bytes ({exc.limit} bytes)"
        else:
            reason = str(exc)
        return self._call.scrubbed(ResponseValidationError(reason, field_path="", **self._call.common()))

    def write_failed(self, exc: OSError, path: Path) -> SessionkitError:
        reason = f"cannot write the body to {str(path)!r}: {exc.strerror or exc}"
        return self._call.scrubbed(InvalidRequestError(reason, field_path="to", **self._call.common()))


def _log_attempt(call: _Call, url: str, headers: Mapping[str, str], outcome: str) -> None:
    shown = clean_text(call.secrets.scrub(redact_url(url)))
    shown_headers = redact_headers(headers, call.secrets.names)
    logger.debug(
        "%s attempt %d %s %s -> %s headers=%s", call.op.id, call.attempts, call.op.method, shown, outcome, shown_headers
    )
