"""Proxies from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`), chosen per origin.

sessionkit resolves them itself rather than through aiohttp's `trust_env`, which also looks up
`~/.netrc` in a thread on every request and adds Basic auth where no `Authorization` is set.
"""

from __future__ import annotations

import base64
import functools
import urllib.request
from collections.abc import Callable, Mapping
from typing import cast

from yarl import URL

__all__ = ["Proxies", "NO_PROXIES"]


class Proxies:
    """The proxy (and its `Proxy-Authorization`) for each URL, from a snapshot of the environment."""

    __slots__ = ("_by_scheme", "_no_proxy", "for_url")

    def __init__(self, by_scheme: Mapping[str, str], no_proxy: str = "") -> None:
        self._by_scheme = dict(by_scheme)
        self._no_proxy = no_proxy
        self.for_url = functools.lru_cache(maxsize=256)(self._resolve)

    @classmethod
    def from_env(cls) -> Proxies:
        found = urllib.request.getproxies_environment()
        return cls({k: v for k, v in found.items() if k in ("http", "https")}, found.get("no", ""))

    def __bool__(self) -> bool:
        return bool(self._by_scheme)

    def urls(self) -> list[str]:
        """The proxy URLs (their userinfo is secret)."""
        return list(self._by_scheme.values())

    def _resolve(self, scheme: str, host: str) -> tuple[URL | None, Mapping[str, str] | None]:
        proxy = self._by_scheme.get(scheme)
        if proxy is None or (self._no_proxy and _bypass(host, self._no_proxy)):
            return None, None
        url = URL(proxy if "://" in proxy else f"http://{proxy}")
        if url.raw_user is None and url.raw_password is None:
            return url, None
        token = base64.b64encode(f"{url.user or ''}:{url.password or ''}".encode()).decode("ascii")
        return url.with_user(None), {"Proxy-Authorization": f"Basic {token}"}


def _bypass(host: str, no_proxy: str) -> bool:
    # Public in CPython since 2.x, missing from typeshed's stubs.
    check = cast(
        "Callable[[str, dict[str, str]], object]",
        getattr(urllib.request, "proxy_bypass_environment"),  # noqa: B009
    )
    return bool(check(host, {"no": no_proxy}))


NO_PROXIES = Proxies({})
