"""`Ok` / `Err`: the values every sessionkit operation returns instead of raising."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeAlias, TypeVar, Union, cast

if TYPE_CHECKING:
    from ._ratelimits import RateLimitInfo

T = TypeVar("T", covariant=True)
E = TypeVar("E", covariant=True)
U = TypeVar("U")
F = TypeVar("F")
D = TypeVar("D")


@dataclass(frozen=True, slots=True)
class ResponseMeta:
    """What the transport saw for a successful call: status, headers, attempts, elapsed seconds."""

    operation_id: str
    status: int
    headers: Mapping[str, str] = field(repr=False)
    attempts: int = 1
    elapsed: float = 0.0
    request_id: str | None = None

    @property
    def rate_limit(self) -> RateLimitInfo:
        """The server's rate-limit headers, parsed (`RateLimit-*`, `X-RateLimit-*`; see `RateLimitInfo`)."""
        from ._ratelimits import parse_rate_limit

        return parse_rate_limit(self.headers)


class UnwrapError(Exception):
    """Raised by `Err.unwrap()` and `Ok.unwrap_err()`: the caller asked for what is not there.

    `error` is what the result held instead: the error of an `Err`, the value of an `Ok`.
    """

    def __init__(self, error: object, *, called: str = "unwrap", on: str = "Err") -> None:
        super().__init__(f"called {called}() on {on}({error!r})")
        self.error = error


@dataclass(frozen=True, slots=True)
class Ok(Generic[T]):
    """A successful result. `meta` (status, headers, attempts) is keyword-only and not matched."""

    value: T
    meta: ResponseMeta | None = field(default=None, kw_only=True, compare=False)

    def is_ok(self) -> bool:
        return True

    def is_err(self) -> bool:
        return False

    def unwrap(self) -> T:
        return self.value

    def unwrap_err(self) -> NoReturn:
        raise UnwrapError(self.value, called="unwrap_err", on="Ok")

    def unwrap_or(self, default: object) -> T:
        return self.value

    def map(self, fn: Callable[[T], U]) -> Ok[U]:
        return Ok(fn(self.value), meta=self.meta)

    def map_err(self, fn: Callable[[Any], object]) -> Ok[T]:
        return self

    def and_then(self, fn: Callable[[T], Ok[U] | Err[F]]) -> Ok[U] | Err[F]:
        return fn(self.value)


@dataclass(frozen=True, slots=True)
class Err(Generic[E]):
    """A failed result carrying one typed error from `sessionkit.errors`."""

    error: E

    def is_ok(self) -> bool:
        return False

    def is_err(self) -> bool:
        return True

    def unwrap(self) -> NoReturn:
        if isinstance(self.error, BaseException):
            raise UnwrapError(self.error) from self.error
        raise UnwrapError(self.error)

    def unwrap_err(self) -> E:
        return self.error

    def unwrap_or(self, default: D) -> D:
        return default

    def map(self, fn: Callable[[Any], object]) -> Err[E]:
        return self

    def map_err(self, fn: Callable[[E], F]) -> Err[F]:
        return Err(fn(self.error))

    def and_then(self, fn: Callable[[Any], object]) -> Err[E]:
        return self


Result: TypeAlias = Union[Ok[T], Err[E]]
"""`Ok[T] | Err[E]`: narrow it with `match` or `isinstance`."""

# The pipeline builds one `Ok` and one `ResponseMeta` per call. A frozen dataclass's `__init__`
# goes through `object.__setattr__` per field (about 16,000 instructions for the pair); setting the
# slots through their descriptors on a bare instance builds the same frozen values in about 6,000.
_new = object.__new__
_set_value = Ok.__dict__["value"].__set__
_set_meta = Ok.__dict__["meta"].__set__
_set_op, _set_status, _set_headers, _set_attempts, _set_elapsed, _set_request_id = (
    ResponseMeta.__dict__[name].__set__
    for name in ("operation_id", "status", "headers", "attempts", "elapsed", "request_id")
)


def ok_with_meta(
    value: U,
    operation_id: str,
    status: int,
    headers: Mapping[str, str],
    attempts: int,
    elapsed: float,
    request_id: str | None,
) -> Ok[U]:
    """`Ok(value, meta=ResponseMeta(...))`, built without either `__init__` (the pipeline's hot path)."""
    meta: ResponseMeta = _new(ResponseMeta)
    _set_op(meta, operation_id)
    _set_status(meta, status)
    _set_headers(meta, headers)
    _set_attempts(meta, attempts)
    _set_elapsed(meta, elapsed)
    _set_request_id(meta, request_id)
    ok = cast("Ok[U]", _new(Ok))
    _set_value(ok, value)
    _set_meta(ok, meta)
    return ok
