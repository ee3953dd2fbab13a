"""Operation declarations and the single request pipeline.

    build (validate input, options) -> send one attempt (pool, redirects, size cap) -> classify
      -> decode -> Ok(model) | decide the next wait -> ... -> Err(error)

Every operation of every service goes through `execute`; nothing else sends HTTP. Each stage is a
small function that returns a value or an error; time and sleep come from the core's clock.
A body is JSON bytes, or a `Body` built per attempt (multipart, streamed from its source). An
operation whose response is `ByteStream` is not decoded: its success body is left open for the
caller to read in chunks, within the deadlines and a size cap.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import socket
import sys
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast
from urllib.parse import quote, urlencode

import aiohttp
import attrs

from . import _json  # pyright: ignore[reportPrivateUsage]  # its loads/dumps are switched at run time
from ._bodies import Body, Multipart
from ._hooks import HookContext, PreparedRequest
from ._json import JSONInputError
from ._logging import logger, redact_headers
from ._options import (
    OptionError,
    RequestOptions,
    Timeout,
    check_headers,
    check_server_url,
    resolve_retry,
    resolve_timeout,
)
from ._retry import RetryConfig, parse_retry_after
from ._secrets import Secrets, redact_url
from ._serde import StructureFailure, dumps, structure_hook, structure_request, unstructure
from ._transport import Attempt, ByteStream, Raw, StreamErrors, client_timeout, send_attempt, watched_timeout
from ._watchdog import Watch
from .errors import (
    APIError,
    ConnectionError,
    InvalidRequestError,
    RateLimitError,
    RequestTimeoutError,
    ResponseValidationError,
    SessionkitError,
    clean_text,
    lookup_status,
    message_from_body,
)
from .result import Err, Ok, ResponseMeta, Result

if TYPE_CHECKING:
    from pathlib import Path

    from ._clock import Clock
    from ._core import BaseCore, CoreConfig

__all__ = ["Operation", "RequestOptions", "Timeout", "execute"]

Req = TypeVar("Req")
Resp = TypeVar("Resp")

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_PLACEHOLDER = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "cf-ray")


def _named(value: object) -> str:
    """A callable by its qualified name, so an `Operation`'s repr reads like its declaration."""
    if callable(value) and not typing.get_args(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', type(value).__name__)}"
    return repr(value)


@attrs.frozen(eq=False)
class Operation(Generic[Req, Resp]):
    """One operation of one service, as data.

    Every field named here is the request model's Python name. `path` placeholders name fields
    sent as one percent-encoded path segment. `body` is "*" (the request minus path, query and header
    fields), the name of one request field, or None (no body). `query` and `headers` name fields sent
    there (a list field as a repeated query parameter). A name that is not a field fails at import.
    `form` sends the body fields as `multipart/form-data` parts instead of JSON (an `Upload` field
    as a file part, streamed from its source). `accept` replaces the core's `Accept` header.
    `response=ByteStream` leaves the success body unread: the call returns it open (see `execute`).
    `decode` reshapes the parsed JSON before it is structured (envelopes, `null` lists).
    `validate` checks a built request model for rules types cannot say; it returns
    `(field_path, reason)` for a bad one, and the call ends in `InvalidRequestError` before sending.
    """

    id: str
    method: str
    path: str
    request: type[Req] | None = attrs.field(default=None, repr=_named)
    response: Any = attrs.field(default=None, repr=_named)
    success: tuple[int, ...] = (200,)
    errors: Mapping[int | str, type[APIError]] = attrs.field(factory=dict[int | str, "type[APIError]"])
    retry_safe: bool | Callable[[Any], bool] | None = attrs.field(default=None, repr=_named)
    body: str | None = "*"
    query: tuple[str, ...] = ()
    headers: Mapping[str, str] = attrs.field(factory=dict[str, str])
    send_empty_body: bool = True
    form: bool = False
    accept: str | None = None
    decode: Callable[[Any], Any] | None = attrs.field(default=None, repr=_named)
    validate: Callable[[Any], tuple[str, str] | None] | None = attrs.field(default=None, repr=_named)
    path_params: tuple[str, ...] = attrs.field(init=False)
    _structure: Callable[[Any], Any] | None = attrs.field(init=False, default=None, repr=False)
    _wire: Mapping[str, str] = attrs.field(init=False, repr=False)
    streams: bool = attrs.field(init=False, repr=False)
    path_only: bool = attrs.field(init=False, repr=False)
    fixed_headers: tuple[tuple[str, str], ...] = attrs.field(init=False, repr=False)
    json_headers: tuple[tuple[str, str], ...] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "path_params", tuple(_PLACEHOLDER.findall(self.path)))
        fields = attrs.fields(self.request) if self.request is not None and attrs.has(self.request) else ()
        wire = {a.name: a.metadata.get("wire", a.name) for a in fields}
        named = [*self.path_params, *self.query, *self.headers, *([self.body] if self.body not in (None, "*") else [])]
        unknown = [n for n in named if n not in wire]
        if unknown and self.request is not None:
            raise ValueError(f"{self.id}: {unknown} are not fields of {self.request.__name__}")
        object.__setattr__(self, "_wire", wire)
        # Whether the success body is handed to the caller open (`response=ByteStream`).
        object.__setattr__(self, "streams", self.response is ByteStream)
        # Whether a request is nothing but `str` path fields (a get or delete by id): then the path
        # is read off the model, with no round trip through its JSON form.
        object.__setattr__(self, "path_only", self._is_path_only(fields))
        fixed = (("Accept", self.accept),) if self.accept is not None else ()
        object.__setattr__(self, "fixed_headers", fixed)
        object.__setattr__(self, "json_headers", (*fixed, ("Content-Type", "application/json")))

    def _is_path_only(self, fields: Any) -> bool:
        if self.request is None or not self.path_params or self.query or self.headers or self.body is not None:
            return False
        try:
            hints = typing.get_type_hints(self.request)
        except Exception:  # a forward reference that cannot be resolved here: take the general path
            return False
        names = {a.name for a in fields}
        return names == set(self.path_params) and all(hints.get(n) is str for n in names)

    def wire(self, name: str) -> str:
        """The JSON name of the request field `name`."""
        return self._wire.get(name, name)

    def is_retry_safe(self, model: Any) -> bool:
        if self.retry_safe is None:
            return self.method in _IDEMPOTENT_METHODS
        if isinstance(self.retry_safe, bool):
            return self.retry_safe
        return bool(self.retry_safe(model))

    def structure_response(self, data: Any) -> Any:
        fn = self._structure
        if fn is None:
            fn = structure_hook(self.response)
            object.__setattr__(self, "_structure", fn)
        return fn(data)

    def error_class(self, status: int) -> type[APIError] | None:
        """The error class this operation declares for `status`, if any (it overrides the service's)."""
        return lookup_status(self.errors, status)


