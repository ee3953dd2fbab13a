"""What the pipeline needs of a core: its fixed configuration, and a narrow pool interface.

The pipeline reads these and never imports the core, so the dependency runs one way: the core
builds a `CoreConfig` and passes itself as the `Pool`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import attrs

from ._aiohttp_compat import request_function
from ._clock import Clock
from ._hooks import Hooks
from ._options import Timeout
from ._proxy import Proxies
from ._retry import RetryConfig
from ._secrets import Secrets
from ._transport import Limits
from ._watchdog import Watchdog
from .errors import ErrorClassifier

if TYPE_CHECKING:
    from .ratelimit import RateLimiter

__all__ = ["CoreArgument", "CoreConfig", "OpDefaults", "Pool", "PoolHandle"]


@attrs.frozen
class CoreArgument:
    """A core's constructor argument that falls back to an environment variable: its credential
    (`required` when the service refuses calls without it) or an identity such as an org id. The
    registry, the CLI's flags (`--api-key`) and the docs read these."""

    name: str
    env: str
    help: str
    required: bool = False


@attrs.frozen
class CoreConfig:
    """A core's configuration, fixed when the core is built: the pipeline reads this and never asks
    the core for policy."""

    service: str
    server_url: str
    headers: Mapping[str, str]  # checked once here, so a call never re-checks them
    secrets: Secrets
    timeout: Timeout
    retry: RetryConfig
    max_response_bytes: int
    hooks: Hooks
    classify: ErrorClassifier
    hints: Mapping[int, str]
    clock: Clock
    proxies: Proxies
    problem: tuple[str, str] | None  # (reason, field path) every call fails with, if set
    path_prefix: str  # put before every operation's path (an organisation scope); already encoded
    limiter: RateLimiter | None = None  # asked before every attempt (sessionkit.ratelimit)
    needs_credential: tuple[str, str, str] | None = None  # (header, reason, field) a call must then send
    by_op: dict[Any, OpDefaults] = attrs.field(factory=dict[Any, "OpDefaults"], init=False, eq=False)
    """What `op_defaults` built, by operation (read straight on the hot path)."""

    def op_defaults(self, op: Any) -> OpDefaults:
        """What every call of `op` on this core shares (built on its first call, then reused)."""
        found = self.by_op.get(op)
        if found is None:
            fixed: tuple[tuple[str, str], ...] = op.fixed_headers
            found = self.by_op[op] = OpDefaults(
                {**self.headers, **dict(fixed)},
                {**self.headers, **dict(fixed), "Content-Type": "application/json"},
                Limits(
                    self.timeout.connect, self.max_response_bytes, self.secrets.names, self.proxies, op.open_statuses
                ),
                self.server_url + self.path_prefix,
            )
        return found


class OpDefaults:
    """The headers (without and with a JSON body), limits and base URL of an operation's calls on
    one core, for calls whose options change none of them; never changed once built."""

    __slots__ = ("base", "headers", "json_headers", "limits")

    def __init__(self, headers: Mapping[str, str], json_headers: Mapping[str, str], limits: Limits, base: str) -> None:
        self.headers, self.json_headers, self.limits, self.base = headers, json_headers, limits, base


class PoolHandle:
    """The open pool of the running loop: its aiohttp session, what sends on it, and the loop's
    deadline watchdog."""

    __slots__ = ("send", "session", "watchdog")

    def __init__(self, session: aiohttp.ClientSession, watchdog: Watchdog) -> None:
        self.session, self.watchdog = session, watchdog
        self.send = request_function(session)


class Pool(Protocol):
    """What the pipeline asks of a core for every attempt."""

    def handle(self) -> PoolHandle | str:
        """The pool of the running loop, or why there is none to use."""
        ...

    @property
    def closed_by_caller(self) -> bool:
        """True once the caller closed the core: calls in flight are not retried."""
        ...
