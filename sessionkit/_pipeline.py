"""Operation declarations and the single request pipeline.

    validate input -> build request -> before-request hooks -> send (pool) -> retry loop
      -> classify status -> decode with cattrs -> after hooks -> Ok(model) | Err(error)

Every operation of every service goes through `execute`; nothing else sends HTTP.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast
from urllib.parse import quote, urlencode, urljoin, urlsplit

import aiohttp
import attrs
from multidict import CIMultiDictProxy
from yarl import URL

from ._hooks import HookContext, PreparedRequest
from ._logging import logger, redact_headers
from ._retry import RetryConfig, parse_retry_after
from ._serde import StructureFailure, dumps, structure_hook, structure_request, unstructure
from .errors import (
    APIError,
    ConnectionError,
    InvalidRequestError,
    RateLimitError,
    RequestTimeoutError,
    ResponseValidationError,
    SessionkitError,
    message_from_body,
)
from .result import Err, Ok, ResponseMeta, Result

if TYPE_CHECKING:
    from ._core import BaseCore

__all__ = ["Operation", "RequestOptions", "Timeout", "execute"]

Req = TypeVar("Req")
Resp = TypeVar("Resp")

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_PLACEHOLDER = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "cf-ray")
_MAX_ERROR_TEXT = 1 << 20


@attrs.frozen
class Timeout:
    """Deadlines in seconds: per attempt, for the whole call including retries, and to connect."""

    attempt: float | None = 60.0
    total: float | None = None
    connect: float | None = 10.0


@attrs.frozen
class RequestOptions:
    """Per-call overrides of the core's configuration."""

    retries: RetryConfig | int | None = None
    timeout: Timeout | float | None = None
    server_url: str | None = None
    headers: Mapping[str, str] | None = None
    idempotency_key: str | None = None


def as_timeout(value: Timeout | float | None, default: Timeout) -> Timeout:
    if value is None:
        return default
    if isinstance(value, Timeout):
        return value
    return Timeout(attempt=float(value), total=default.total, connect=default.connect)


def as_retry(value: RetryConfig | int | None, default: RetryConfig) -> RetryConfig:
    if value is None:
        return default
    if isinstance(value, RetryConfig):
        return value
    return attrs.evolve(default, max_retries=int(value))


@attrs.frozen(eq=False)
class Operation(Generic[Req, Resp]):
    """One operation of one service, as data.

    `path` placeholders name wire fields of the request model; they are percent-encoded as one
    segment. `body` is "*" (the request minus path, query and header fields), the name of one
    request field, or None (no body). `query` and `headers` name request fields sent elsewhere.
    `decode` reshapes the parsed JSON before it is structured (envelopes, `null` lists).
    `validate` checks a built request model for rules types cannot say; it returns
    `(field_path, reason)` for a bad one, and the call ends in `InvalidRequestError` before sending.
    """

    id: str
    method: str
    path: str
    request: type[Req] | None = None
    response: Any = None
    success: tuple[int, ...] = (200,)
    errors: Mapping[int | str, type[APIError]] = attrs.field(factory=dict[int | str, "type[APIError]"])
    retry_safe: bool | Callable[[Any], bool] | None = None
    body: str | None = "*"
    query: tuple[str, ...] = ()
    headers: Mapping[str, str] = attrs.field(factory=dict[str, str])
    send_empty_body: bool = True
    decode: Callable[[Any], Any] | None = None
    validate: Callable[[Any], tuple[str, str] | None] | None = None
    path_params: tuple[str, ...] = attrs.field(init=False)
    _structure: Callable[[Any], Any] | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "path_params", tuple(_PLACEHOLDER.findall(self.path)))

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
        """The error class this operation declares for `status`, if any."""
        errors = self.errors
        if not errors:
            return None
        return errors.get(status) or errors.get(f"{status // 100}XX") or errors.get("default")


@attrs.define
class _Prepared:
    model: Any
    path: str
    query: str
    headers: dict[str, str]
    body: bytes | None


