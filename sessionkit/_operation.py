"""An operation as data (`Operation`), and building one call's request from it (`plan`).

`plan` is the pipeline's first stage: it validates the request (the attrs model, or a mapping of
its Python field names) and the per-call options, and builds what is sent: the percent-encoded
path, the query, the headers and the body. Bad input raises `Invalid`, which the pipeline turns
into `Err(InvalidRequestError)`; nothing else in it can fail.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar, cast
from urllib.parse import quote, urlencode

import attrs

from ._bodies import Body, Multipart
from ._json import JSONInputError
from ._options import (
    OptionError,
    RequestOptions,
    Timeout,
    check_headers,
    check_server_url,
    resolve_retry,
    resolve_timeout,
)
from ._reader import ByteStream
from ._retry import RetryConfig
from ._secrets import Secrets
from ._serde import StructureFailure, dumps, structure_hook, structure_request, unstructure
from ._transport import Limits
from .errors import APIError, lookup_status

if TYPE_CHECKING:
    from ._config import CoreConfig

__all__ = ["Invalid", "Operation", "Planned", "plan"]

Req = TypeVar("Req")
Resp = TypeVar("Resp")

_SESSION_PARAMS = frozenset({"session", "session_id", "devin_id", "id"})  # each service's name for it
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_PLACEHOLDER = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


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
    `decode` reshapes the parsed JSON before it is structured (envelopes, `null` lists); `parse`
    replaces the JSON parse of a success body (a service that may answer plain text), its result
    then going through `decode` the same way. It raises `ValueError` for a body it cannot read.
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
    parse: Callable[[bytes], Any] | None = attrs.field(default=None, repr=_named)
    validate: Callable[[Any], tuple[str, str] | None] | None = attrs.field(default=None, repr=_named)
    path_params: tuple[str, ...] = attrs.field(init=False)
    structure: Callable[[Any], Any] | None = attrs.field(init=False, default=None, repr=False)
    _wire: Mapping[str, str] = attrs.field(init=False, repr=False)
    streams: bool = attrs.field(init=False, repr=False)
    path_only: bool = attrs.field(init=False, repr=False)
    fixed_headers: tuple[tuple[str, str], ...] = attrs.field(init=False, repr=False)
    open_statuses: tuple[int, ...] = attrs.field(init=False, repr=False)
    session_param: str | None = attrs.field(init=False, repr=False)
    _template: tuple[str, ...] = attrs.field(init=False, repr=False)

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
        # The statuses whose body is left unread for the caller (a streamed success).
        object.__setattr__(self, "open_statuses", self.success if self.streams else ())
        # The request field that names the session the call is about (a tracing attribute).
        named = [p for p in (*self.path_params, *self.query) if p in _SESSION_PARAMS]
        object.__setattr__(self, "session_param", named[0] if named else None)
        # The path split at its placeholders: "/v2/sessions/{id}" -> ("/v2/sessions/", "id", "").
        object.__setattr__(self, "_template", tuple(_PLACEHOLDER.split(self.path)))
        # Whether a request is nothing but `str` path fields (a get or delete by id): then the path
        # is read off the model, with no round trip through its JSON form.
        object.__setattr__(self, "path_only", self._is_path_only(fields))
        fixed = (("Accept", self.accept),) if self.accept is not None else ()
        object.__setattr__(self, "fixed_headers", fixed)

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

    def structure_fn(self) -> Callable[[Any], Any]:
        """The function that structures a response body into `response` (`structure`, once built)."""
        fn = self.structure
        if fn is None:
            fn = structure_hook(self.response)
            object.__setattr__(self, "structure", fn)
        return fn

    def error_class(self, status: int) -> type[APIError] | None:
        """The error class this operation declares for `status`, if any (it overrides the service's)."""
        return lookup_status(self.errors, status)


class Invalid(Exception):
    """Bad input found while planning a call; the pipeline turns it into `InvalidRequestError`."""

    def __init__(self, reason: str, field_path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field_path = field_path


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")  # RFC 3986


def _segment(value: str) -> str:
    """`value` as one path segment. "." and ".." become %2E so no server or proxy resolves them."""
    if _UNRESERVED.issuperset(value) and value.strip("."):  # the usual id: nothing to escape
        return value
    encoded = quote(value, safe="")
    return encoded if encoded.strip(".") else encoded.replace(".", "%2E")


def _direct_path(op: Operation[Any, Any], model: Any) -> str | None:
    """The path of a path-only request read straight off the model's string fields; None when a
    value is not a plain non-empty string, for the general path to judge."""
    parts = op._template  # pyright: ignore[reportPrivateUsage]
    path = parts[0]
    for i in range(1, len(parts), 2):
        value = getattr(model, parts[i])
        if type(value) is not str or not value:
            return None
        if _UNRESERVED.issuperset(value) and value.strip("."):  # the usual id: `_segment`'s first case
            path += value + parts[i + 1]
            continue
        try:
            path += _segment(value) + parts[i + 1]
        except UnicodeEncodeError:
            return None
    return path


_Prepared: TypeAlias = "tuple[Any, str, str, dict[str, str], bytes | Body | None]"
"""(model, path, query, request-field headers, body)."""


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
                raise Invalid(exc.reason, exc.path) from None
        else:
            raise Invalid(f"expected {op.request.__name__} or a mapping, got {type(request).__name__}", "$")
        if op.validate is not None:
            problem = op.validate(model)
            if problem is not None:
                raise Invalid(problem[1], problem[0])
        if op.path_only:  # a get or a delete by id: the path is all there is to build
            path = _direct_path(op, model)
            if path is not None:
                return (model, path, "", {}, None)
        try:
            data = unstructure(model)
        except Exception as exc:  # a hand-built model holding a value of the wrong type
            raise Invalid(f"cannot serialise the request: {type(exc).__name__}: {exc}", "$") from None
    elif request is not None:
        raise Invalid(f"{op.id} takes no request, got {type(request).__name__}", "$")

    path = op.path
    for name in op.path_params:
        value = data.pop(op.wire(name), None)
        if value is None or value == "":
            raise Invalid("a non-empty path parameter is required", f"$.{name}")
        try:
            path = path.replace("{" + name + "}", _segment(str(value)))
        except UnicodeEncodeError:
            raise Invalid("not valid Unicode (it holds a lone surrogate)", f"$.{name}") from None
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
            raise Invalid("a query value is not valid Unicode (it holds a lone surrogate)", "$") from None
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
        return (model, path, query, headers, None)
    if op.form:
        fields = cast("dict[str, Any]", payload) if isinstance(payload, dict) else {op.wire(op.body or ""): payload}
        form = Multipart(list(fields.items()))
        problem = form.check()
        if problem is not None:
            raise Invalid(problem[1], problem[0])
        headers["Content-Type"] = form.content_type
        return (model, path, query, headers, form)
    try:
        body = dumps(payload)
    except JSONInputError as exc:
        prefix = "$" if op.body == "*" else f"$.{op.body}"
        raise Invalid(f"body is not JSON: {exc.reason}", prefix + exc.path[1:]) from None
    except (TypeError, ValueError) as exc:  # a lone surrogate in a string
        raise Invalid(f"body is not JSON-serialisable: {exc}", "$") from None
    return (model, path, query, headers, body)


Planned: TypeAlias = "tuple[Any, str, Mapping[str, str], bytes | Body | None, RetryConfig, Timeout, Secrets, Limits]"
"""A validated call: (model, URL, headers, body, retry policy, timeouts, secrets, limits)."""


def plan(cfg: CoreConfig, op: Operation[Any, Any], request: Any, options: RequestOptions | None) -> Planned:
    """Stage 1: validate the request and the per-call options; raises `Invalid`."""
    if cfg.problem is not None:
        raise Invalid(*cfg.problem)
    shared = cfg.by_op.get(op) or cfg.op_defaults(op)
    needs = cfg.needs_credential
    if options is None and needs is None and op.path_only and type(request) is op.request and op.validate is None:
        path = _direct_path(op, request)  # a get or delete by id, as the core is configured: the usual call
        if path is not None:
            return request, shared.base + path, shared.headers, None, cfg.retry, cfg.timeout, cfg.secrets, shared.limits
    model, path, query, fields, body = _prepare(op, request)
    headers = shared.json_headers if type(body) is bytes else shared.headers
    retry, timeout, secrets, base = cfg.retry, cfg.timeout, cfg.secrets, shared.base
    if options is not None:
        if not isinstance(options, RequestOptions):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise Invalid(f"options must be a RequestOptions, got {type(options).__name__}", "options")
        try:
            retry = resolve_retry(options.retries, retry, "options.retries")
            timeout = resolve_timeout(options.timeout, timeout, "options.timeout")
            if options.server_url is not None:
                base = check_server_url(options.server_url, "options.server_url") + cfg.path_prefix
                secrets = secrets.with_url(options.server_url)
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
            raise Invalid(str(exc), exc.field_path) from None
    if fields:
        try:
            check_headers(fields)
        except OptionError as exc:
            raise Invalid(str(exc), exc.field_path) from None
        headers = {**headers, **fields}
    if needs is not None and not any(name.lower() == needs[0] for name in headers):
        raise Invalid(needs[1], needs[2])  # the core has no credential, and neither has this call
    url = base + path + ("?" + query if query else "")
    limits = shared.limits
    if timeout is not cfg.timeout or secrets is not cfg.secrets:
        limits = Limits(timeout.connect, cfg.max_response_bytes, secrets.names, cfg.proxies, op.open_statuses)
    return model, url, headers, body, retry, timeout, secrets, limits
