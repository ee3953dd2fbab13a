"""`BaseCore`: configuration, the pooled aiohttp session, and its lifecycle."""

from __future__ import annotations

import ipaddress
import os
import ssl
import warnings
from collections.abc import Mapping
from types import TracebackType
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import aiohttp

from ._hooks import Hooks
from ._logging import SECRET_HEADERS, setup_logging
from ._pipeline import Operation, RequestOptions, Timeout, check_header_values, execute
from ._retry import RetryConfig
from .errors import APIError, SessionkitError, error_class_for_status
from .result import Result

__all__ = ["BaseCore", "VERSION"]

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


class BaseCore:
    """Shared configuration and the connection pool of one service client.

    Use it as `async with XCore(...) as core:` or call `await core.aclose()`. The aiohttp session is
    created on first use inside the running event loop and reused by every call.
    """

    service: ClassVar[str] = "base"
    default_server_url: ClassVar[str] = ""
    secret_headers: frozenset[str] = SECRET_HEADERS

    def __init__(
        self,
        *,
        server_url: str | None = None,
        timeout: Timeout | float | None = None,
        retries: RetryConfig | int | None = None,
        max_connections: int = 100,
        max_connections_per_host: int = 0,
        headers: Mapping[str, str] | None = None,
        hooks: Hooks | None = None,
        verify_ssl: bool | ssl.SSLContext = True,
        max_response_bytes: int = 64 * 1024 * 1024,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.server_url: str = (server_url or self.default_server_url).rstrip("/")
        self.timeout = timeout if isinstance(timeout, Timeout) else Timeout(attempt=timeout) if timeout else Timeout()
        self.retry = (
            retries
            if isinstance(retries, RetryConfig)
            else RetryConfig(max_retries=retries)
            if retries is not None
            else RetryConfig()
        )
        self.max_connections = max_connections
        self.max_connections_per_host = max_connections_per_host
        self.extra_headers: dict[str, str] = dict(headers or {})
        self.hooks = hooks or Hooks()
        self.verify_ssl = verify_ssl
        self.max_response_bytes = max_response_bytes
        self._session = session
        self._owns_session = session is None
        self._headers_cache: dict[str, str] | None = None
        self._warned_unclosed = False
        self._warn_plain_http()

    # --- what a service core overrides -------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a request; secret by definition."""
        return {}

    def has_credentials(self) -> bool:
        return bool(self.auth_headers())

    def error_class(self, op: Operation[Any, Any], status: int, body: Any) -> type[APIError]:
        """The typed error for a failing status: the operation's declaration, else the generic one."""
        return op.error_class(status) or error_class_for_status(status)

    # --- the pipeline --------------------------------------------------------------------------
    async def send(
        self, op: Operation[Any, T], request: Any = None, options: RequestOptions | None = None
    ) -> Result[T, SessionkitError]:
        """Run one operation through the shared pipeline."""
        return await execute(self, op, request, options)

    def base_headers(self) -> dict[str, str]:
        """The headers of every request, built and checked for line breaks once, on first use."""
        cached = self._headers_cache
        if cached is None:
            cached = {
                "Accept": "application/json",
                "User-Agent": f"sessionkit-python/{VERSION} ({self.service})",
                **self.extra_headers,
                **self.auth_headers(),
            }
            check_header_values(cached)  # a bad one is not cached: every call fails the same way
            self._headers_cache = cached
        return cached

    def client_session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            if not self._owns_session and session is not None:
                raise RuntimeError("the aiohttp session given to this core was closed by its owner")
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                limit_per_host=self.max_connections_per_host,
                ssl=self.verify_ssl,
                ttl_dns_cache=300,
            )
            session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=None), skip_auto_headers=("User-Agent",)
            )
            # aiohttp silently resends an idempotent request once after a reset; the pipeline's retry
            # loop owns that decision, so `max_retries=0` means exactly one request on the wire.
            session._retry_connection = False  # pyright: ignore[reportPrivateUsage]
            self._session = session
        return session

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._session is None or self._session.closed

    async def aclose(self) -> None:
        """Close the connection pool. Safe to call twice; the core re-opens on its next call."""
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()

    async def __aenter__(self: Self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

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
        return f"{type(self).__name__}(server_url={self.server_url!r}{auth})"

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