@attrs.define
class _Prepared:
    model: Any
    path: str
    query: str
    headers: dict[str, str]  # from the request's fields: checked per call
    body: bytes | Body | None
    fixed: tuple[tuple[str, str], ...] = ()  # the operation's own (Accept, JSON Content-Type): merged once per core


class _Invalid(Exception):
    """Bad input inside `_prepare`; it never leaves this module."""

    def __init__(self, reason: str, field_path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field_path = field_path


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_UNRESERVED = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*").fullmatch  # RFC 3986: sent as it is


def _segment(value: str) -> str:
    """`value` as one path segment. "." and ".." become %2E so no server or proxy resolves them."""
    if _UNRESERVED(value) is not None:  # the usual id: nothing to escape, and it cannot be all dots
        return value
    encoded = quote(value, safe="")
    return encoded if encoded.strip(".") else encoded.replace(".", "%2E")


def _direct_path(op: Operation[Any, Any], model: Any) -> str | None:
    """The path of a path-only request read straight off the model's string fields; None when a
    value is not a plain non-empty string, for the general path to judge."""
    path = op.path
    for name in op.path_params:
        value = getattr(model, name)
        if type(value) is not str or not value:
            return None
        try:
            path = path.replace("{" + name + "}", _segment(value))
        except UnicodeEncodeError:
            return None
    return path


def _prepare(op: Operation[Any, Any], request: Any) -> _Prepared:
    model: Any = None
    data: dict[str, Any] = {}
    if op.request is not None:
        if isinstance(request, op.request):
            model = request
        elif request is None or isinstance(request, Mapping):
            try:
                model = structure_request(dict(cast("Mapping[str, Any]", request or {})), op.request)
            except StructureFailure as exc:
                raise _Invalid(exc.reason, exc.path) from None
        else:
            raise _Invalid(f"expected {op.request.__name__} or a mapping, got {type(request).__name__}", "$")
        if op.validate is not None:
            problem = op.validate(model)
            if problem is not None:
                raise _Invalid(problem[1], problem[0])
        if op.path_only:  # a get or a delete by id: the path is all there is to build
            path = _direct_path(op, model)
            if path is not None:
                return _Prepared(model, path, "", {}, None, op.fixed_headers)
        try:
            data = unstructure(model)
        except Exception as exc:  # a hand-built model holding a value of the wrong type
            raise _Invalid(f"cannot serialise the request: {type(exc).__name__}: {exc}", "$") from None
    elif request is not None:
        raise _Invalid(f"{op.id} takes no request, got {type(request).__name__}", "$")

    path = op.path
    for name in op.path_params:
        value = data.pop(op.wire(name), None)
        if value is None or value == "":
            raise _Invalid("a non-empty path parameter is required", f"$.{name}")
        try:
            path = path.replace("{" + name + "}", _segment(str(value)))
        except UnicodeEncodeError:
            raise _Invalid("not valid Unicode (it holds a lone surrogate)", f"$.{name}") from None
    query = ""
    if op.query:
        pairs: list[tuple[str, str]] = []
        for name in op.query:
            value = data.pop(op.wire(name), None)
            values = cast("list[Any]", value) if isinstance(value, list) else [] if value is None else [value]
            pairs += [(op.wire(name), _query_value(v)) for v in values]
        try:
            query = urlencode(pairs, quote_via=quote)
        except UnicodeEncodeError:
            raise _Invalid("a query value is not valid Unicode (it holds a lone surrogate)", "$") from None
    headers: dict[str, str] = {}
    for name, header in op.headers.items():
        value = data.pop(op.wire(name), None)
        if value is not None:
            headers[header] = str(value)

    payload: Any
    if op.body is None:
        payload = None
    elif op.body == "*":
        payload = data
    else:
        payload = data.get(op.wire(op.body))
    if payload is None or (payload == {} and not op.send_empty_body):
        return _Prepared(model, path, query, headers, None, op.fixed_headers)
    if op.form:
        fields = cast("dict[str, Any]", payload) if isinstance(payload, dict) else {op.wire(op.body or ""): payload}
        form = Multipart(list(fields.items()))
        problem = form.check()
        if problem is not None:
            raise _Invalid(problem[1], problem[0])
        headers["Content-Type"] = form.content_type
        return _Prepared(model, path, query, headers, form, op.fixed_headers)
    try:
        body = dumps(payload)
    except JSONInputError as exc:
        prefix = "$" if op.body == "*" else f"$.{op.body}"
        raise _Invalid(f"body is not JSON: {exc.reason}", prefix + exc.path[1:]) from None
    except (TypeError, ValueError) as exc:  # a lone surrogate in a string
        raise _Invalid(f"body is not JSON-serialisable: {exc}", "$") from None
    return _Prepared(model, path, query, headers, body, op.json_headers)


class _Plan:
    """A validated call: what to send, and the policy it runs under (a plain slotted class, built
    once per call)."""

    __slots__ = ("body", "headers", "model", "op", "retry", "secrets", "timeout", "url")

    def __init__(
        self,
        op: Operation[Any, Any],
        model: Any,
        url: str,
        headers: Mapping[str, str],
        body: bytes | Body | None,
        retry: RetryConfig,
        timeout: Timeout,
        secrets: Secrets,
    ) -> None:
        self.op, self.model, self.url, self.headers, self.body = op, model, url, headers, body
        self.retry, self.timeout, self.secrets = retry, timeout, secrets

    def retry_safe(self) -> bool:
        """Whether repeating the request cannot do harm; asked only once a call has failed."""
        if isinstance(self.body, Body) and not self.body.replayable:
            return False  # its source is read as it is sent: a second attempt would send a different body
        return self.op.is_retry_safe(self.model) or any(k.lower() == "idempotency-key" for k in self.headers)


def _plan(cfg: CoreConfig, op: Operation[Any, Any], request: Any, options: RequestOptions | None) -> _Plan:
    """Stage 1: validate the request and the per-call options; raises `_Invalid`."""
    if cfg.problem is not None:
        raise _Invalid(*cfg.problem)
    prepared = _prepare(op, request)
    headers = cfg.headers
    retry, timeout, secrets, base_url = cfg.retry, cfg.timeout, cfg.secrets, cfg.server_url
    if options is not None:
        if not isinstance(options, RequestOptions):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise _Invalid(f"options must be a RequestOptions, got {type(options).__name__}", "options")
        try:
            retry = resolve_retry(options.retries, retry, "options.retries")
            timeout = resolve_timeout(options.timeout, timeout, "options.timeout")
            if options.server_url is not None:
                base_url = check_server_url(options.server_url, "options.server_url")
            extra: dict[str, str] = {}
            if options.headers is not None:
                if not isinstance(options.headers, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
                    raise OptionError("options.headers must be a mapping of names to values", "options.headers")
                extra.update(options.headers)
            if options.idempotency_key is not None:
                extra["Idempotency-Key"] = options.idempotency_key
            if extra:
                check_headers(extra)
                secrets = secrets.with_headers(extra)
                headers = {**headers, **extra}
        except OptionError as exc:
            raise _Invalid(str(exc), exc.field_path) from None
    if prepared.fixed:  # the operation's constants: merged with the core's headers once, then reused
        headers = cfg.merged_headers(prepared.fixed) if headers is cfg.headers else {**headers, **dict(prepared.fixed)}
    if prepared.headers:
        try:
            check_headers(prepared.headers)
        except OptionError as exc:
            raise _Invalid(str(exc), exc.field_path) from None
        headers = {**headers, **prepared.headers}
    url = base_url + cfg.path_prefix + prepared.path + ("?" + prepared.query if prepared.query else "")
    return _Plan(op, prepared.model, url, headers, prepared.body, retry, timeout, secrets)


def _parse_json(raw: bytes | str) -> Any:
    try:
        return _json.loads(raw)
    except RecursionError:  # a hostile, absurdly nested body must not escape as an exception
        raise ValueError("JSON nested too deeply") from None


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


class _Call:
    """The bookkeeping of one call: attempts, elapsed time, and the metadata every error carries."""

    __slots__ = ("attempts", "cfg", "op", "started")

    def __init__(self, cfg: CoreConfig, op: Operation[Any, Any]) -> None:
        self.cfg, self.op = cfg, op
        self.started = cfg.clock.monotonic()
        self.attempts = 0

    def common(self) -> dict[str, Any]:
        return {
            "operation_id": self.op.id,
            "attempts": self.attempts,
            "elapsed": self.cfg.clock.monotonic() - self.started,
        }

    def total_timeout(self, timeout: Timeout) -> RequestTimeoutError:
        """The call's total deadline passed (before an attempt, or during one)."""
        return RequestTimeoutError(
            "the total deadline passed", deadline="total", timeout=timeout.total, **self.common()
        )


def _api_error(call: _Call, raw: Raw, secrets: Secrets) -> APIError:
    """Stage 3 for a failing status: the typed error, with every secret scrubbed from what it shows."""
    text = secrets.scrub(raw.text())
    body: Any = None
    if text.lstrip()[:1] in ("{", "["):
        try:
            body = _parse_json(text)
        except ValueError:
            body = None
    cls = call.op.error_class(raw.status) or call.cfg.classify(raw.status, body)
    summary = raw.note or _summary(body, text)
    message = f"{raw.status} {clean_text(raw.reason)}".rstrip() + (f": {summary}" if summary else "")
    hint = call.cfg.hints.get(raw.status)
    if hint:
        message += f" ({hint})"
    kwargs: dict[str, Any] = dict(
        status=raw.status,
        body=body,
        raw_text=text,
        headers=secrets.scrub_headers(raw.headers),
        request_id=_request_id(raw.headers),
        **call.common(),
    )
    if issubclass(cls, RateLimitError):
        kwargs["retry_after"] = parse_retry_after(raw.headers, call.cfg.clock.wall())
    return cls(message, **kwargs)


def _decode(op: Operation[Any, Any], raw: Raw, call: _Call, secrets: Secrets) -> Any:
    """Stage 4: the decoded model, or a `ResponseValidationError`."""
    if op.response is None:
        return None
    try:
        if raw.too_large:
            raise StructureFailure("the response body is larger than max_response_bytes", "")
        try:
            data = _parse_json(raw.body)
        except ValueError as exc:
            raise StructureFailure(f"the body is not JSON ({exc})", "$") from None
        if op.decode is not None:
            data = op.decode(data)
        return op.structure_response(data)
    except StructureFailure as exc:
        reason, path = exc.reason, exc.path
    except Exception as exc:  # a decode hook that choked on unexpected data is still a validation error
        reason, path = f"{type(exc).__name__}: {exc}", "$"
    return ResponseValidationError(
        clean_text(secrets.scrub(reason)),
        field_path=secrets.scrub(path),
        raw_text=secrets.scrub(raw.text()),
        status=raw.status,
        headers=secrets.scrub_headers(raw.headers),
        **call.common(),
    )


def _transport_error(exc: BaseException, timeout: float | None, call: _Call, secrets: Secrets) -> SessionkitError:
    """Stage 2's failures: a deadline, a URL that cannot be sent to, or the network."""
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):  # distinct classes on 3.10
        return RequestTimeoutError(
            f"no complete response within the per-attempt timeout ({timeout}s)",
            deadline="attempt",
            timeout=timeout,
            **call.common(),
        )
    text = clean_text(secrets.scrub(f"{type(exc).__name__}: {exc}"))
    if isinstance(exc, aiohttp.InvalidURL) or (
        isinstance(exc, ValueError) and not isinstance(exc, aiohttp.ClientError)
    ):
        return InvalidRequestError(f"cannot send to this URL: {text}", field_path="server_url", **call.common())
    return ConnectionError(text, cause=secrets.scrub_exception(exc), **call.common())


def _retryable(exc: BaseException | None, error: SessionkitError, status: int, retry: RetryConfig) -> bool:
    """Whether this failure is worth another attempt, whatever the budget says."""
    if exc is None:
        return status in retry.statuses
    if isinstance(error, RequestTimeoutError):
        return error.deadline == "attempt" and retry.retry_timeouts
    # Only what the network does is worth repeating; anything else would fail the same way again.
    # A name that does not exist will not exist a second later; a resolver that failed may recover.
    network = isinstance(exc, (aiohttp.ClientError, OSError)) and not _unknown_host(exc)
    return isinstance(error, ConnectionError) and network and retry.retry_connection_errors


_NO_SUCH_NAME = frozenset(
    code for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None)) if code is not None
)


