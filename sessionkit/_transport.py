"""One attempt on the wire: the request and its redirects, followed by hand.

Secrets never cross to another origin, a body is never re-sent to one, and every hop shares the
attempt's one deadline (the `Deadline`'s watch, or the time left on `ends`). The final answer's
body is read by the bounded reader (`read_raw`), or left open for a streamed operation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import aiohttp
from yarl import URL

from ._bodies import Body
from ._clock import Clock
from ._deadline import client_timeout
from ._proxy import Proxies
from ._reader import Raw, raw, read_raw

__all__ = ["MAX_REDIRECTS", "Limits", "TooManyRedirectsError", "send_attempt"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5


class TooManyRedirectsError(aiohttp.ClientError):
    pass


class Limits:
    """What an attempt's answer is read under, and what its redirects may carry: the same for
    every attempt of a call (built once per call)."""

    __slots__ = ("connect", "max_bytes", "open_statuses", "proxies", "secret_names")

    def __init__(
        self,
        connect: float | None,
        max_bytes: int,
        secret_names: frozenset[str],
        proxies: Proxies,
        open_statuses: tuple[int, ...] = (),  # statuses whose body is left unread, for the caller to stream
    ) -> None:
        self.connect, self.max_bytes, self.secret_names = connect, max_bytes, secret_names
        self.proxies = proxies if proxies else None  # None: no proxy to look up for any URL
        self.open_statuses = open_statuses


def _same_origin(a: URL, b: URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


async def send_attempt(
    send: Callable[..., Awaitable[aiohttp.ClientResponse]],  # the pool's request function
    method: str,
    url_text: str,  # already percent-encoded
    headers: Mapping[str, str],
    body: bytes | Body | None,
    timeout: aiohttp.ClientTimeout,
    ends: float | None,  # on `clock`; None when a watch holds the attempt (or it has no deadline)
    clock: Clock,
    limits: Limits,
    resend: int | None = None,  # the resends before this attempt, when tracing marks HTTP spans
) -> Raw:
    """Send one request, following redirects by hand, and read the final answer's body within its cap."""
    url = URL(url_text, encoded=True)
    for hop in range(MAX_REDIRECTS + 1):
        if hop and ends is not None:
            remaining = ends - clock.monotonic()
            if remaining <= 0:
                raise TimeoutError("the attempt's deadline passed while following redirects")
            timeout = client_timeout(remaining, limits.connect)
        proxies = limits.proxies
        proxy, proxy_headers = proxies.for_url(url.scheme, url.host or "") if proxies is not None else (None, None)
        sent = headers
        if proxy_headers and url.scheme == "http":  # no CONNECT: the proxy reads the request's own headers
            sent = {**headers, **proxy_headers}
        sending = body  # this hop's body, released after the hop even when `body` changes below
        resp: aiohttp.ClientResponse | None = None
        kept = False
        traced = None if resend is None else {"sessionkit_resend": resend + hop}
        try:
            resp = await send(
                method,
                url,
                headers=sent,
                data=sending.open() if isinstance(sending, Body) else sending,
                timeout=timeout,
                allow_redirects=False,
                proxy=proxy,
                proxy_headers=proxy_headers,
                trace_request_ctx=traced,  # None unless tracing marks this hop's HTTP span
            )
            location = resp.headers.get("Location")
            if resp.status not in _REDIRECTS or not location:
                if resp.status in limits.open_statuses:
                    kept = True
                    return Raw(resp.status, resp.reason or "", resp.headers, b"", response=resp)
                length, headers = resp.content_length, resp.headers
                if length is not None and length <= limits.max_bytes and "Content-Encoding" not in headers:
                    # The usual answer (`read_raw`'s first case, inline): exactly `length` bytes.
                    return raw(resp.status, resp.reason or "", headers, await resp.read())
                return await read_raw(resp, limits.max_bytes)
            try:
                target = url.join(URL(location))  # encodes spaces and non-ASCII, keeps valid %XX
            except ValueError:
                return await read_raw(resp, limits.max_bytes, note="not followed: its Location is not a valid URL")
            if target.scheme not in ("http", "https") or not target.host:
                return await read_raw(resp, limits.max_bytes, note="not followed: its Location is not an http(s) URL")
            to_get = resp.status == 303 or (resp.status in (301, 302) and method == "POST")
            cross = not _same_origin(url, target)
            if cross and body is not None and not to_get:
                note = "not followed: it leads to another origin and would re-send the request body there"
                return await read_raw(resp, limits.max_bytes, note=note)
            if isinstance(body, Body) and not body.replayable and not to_get:
                note = "not followed: the request body came from a source that cannot be read again"
                return await read_raw(resp, limits.max_bytes, note=note)
            if cross:
                headers = {k: v for k, v in headers.items() if k.lower() not in limits.secret_names}
            if to_get:
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            url = target
        finally:
            if resp is not None and not kept:
                resp.release()
                if isinstance(sending, Body):
                    await resp.wait_for_close()  # the body writer is done: its file may be closed now
            if isinstance(sending, Body):
                sending.release()
    raise TooManyRedirectsError(f"more than {MAX_REDIRECTS} redirects")
