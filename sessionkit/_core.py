"""`BaseCore`: configuration, the pooled aiohttp session, and its lifecycle."""

from __future__ import annotations

import ipaddress
import os
import ssl
import warnings
from collections.abc import Coroutine, Iterable, Mapping
from threading import get_ident
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import aiohttp
from typing_extensions import TypedDict

from ._aiohttp_compat import abandon, session_loop, turn_off_resend
from ._clock import SYSTEM_CLOCK, Clock
from ._closing import AsyncClosing
from ._config import CoreArgument, CoreConfig, PoolHandle
from ._hooks import Hooks
from ._logging import SECRET_HEADERS, setup_logging
from ._loop import LoopRef
from ._operation import Operation
from ._options import (
    OptionError,
    RequestOptions,
    Timeout,
    check_header_name,
    check_headers,
    check_server_url,
    resolve_retry,
    resolve_timeout,
)
from ._pipeline import execute, start
from ._proxy import NO_PROXIES, Proxies
from ._reader import ACCEPT_ENCODING
from ._retry import RetryConfig
from ._secrets import Secrets, redact_url
from ._tracing import TRACING, resend_trace_config
from ._tracing import tracer as current_tracer
from ._watchdog import watchdog_here
from .errors import ErrorClassifier, SessionkitError, error_class_for_status
from .ratelimit import RateLimiter
from .result import Result

__all__ = ["BaseCore", "CoreConfig", "CoreOptions", "VERSION"]

VERSION = "0.1.0"
T = TypeVar("T")
Self = TypeVar("Self", bound="BaseCore")

setup_logging()
_warned_plain_http: set[tuple[str, str]] = set()


def _is_loopback(host: str | None) -> bool:
    if not host:
        return True
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class CoreOptions(TypedDict, total=False):
    """The keyword options every core takes (see `BaseCore`); a service core adds its credentials."""

    timeout: Timeout | float | None
    retries: RetryConfig | int | None
    max_connections: int
    max_connections_per_host: int
    headers: Mapping[str, str] | None
    secret_headers: Iterable[str]
    hooks: Hooks | None
    verify_ssl: bool | ssl.SSLContext
    trust_env: bool
    max_response_bytes: int
    session: aiohttp.ClientSession | None
    clock: Clock | None
    rate_limiter: RateLimiter | None