def _unknown_host(exc: BaseException) -> bool:
    os_error = getattr(exc, "os_error", None)
    return isinstance(os_error, socket.gaierror) and os_error.errno in _NO_SUCH_NAME


def _next_wait(
    plan: _Plan, call: _Call, waits: Iterator[float], waited: float, retry_after: float | None, deadline: float | None
) -> float | None:
    """Stage 5: how long to wait before the next attempt, or None to stop here."""
    retry = plan.retry
    if call.attempts > retry.max_retries or not plan.retry_safe():
        return None
    if retry_after is not None and retry_after > retry.max_retry_after:
        return None
    wait = retry_after if retry_after is not None else next(waits)
    if not 0.0 <= wait < float("inf") or waited + wait > retry.max_total_wait:
        return None
    if deadline is not None and call.cfg.clock.monotonic() + wait >= deadline:
        return None
    return wait


async def _run_hooks(hooks: list[Any], *args: Any) -> None:
    for hook in hooks:
        outcome = hook(*args)
        if inspect.isawaitable(outcome):
            await outcome


async def _fail(call: _Call, error: SessionkitError) -> Err[SessionkitError]:
    hooks = call.cfg.hooks
    if hooks.after_error:
        await _run_hooks(hooks.after_error, HookContext(call.op.id, call.cfg.service, call.attempts), error)
    if logger.isEnabledFor(logging.INFO):
        logger.info("%s failed after %d attempt(s): %s", call.op.id, call.attempts, error.message)
    return Err(error)


