"""`sessionkit fake SERVICE`: one of `sessionkit.testing`'s fakes as a local server, until stopped.

    sessionkit fake mix --port 0               # prints {"service": "mix", "url": "http://127.0.0.1:PORT", ...}
    sessionkit mix sessions list --server-url http://127.0.0.1:PORT

The first line on stdout is JSON naming the URL (and the credential the fake accepts), so a script,
another language's client or a notebook can find it; the server then runs until SIGINT or SIGTERM
(exit 0). `--rate-limit R` makes it answer 429 beyond R requests a second (`set_rate_limit`),
`--token` sets the credential it accepts, `--seed N` stores N sessions first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

from .._registry import service
from ..testing import FakeMix, FakeServer
from .output import UsageError

__all__ = ["run_fake"]


def _make(ns: argparse.Namespace) -> tuple[FakeServer, str | None]:
    entry = service(ns.fake_service)
    cls: type[FakeServer] = entry.fake_class()
    core_credential = entry.core_class().credential
    credential: str | None = None if core_credential is None else core_credential.name  # the fakes' keyword too
    if not 0 <= ns.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, got {ns.port}")
    kwargs: dict[str, Any] = {"host": ns.host, "port": ns.port}
    if cls is FakeMix:
        kwargs["version"] = ns.mix_version
    if ns.token is not None:
        if credential is None:
            raise UsageError(f"the {ns.fake_service} fake takes no credential: leave out --token")
        kwargs[credential] = ns.token
    server = cls(**kwargs)
    accepted: str | None = None if credential is None else getattr(server, credential)
    return server, accepted


async def _serve(ns: argparse.Namespace) -> int:
    server, accepted = _make(ns)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with server:
            if ns.rate_limit is not None:
                server.set_rate_limit(ns.rate_limit)
            if ns.seed:
                seed: Any = getattr(server, "seed_sessions", None)
                if seed is None:
                    raise UsageError(f"the {ns.fake_service} fake cannot seed sessions")
                seed(ns.seed)
            line = {"service": ns.fake_service, "url": server.url, "credential": accepted}
            print(json.dumps(line), flush=True)
            await stop.wait()
    except OSError as exc:  # the port is taken, or the address cannot be bound
        raise UsageError(f"cannot serve on {ns.host}:{ns.port}: {exc.strerror or exc}") from None
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    print(f"sessionkit fake {ns.fake_service}: stopped", file=sys.stderr)
    return 0


def run_fake(ns: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; 0 then, 2 for a bad flag or a port that cannot be bound."""
    return asyncio.run(_serve(ns))