class BaseCore(AsyncClosing):
    """Shared configuration and the connection pool of one service client.

    Use it as `async with XCore(...) as core:` or call `await core.aclose()`. The aiohttp session is
    created on first use inside the running event loop and reused by every call. A core used from a
    new event loop after the old one closed (a second `asyncio.run`) builds a new pool there.
    After `aclose()` the core stays closed (its calls return `Err(InvalidRequestError)`) until it is
    entered again with `async with`. A `rate_limiter` (`sessionkit.ratelimit`) is awaited before
    every attempt the core sends, retries included.
    """

    service: ClassVar[str] = "base"
    default_server_url: ClassVar[str] = ""
    error_classifier: ClassVar[ErrorClassifier] = error_class_for_status
    """The service's status-to-error table; an operation's own `errors` override it."""
    status_hints: ClassVar[Mapping[int, str]] = {}
    """What a caller can do about a status, appended to the error's message."""
    credential: ClassVar[CoreArgument | None] = None
    """The credential argument (its keyword, environment variable, and whether the service needs it)."""
    identities: ClassVar[tuple[CoreArgument, ...]] = ()
    """Other arguments that fall back to the environment (an organisation id)."""
    credential_env: ClassVar[str | None] = None
    """The environment variable the credential falls back to (from `credential`)."""
    credential_arg: ClassVar[str | None] = None
    """The credential's keyword when the service requires it (from `credential`; None: optional).
    Without it every call ends in `Err(InvalidRequestError)` naming it and `credential_env`."""
    credential_header: ClassVar[str] = "Authorization"
    """The header the credential travels in (given in `headers=` instead, it counts as given)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("credential")
        if isinstance(declared, CoreArgument):  # one declaration: the rest follows from it
            cls.credential_env = declared.env
            cls.credential_arg = declared.name if declared.required else None

    @classmethod
    def arguments(cls) -> tuple[CoreArgument, ...]:
        """Every argument that falls back to the environment: the credential, then the identities."""
        return ((cls.credential,) if cls.credential is not None else ()) + cls.identities

    def __init__(
        self,
        *,
        server_url: str | None = None,
        timeout: Timeout | float | None = None,
        retries: RetryConfig | int | None = None,
        max_connections: int = 100,
        max_connections_per_host: int = 0,
        headers: Mapping[str, str] | None = None,
        secret_headers: Iterable[str] = (),
        hooks: Hooks | None = None,
        verify_ssl: bool | ssl.SSLContext = True,
        trust_env: bool = True,
        max_response_bytes: int = 64 * 1024 * 1024,
        session: aiohttp.ClientSession | None = None,
        clock: Clock | None = None,
        rate_limiter: RateLimiter | None = None,
        credential: str | None = None,
        path_prefix: str = "",
    ) -> None:
        # A service core passes its own credential argument here (`token`, `api_key`), so the
        # fallback to its environment variable lives once, in `credential_env`.
        env_name = type(self).credential_env
        self._credential: str | None = credential if credential is not None else env(env_name) if env_name else None
        # A bad URL or header is reported by every call as `InvalidRequestError` (nothing is sent),
        # so a core built from configuration never raises where its calls would return a value.
        problem: tuple[str, str] | None = None
        url = server_url or self.default_server_url
        try:
            url = check_server_url(url)
        except OptionError as exc:
            problem = (str(exc), exc.field_path)
            url = redact_url(url) if isinstance(url, str) else ""  # pyright: ignore[reportUnnecessaryIsInstance]  # a repr shows it
        self.server_url: str = url
        self.timeout = resolve_timeout(timeout, Timeout())
        self.retry = resolve_retry(retries, RetryConfig())
        size = max_response_bytes
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"max_response_bytes must be an int >= 1, got {max_response_bytes!r}")
        if isinstance(secret_headers, str):
            raise ValueError("secret_headers takes a list of header names, not one string")
        self.max_connections = max_connections
        self.max_connections_per_host = max_connections_per_host
        self.extra_headers: dict[str, str] = dict(headers or {})
        self.secret_headers: frozenset[str] = SECRET_HEADERS | {check_header_name(n).lower() for n in secret_headers}
        self.hooks = hooks or Hooks()
        self.verify_ssl = verify_ssl
        self.trust_env = trust_env
        self.max_response_bytes = max_response_bytes
        self.path_prefix = path_prefix
        self._session = session
        self._handle: PoolHandle | None = None  # the open pool of `_home`, handed to the pipeline
        self._home: LoopRef | None = None  # the loop of the pool this core built
        self._owns_session = session is None
        self._closed = False
        self._warned_unclosed = False
        base = {
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": f"sessionkit-python/{VERSION} ({self.service})",
            **self.extra_headers,
            **self.auth_headers(),
        }
        if problem is None:
            try:
                check_headers(base)
            except OptionError as exc:
                problem = (str(exc), exc.field_path)
        proxies = Proxies.from_env() if trust_env else NO_PROXIES
        self.config = CoreConfig(
            service=self.service,
            server_url=self.server_url,
            headers=base,
            secrets=Secrets.of(self.secret_headers, base, server_url or self.server_url, *proxies.urls()),
            timeout=self.timeout,
            retry=self.retry,
            max_response_bytes=max_response_bytes,
            hooks=self.hooks,
            classify=type(self).error_classifier,
            hints=self.status_hints,
            clock=clock or SYSTEM_CLOCK,
            proxies=proxies,
            problem=problem,
            path_prefix=path_prefix,
            limiter=rate_limiter,
            needs_credential=self._missing_credential(base),
        )
        self._warn_plain_http()

    # --- what a service core overrides -------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a request; secret by definition."""
        return {}

    def has_credentials(self) -> bool:
        """Whether the core has credentials to send (a token or key, given or from the environment)."""
        return bool(self.auth_headers())

    def _missing_credential(self, headers: Mapping[str, str]) -> tuple[str, str, str] | None:
        """(header, reason, field) when the service needs a credential the core does not have: a
        call must then carry that header itself (`RequestOptions.headers`), or it sends nothing."""
        arg = type(self).credential_arg
        wanted = type(self).credential_header.lower()
        if arg is None or any(name.lower() == wanted for name in headers):
            return None
        where = f" or set the {self.credential_env} environment variable" if self.credential_env else ""
        return (wanted, f"no credential: pass {arg}={where}; nothing was sent", arg)

    # --- the pipeline --------------------------------------------------------------------------
    def send(
        self, op: Operation[Any, T], request: Any = None, options: RequestOptions | None = None
    ) -> Coroutine[Any, Any, Result[T, SessionkitError]]:
        """Run one operation through the shared pipeline (await it).

        A plain function handing back `execute`'s coroutine: one coroutine frame less per call (and,
        without OpenTelemetry installed, no tracing check at all).
        """
        if TRACING and current_tracer() is not None:
            return start(self.config, self, op, request, options)
        return execute(self.config, self, op, request, options)

    def base_headers(self) -> dict[str, str]:
        """The headers of every request (checked when the core was built)."""
        return dict(self.config.headers)

    def client_session(self) -> aiohttp.ClientSession:
        """The pool for the running loop, built on first use. Raises `RuntimeError` when it cannot be used."""
        handle = self.handle()
        if isinstance(handle, str):
            raise RuntimeError(handle)
        return handle.session

    def handle(self) -> PoolHandle | str:
        """The pool for the running loop (its session and the loop's watchdog), built on first use,
        or why there is none to use."""
        handle, home = self._handle, self._home
        # The usual case first: the open pool this core built on the running loop (`LoopRef.here`, inline).
        if (
            home is not None
            and handle is not None
            and home.thread == get_ident()
            and home.loop.is_running()
            and not self._closed
            and not handle.session.closed
        ):
            return handle
        return self._open_pool()

    def _open_pool(self) -> PoolHandle | str:
        if self._closed:
            return "this core is closed: aclose() was called (enter it with `async with` to reopen it)"
        session = self._session
        here = LoopRef.current()
        if session is not None and not session.closed and self._owns_session:
            loop = session_loop(session)
            if loop is not here.loop:
                if loop is not None and not loop.is_closed():
                    return "this core's pool belongs to another event loop that is still running; use one core per loop"
                abandon(session)  # its loop is gone: nothing of it can be awaited or reused
                session = None
        if session is None or session.closed:
            if not self._owns_session and session is not None:
                return "the aiohttp session given to this core was closed by its owner"
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                limit_per_host=self.max_connections_per_host,
                ssl=self.verify_ssl,
                ttl_dns_cache=300,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),
                skip_auto_headers=("User-Agent",),
                auto_decompress=False,  # the reader inflates within the size cap itself
                # Only when tracing is on as the pool opens: aiohttp runs its trace signals for every
                # request of a session that has any trace config (about 80,000 instructions a call).
                trace_configs=[resend_trace_config()] if TRACING and current_tracer() is not None else None,
            )
            turn_off_resend(session)
            self._session = session
        self._home = here
        self._handle = PoolHandle(session, watchdog_here())
        return self._handle

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def closed_by_caller(self) -> bool:
        """True from `aclose()` until the core is entered again: calls in flight are not retried."""
        return self._closed

    @property
    def closed(self) -> bool:
        """True after `aclose()`, and while no pool is open."""
        return self._closed or self._session is None or self._session.closed

    async def aclose(self) -> None:
        """Close the connection pool; calls still in flight end with an error. Safe to call twice."""
        self._closed = True
        session, self._session, self._handle = self._session, None, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()

    async def __aenter__(self: Self) -> Self:
        self._closed = False  # entering again is the one way to reopen a closed core
        return self

    def __del__(self) -> None:
        session = getattr(self, "_session", None)
        owned_and_open = session is not None and not session.closed and getattr(self, "_owns_session", False)
        if owned_and_open and not self._warned_unclosed:
            self._warned_unclosed = True
            warnings.warn(
                f"{type(self).__name__} was not closed: use `async with` or `await core.aclose()`",
                ResourceWarning,
                stacklevel=2,
            )

    def __repr__(self) -> str:
        auth = ", credentials=<redacted>" if self.has_credentials() else ""
        return f"{type(self).__name__}(server_url={redact_url(self.server_url)!r}{auth})"

    def _warn_plain_http(self) -> None:
        parts = urlsplit(self.server_url)
        if parts.scheme != "http" or _is_loopback(parts.hostname) or not self.has_credentials():
            return
        key = (type(self).__name__, parts.netloc)
        if key not in _warned_plain_http:
            _warned_plain_http.add(key)
            warnings.warn(
                f"{type(self).__name__} sends credentials over plain http to {parts.hostname}; use https",
                UserWarning,
                stacklevel=3,
            )


def env(name: str) -> str | None:
    """An environment variable, treating an empty value as unset."""
    value = os.environ.get(name)
    return value or None