async def execute(
    core: BaseCore,
    op: Operation[Any, Resp],
    request: Any,
    options: RequestOptions | None,
    *,
    max_bytes: int | None = None,
) -> Result[Resp, SessionkitError]:
    """Run `op` through the pipeline. Returns a value for everything but cancellation.

    For a streamed operation (`response=ByteStream`) the value is the open body: `max_bytes` caps
    it (None: no cap), `Timeout.attempt` bounds each silence while it is read (and the wait for the
    response) and `Timeout.total` the whole call, reading included.
    """
    cfg = core.config
    call = _Call(cfg, op)
    streamed = op.streams
    if streamed and max_bytes is not None and (type(max_bytes) is not int or max_bytes < 1):
        return await _fail(call, InvalidRequestError("must be an int >= 1 or None", field_path="max_bytes"))
    try:
        plan = _plan(cfg, op, request, options)
    except _Invalid as exc:
        return await _fail(call, InvalidRequestError(exc.reason, field_path=exc.field_path, **call.common()))

    clock, hooks, secrets, limiter = cfg.clock, cfg.hooks, plan.secrets, cfg.limiter
    timeout = plan.timeout
    deadline = call.started + timeout.total if timeout.total is not None else None
    waits: Iterator[float] | None = None  # the backoff schedule, built only once a call has failed
    waited = 0.0
    debug = logger.isEnabledFor(logging.DEBUG)
    while True:
        call.attempts += 1
        pool = core.pool()
        if isinstance(pool, str):
            return await _fail(call, InvalidRequestError(pool, field_path="core", **call.common()))
        if limiter is not None:  # the core's rate limit holds for every attempt, retries included
            refused = await limiter.acquire(clock, deadline)
            if refused is not None:
                return await _fail(call, refused.error(timeout.total, **call.common()))
        per_attempt = timeout.attempt
        if deadline is not None:
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                return await _fail(call, call.total_timeout(timeout))
            per_attempt = remaining if per_attempt is None else min(per_attempt, remaining)
        url, headers, body = plan.url, plan.headers, plan.body
        if hooks.before_request:
            req = PreparedRequest(op.method, url, dict(headers), body)
            await _run_hooks(hooks.before_request, HookContext(op.id, cfg.service, call.attempts), req)
            try:
                check_headers(req.headers)
            except OptionError as exc:
                return await _fail(call, InvalidRequestError(str(exc), field_path=exc.field_path, **call.common()))
            url, headers, body = req.url, req.headers, req.body
        attempt_started = clock.monotonic()
        watch: Watch | None = None
        if streamed:  # the body outlives the attempt: bound its silences, and the call as a whole
            ends, aiohttp_timeout = deadline, client_timeout(_left(deadline, clock), timeout.connect, timeout.attempt)
        else:
            ends = None if per_attempt is None else attempt_started + per_attempt
            if per_attempt is not None and WATCHDOG:
                aiohttp_timeout = watched_timeout(timeout.connect)
                watch = core.watchdog().watch(per_attempt)
            else:
                aiohttp_timeout = client_timeout(per_attempt, timeout.connect)
        attempt = Attempt(
            op.method,
            url,
            headers,
            body,
            timeout.connect,
            ends,
            clock,
            cfg.max_response_bytes,
            secrets.names,
            cfg.proxies,
            op.success if streamed else (),
            watch is not None,
        )
        failure: BaseException | None = None
        status = 0
        retry_after: float | None = None
        raw: Raw | None = None
        try:
            raw = await send_attempt(pool, attempt, aiohttp_timeout)
        except asyncio.CancelledError:
            if watch is None or not _expired(watch):
                raise  # the caller's cancellation: it passes through
            failure = TimeoutError("the per-attempt deadline passed")
        except Exception as exc:
            failure = exc
        finally:
            if watch is not None:
                watch.done()
        if raw is None:
            assert failure is not None
            error = _transport_error(failure, per_attempt, call, secrets)
            if isinstance(error, RequestTimeoutError) and deadline is not None and clock.monotonic() >= deadline:
                error = call.total_timeout(timeout)
            if debug:
                logger.debug(
                    "%s attempt %d %s %s -> %s", op.id, call.attempts, op.method, _shown(url, secrets), error.message
                )
        else:
            status = raw.status
            if debug:
                logger.debug(
                    "%s attempt %d %s %s -> %d in %.3fs headers=%s",
                    op.id,
                    call.attempts,
                    op.method,
                    _shown(url, secrets),
                    status,
                    clock.monotonic() - attempt_started,
                    redact_headers(headers, secrets.names),
                )
            if status in op.success:
                value: Any
                if streamed:
                    value = ByteStream(raw, limit=max_bytes, errors=_StreamErrors(call, secrets, timeout, deadline))
                else:
                    value = _decode(op, raw, call, secrets)
                if isinstance(value, ResponseValidationError):
                    return await _fail(call, value)
                meta = ResponseMeta(
                    op.id,
                    status,
                    raw.headers,
                    call.attempts,
                    clock.monotonic() - call.started,
                    _request_id(raw.headers),
                )
                if hooks.after_success:
                    await _run_hooks(hooks.after_success, HookContext(op.id, cfg.service, call.attempts), meta, value)
                return Ok(value, meta=meta)
            error = _api_error(call, raw, secrets)
            if status in plan.retry.statuses:  # a RateLimitError has read it already
                retry_after = (
                    error.retry_after
                    if isinstance(error, RateLimitError)
                    else parse_retry_after(raw.headers, clock.wall())
                )

        if not _retryable(failure, error, status, plan.retry) or core.closed_by_caller:
            return await _fail(call, error)
        if waits is None:
            waits = plan.retry.waits()
        wait = _next_wait(plan, call, waits, waited, retry_after, deadline)
        if wait is None:
            return await _fail(call, error)
        waited += wait
        await clock.sleep(wait)