class _Invalid(Exception):
    def __init__(self, reason: str, field_path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field_path = field_path


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _segment(value: str) -> str:
    """`value` as one path segment. "." and ".." become %2E so no server or proxy resolves them."""
    encoded = quote(value, safe="")
    return encoded if encoded.strip(".") else encoded.replace(".", "%2E")


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
        try:
            data = unstructure(model)
        except Exception as exc:  # a hand-built model holding a value of the wrong type
            raise _Invalid(f"cannot serialise the request: {type(exc).__name__}: {exc}", "$") from None
    elif request is not None:
        raise _Invalid(f"{op.id} takes no request, got {type(request).__name__}", "$")

    path = op.path
    for name in op.path_params:
        value = data.pop(name, None)
        if value is None or value == "":
            raise _Invalid("a non-empty path parameter is required", f"$.{name}")
        path = path.replace("{" + name + "}", _segment(str(value)))
    query = ""
    if op.query:
        pairs = [(n, _query_value(data.pop(n))) for n in op.query if data.get(n) is not None]
        query = urlencode(pairs, quote_via=quote)
    headers: dict[str, str] = {}
    for name, header in op.headers.items():
        value = data.pop(name, None)
        if value is not None:
            headers[header] = str(value)

    payload: Any
    if op.body is None:
        payload = None
    elif op.body == "*":
        payload = data
    else:
        payload = data.get(op.body)
    if payload is None or (payload == {} and not op.send_empty_body):
        return _Prepared(model, path, query, headers, None)
    try:
        body = dumps(payload)
    except (TypeError, ValueError) as exc:
        raise _Invalid(f"body is not JSON-serialisable: {exc}", "$") from None
    headers["Content-Type"] = "application/json"
    return _Prepared(model, path, query, headers, body)


def check_header_values(headers: Mapping[str, str]) -> None:
    """Raise `_Invalid` for a header that is not a string or holds CR, LF or NUL (header injection)."""
    for name, value in headers.items():
        if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may not be typed
            raise _Invalid(f"header {name!r} must be a string", f"headers.{name}")
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or "\0" in value:
            # The path is escaped too: a bad name must not put a line break into error text or logs.
            escaped = name.replace("\r", "\\r").replace("\n", "\\n")
            raise _Invalid(f"header {name!r} contains a line break", f"headers.{escaped}")


class _TooManyRedirectsError(aiohttp.ClientError):
    pass


@attrs.define
class _Raw:
    status: int
    reason: str
    headers: CIMultiDictProxy[str]
    body: bytes
    too_large: bool = False

    def text(self) -> str:
        """The start of the body as text, for error messages (at most 1 MiB, bad UTF-8 replaced)."""
        return self.body[:_MAX_ERROR_TEXT].decode("utf-8", "replace")


def _same_origin(a: str, b: str) -> bool:
    sa, sb = urlsplit(a), urlsplit(b)
    return (sa.scheme, sa.hostname, sa.port) == (sb.scheme, sb.hostname, sb.port)


async def _attempt(
    core: BaseCore, method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: aiohttp.ClientTimeout
) -> _Raw:
    """One attempt, following redirects by hand so that secrets never cross to another origin."""
    session = core.client_session()
    for _ in range(_MAX_REDIRECTS + 1):
        async with session.request(
            method, URL(url, encoded=True), headers=headers, data=body, timeout=timeout, allow_redirects=False
        ) as resp:
            location = resp.headers.get("Location")
            if resp.status in _REDIRECTS and location:
                target = urljoin(url, location)
                if not _same_origin(url, target):
                    headers = {k: v for k, v in headers.items() if k.lower() not in core.secret_headers}
                if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                    method, body = "GET", None
                    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
                url = target
                continue
            limit = core.max_response_bytes
            length = resp.content_length
            if length is not None and length > limit:
                return _Raw(resp.status, resp.reason or "", resp.headers, b"", too_large=True)
            if length is not None:
                data = await resp.read()
            else:
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(1 << 16):
                    size += len(chunk)
                    if size > limit:
                        return _Raw(resp.status, resp.reason or "", resp.headers, b"", too_large=True)
                    chunks.append(chunk)
                data = b"".join(chunks)
            return _Raw(resp.status, resp.reason or "", resp.headers, data)
    raise _TooManyRedirectsError(f"more than {_MAX_REDIRECTS} redirects, last to {url}")


def _parse_json(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:  # a hostile, absurdly nested body must not escape as an exception
        raise ValueError("JSON nested too deeply") from None


def _api_error(core: BaseCore, op: Operation[Any, Any], raw: _Raw, common: dict[str, Any]) -> APIError:
    text = raw.text()
    body: Any = None
    if text[:1] in ("{", "[") or text.strip()[:1] in ("{", "["):
        try:
            body = _parse_json(text)
        except ValueError:
            body = None
    cls = core.error_class(op, raw.status, body)
    request_id = _request_id(raw.headers)
    headers = dict(raw.headers)
    summary = _summary(body, text)
    message = f"{raw.status} {raw.reason}".rstrip() + (f": {summary}" if summary else "")
    kwargs: dict[str, Any] = dict(
        status=raw.status, body=body, raw_text=text, headers=headers, request_id=request_id, **common
    )
    if issubclass(cls, RateLimitError):
        kwargs["retry_after"] = parse_retry_after(raw.headers)
    return cls(message, **kwargs)


def _summary(body: Any, text: str) -> str:
    message = message_from_body(body)
    if message is not None:
        return message
    if text.lstrip()[:1] == "<":  # an HTML error page says nothing a caller can use
        return ""
    return " ".join(text[:200].split())


def _request_id(headers: CIMultiDictProxy[str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value is not None:
            return value
    return None


def _retry_safe(op: Operation[Any, Any], model: Any, headers: Mapping[str, str]) -> bool:
    return op.is_retry_safe(model) or any(k.lower() == "idempotency-key" for k in headers)


def _decode(op: Operation[Any, Any], raw: _Raw, common: Callable[[], dict[str, Any]]) -> Any:
    """The decoded model, or a `ResponseValidationError`."""
    if op.response is None:
        return None

    def invalid(reason: str, field_path: str) -> ResponseValidationError:
        return ResponseValidationError(
            reason, field_path=field_path, raw_text=raw.text(), status=raw.status, headers=dict(raw.headers), **common()
        )

    if raw.too_large:
        return invalid("the response body is larger than max_response_bytes", "")
    try:
        data = _parse_json(raw.body)
    except ValueError as exc:
        return invalid(f"the body is not JSON ({exc})", "$")
    try:
        if op.decode is not None:
            data = op.decode(data)
        return op.structure_response(data)
    except StructureFailure as exc:
        reason, path = exc.reason, exc.path
    except Exception as exc:  # a decode hook that choked on unexpected data is still a validation error
        reason, path = f"{type(exc).__name__}: {exc}", "$"
    return invalid(reason, path)


@functools.lru_cache(maxsize=64)
def _client_timeout(total: float | None, connect: float | None) -> aiohttp.ClientTimeout:
    """aiohttp's timeout for these deadlines. It is frozen, so the usual ones are built once, not per call."""
    return aiohttp.ClientTimeout(total=total, connect=connect)


async def _run_hooks(hooks: list[Any], *args: Any) -> None:
    for hook in hooks:
        outcome = hook(*args)
        if inspect.isawaitable(outcome):
            await outcome


def _transport_error(exc: BaseException, timeout: aiohttp.ClientTimeout, common: dict[str, Any]) -> SessionkitError:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return RequestTimeoutError(
            f"no complete response within the per-attempt timeout ({timeout.total}s)",
            deadline="attempt",
            timeout=timeout.total,
            **common,
        )
    if isinstance(exc, aiohttp.InvalidURL) or (
        isinstance(exc, ValueError) and not isinstance(exc, aiohttp.ClientError)
    ):
        return InvalidRequestError(f"cannot send to this URL: {exc}", field_path="server_url", **common)
    return ConnectionError(f"{type(exc).__name__}: {exc}", cause=exc, **common)


async def execute(
    core: BaseCore, op: Operation[Any, Resp], request: Any, options: RequestOptions | None
) -> Result[Resp, SessionkitError]:
    """Run `op` through the pipeline. Returns a value for everything but cancellation."""
    started = time.monotonic()
    attempts = 0

    def common() -> dict[str, Any]:
        return {"operation_id": op.id, "attempts": attempts, "elapsed": time.monotonic() - started}

    async def fail(error: SessionkitError) -> Err[SessionkitError]:
        if core.hooks.after_error:
            await _run_hooks(core.hooks.after_error, HookContext(op.id, core.service, attempts), error)
        if logger.isEnabledFor(20):
            logger.info("%s failed after %d attempt(s): %s", op.id, attempts, error.message)
        return Err(error)

    # Stage 1: validate input and build the request.
    try:
        prepared = _prepare(op, request)
        headers = core.base_headers()  # already checked for line breaks
        merged = False
        if options is not None and options.headers:
            headers, merged = {**headers, **options.headers}, True
        if prepared.headers:
            headers, merged = {**headers, **prepared.headers}, True
        if options is not None and options.idempotency_key is not None:
            headers, merged = {**headers, "Idempotency-Key": options.idempotency_key}, True
        if merged:
            check_header_values(headers)
        base_url = options.server_url if options is not None and options.server_url else core.server_url
        url = base_url.rstrip("/") + prepared.path + ("?" + prepared.query if prepared.query else "")
        if not url.startswith(("http://", "https://")):
            raise _Invalid(f"server URL must start with http:// or https://, got {base_url!r}", "server_url")
    except _Invalid as exc:
        return await fail(InvalidRequestError(exc.reason, field_path=exc.field_path, **common()))

    retry = as_retry(options.retries if options is not None else None, core.retry)
    timeout = as_timeout(options.timeout if options is not None else None, core.timeout)
    deadline = started + timeout.total if timeout.total is not None else None
    waits: Iterator[float] | None = None
    waited = 0.0
    hooks = core.hooks
    debug = logger.isEnabledFor(10)

    while True:
        attempts += 1
        attempt_timeout = timeout.attempt
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return await fail(
                    RequestTimeoutError(
                        "the total deadline passed", deadline="total", timeout=timeout.total, **common()
                    )
                )
            attempt_timeout = remaining if attempt_timeout is None else min(attempt_timeout, remaining)
        client_timeout = _client_timeout(attempt_timeout, timeout.connect)
        send_headers, body = headers, prepared.body
        if hooks.before_request:
            req = PreparedRequest(op.method, url, dict(headers), body)
            await _run_hooks(hooks.before_request, HookContext(op.id, core.service, attempts), req)
            try:
                check_header_values(req.headers)
            except _Invalid as exc:
                return await fail(InvalidRequestError(exc.reason, field_path=exc.field_path, **common()))
            send_headers, body, url = req.headers, req.body, req.url

        t0 = time.monotonic()
        error: SessionkitError
        retry_after: float | None = None
        try:
            raw = await _attempt(core, op.method, url, send_headers, body, client_timeout)
        except Exception as exc:
            error = _transport_error(exc, client_timeout, common())
            if deadline is not None and isinstance(error, RequestTimeoutError) and time.monotonic() >= deadline:
                error = RequestTimeoutError(
                    "the total deadline passed", deadline="total", timeout=timeout.total, **common()
                )
            if debug:
                logger.debug("%s attempt %d %s %s -> %s", op.id, attempts, op.method, url, error.message)
            # Only what the network does is worth repeating; anything else would fail the same way again.
            network = isinstance(exc, (aiohttp.ClientError, OSError))
            retryable = (isinstance(error, ConnectionError) and network and retry.retry_connection_errors) or (
                isinstance(error, RequestTimeoutError) and error.deadline == "attempt" and retry.retry_timeouts
            )
        else:
            if debug:
                logger.debug(
                    "%s attempt %d %s %s -> %d in %.3fs headers=%s",
                    op.id,
                    attempts,
                    op.method,
                    url,
                    raw.status,
                    time.monotonic() - t0,
                    redact_headers(send_headers, core.secret_headers),
                )
            if raw.status in op.success:
                value = _decode(op, raw, common)
                if isinstance(value, ResponseValidationError):
                    return await fail(value)
                meta = ResponseMeta(
                    op.id, raw.status, raw.headers, attempts, time.monotonic() - started, _request_id(raw.headers)
                )
                if hooks.after_success:
                    await _run_hooks(hooks.after_success, HookContext(op.id, core.service, attempts), meta, value)
                return Ok(value, meta=meta)
            error = _api_error(core, op, raw, common())
            retryable = raw.status in retry.statuses
            if retryable:
                retry_after = parse_retry_after(raw.headers)

        if not retryable or attempts > retry.max_retries or not _retry_safe(op, prepared.model, headers):
            return await fail(error)
        if retry_after is not None and retry_after > retry.max_retry_after:
            return await fail(error)
        if waits is None:
            waits = retry.waits()
        wait = retry_after if retry_after is not None else next(waits)
        if waited + wait > retry.max_total_wait:
            return await fail(error)
        if deadline is not None and time.monotonic() + wait >= deadline:
            return await fail(error)
        waited += wait
        await asyncio.sleep(wait)
