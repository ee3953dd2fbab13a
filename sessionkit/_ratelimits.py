"""The rate-limit facts a server sends with an answer, read from its headers (`ResponseMeta.rate_limit`).

Read, first found wins, each field on its own:

- the IETF draft's `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds) and
  `RateLimit-Policy`, and its later single-header form `RateLimit: limit=100, remaining=50, reset=5`
  (also `r=` and `t=`, as in `"default";r=50;t=30`);
- the common `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`, where a reset above
  a billion is a Unix time (as GitHub sends it) and is kept as `reset_at`;
- the per-kind forms (`X-RateLimit-Limit-Requests`, `...-Remaining-Requests`, `...-Reset-Requests`
  with durations such as `1s`, `6m0s`, `20ms`), requests before tokens.

Nothing here runs unless `rate_limit` is read: the pipeline does no work for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["RateLimitInfo", "parse_rate_limit"]

_EPOCH = 1_000_000_000.0
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SHORT: dict[str, str] = {"r": "remaining", "t": "reset", "l": "limit"}
_PARAM = re.compile(r"(?:^|[,;\s])(limit|remaining|reset|r|t|l)\s*=\s*(\d+(?:\.\d+)?)")


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The server's rate-limit state as its headers said it (None: it did not say).

    `reset_seconds` is how long until the window resets; `reset_at` a Unix time, when the server
    sent one instead; `policy` the `RateLimit-Policy` header as sent.
    """

    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None
    reset_at: float | None = None
    policy: str | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.limit, self.remaining, self.reset_seconds, self.reset_at, self.policy))


def _whole(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip().split(",")[0].strip()  # "100, 100;w=60" (an old draft's list): the first
    return int(float(text)) if _NUMBER.fullmatch(text) and len(text) < 20 else None


def _seconds(text: str | None) -> float | None:
    """A reset as seconds: a plain number, or a duration like `1m30s`, `20ms`."""
    if text is None:
        return None
    text = text.strip()
    if _NUMBER.fullmatch(text) and len(text) < 20:
        return float(text)
    match = _DURATION.fullmatch(text)
    if match is None or not text:
        return None
    hours, minutes, seconds, millis = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


class _Folded(dict[str, str]):
    """Headers looked up by any case (a plain dict's keys are as the server spelt them)."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__((k.lower(), v) for k, v in headers.items())

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key.lower(), default)


def _first(headers: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            return value
    return None


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimitInfo:
    """The rate-limit facts of `headers` (case-insensitive), each None where none was sent."""
    headers = _Folded(headers)
    combined: dict[str, str] = {}
    structured = headers.get("RateLimit")
    if structured is not None:
        for found in _PARAM.finditer(structured):
            key: str = found.group(1)
            combined.setdefault(_SHORT.get(key, key), found.group(2))
    limit = _whole(
        _first(
            headers, "RateLimit-Limit", "X-RateLimit-Limit", "X-RateLimit-Limit-Requests", "X-RateLimit-Limit-Tokens"
        )
        or combined.get("limit")
    )
    remaining = _whole(
        _first(
            headers,
            "RateLimit-Remaining",
            "X-RateLimit-Remaining",
            "X-RateLimit-Remaining-Requests",
            "X-RateLimit-Remaining-Tokens",
        )
        or combined.get("remaining")
    )
    reset = _seconds(
        _first(
            headers, "RateLimit-Reset", "X-RateLimit-Reset", "X-RateLimit-Reset-Requests", "X-RateLimit-Reset-Tokens"
        )
        or combined.get("reset")
    )
    reset_at = None
    if reset is not None and reset > _EPOCH:
        reset, reset_at = None, reset
    return RateLimitInfo(limit, remaining, reset, reset_at, headers.get("RateLimit-Policy"))