# Python 3.11+: `Task.uncancel` lets the watchdog's cancellation be told from the caller's.
WATCHDOG = sys.version_info >= (3, 11)


def _expired(watch: Watch) -> bool:
    """Whether a CancelledError came from this attempt's deadline alone (it is then undone).

    A caller's cancellation that arrives with it is still counted on the task, and wins.
    """
    if not watch.expired or sys.version_info < (3, 11):  # never watched before 3.11
        return False
    return watch.task.uncancel() == 0


def _left(deadline: float | None, clock: Clock) -> float | None:
    return None if deadline is None else max(deadline - clock.monotonic(), 0.001)


class _StreamErrors(StreamErrors):
    """A streamed body's failures, as errors of the call that opened it."""

    def __init__(self, call: _Call, secrets: Secrets, timeout: Timeout, deadline: float | None) -> None:
        self._call, self._secrets, self._timeout, self._deadline = call, secrets, timeout, deadline

    def read_failed(self, exc: BaseException) -> SessionkitError:
        call = self._call
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            if self._deadline is not None and call.cfg.clock.monotonic() >= self._deadline - 0.01:
                reason, deadline, seconds = (
                    "the total deadline passed while reading the body",
                    "total",
                    self._timeout.total,
                )
            else:
                reason, deadline, seconds = "no data while reading the body", "attempt", self._timeout.attempt
            return RequestTimeoutError(f"{reason} ({seconds}s)", deadline=deadline, timeout=seconds, **call.common())
        return _transport_error(exc, self._timeout.attempt, call, self._secrets)

    def too_large(self, limit: int) -> SessionkitError:
        return ResponseValidationError(
            f"the response body is larger than max_bytes ({limit} bytes)", field_path="", **self._call.common()
        )

    def write_failed(self, exc: OSError, path: Path) -> SessionkitError:
        reason = f"cannot write the body to {str(path)!r}: {exc.strerror or exc}"
        return InvalidRequestError(reason, field_path="to", **self._call.common())


def _shown(url: str, secrets: Secrets) -> str:
    """A URL as a log line may show it: no userinfo password, no secret value."""
    return clean_text(secrets.scrub(redact_url(url)))
