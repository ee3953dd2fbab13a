"""Retry policy: which failures are retried, how long to wait, and `Retry-After` parsing."""

from __future__ import annotations

import datetime
import email.utils
import math
import random
import re
import time
from collections.abc import Iterator, Mapping

import attrs
import backoff

__all__ = ["RetryConfig", "DEFAULT_RETRY_STATUSES", "parse_retry_after"]

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})


@attrs.frozen
class RetryConfig:
    """How a call is retried. `max_retries` counts retries, so 2 means at most 3 attempts.

    Waits grow exponentially from `initial_wait` (capped at `max_wait`) with full jitter; the sum of
    waits never exceeds `max_total_wait`. A `Retry-After` up to `max_retry_after` seconds is honoured
    (with up to a fifth more of jitter, at most a second); a longer one ends the call at once with the
    `RateLimitError` that asked for it. A 429 is retried whatever the method (the server refused it
    before acting on it), and so is a connection that could not be made (nothing was sent).
    """

    max_retries: int = 2
    initial_wait: float = 0.5
    max_wait: float = 8.0
    max_total_wait: float = 60.0
    jitter: bool = True
    statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    retry_connection_errors: bool = True
    retry_timeouts: bool = True
    max_retry_after: float = 60.0

    def honoured(self, retry_after: float) -> float:
        """The wait for a `Retry-After` of `retry_after` seconds: as asked, plus up to a fifth more
        (at most a second) when `jitter` is on, so the calls that saw one 429 do not wake together."""
        if not self.jitter or retry_after <= 0:
            return retry_after
        return retry_after + random.uniform(0.0, min(0.2 * retry_after, 1.0))

    def waits(self) -> Iterator[float]:
        """The backoff waits before retry 1, 2, ... (jittered when `jitter` is on)."""
        gen = backoff.expo(base=2, factor=self.initial_wait, max_value=self.max_wait)
        next(gen)  # backoff's generators are primed with send(None)
        for value in gen:
            yield backoff.full_jitter(value) if self.jitter else value


_DELAY_SECONDS = re.compile(r"[0-9]+")
_DECIMAL_MS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as delay-seconds or an HTTP-date.

    Only what RFC 9110 allows is read: ASCII digits or an HTTP-date for `Retry-After`, and a plain
    non-negative decimal for `retry-after-ms`. Anything else (`nan`, `inf`, `1_0`, `-5`, `1e3`) is
    ignored, so the normal backoff applies and a hostile header cannot stall or speed up a call.
    """
    ms = headers.get("retry-after-ms")
    if ms is not None and _DECIMAL_MS.fullmatch(ms.strip()):
        value_ms = float(ms.strip()) / 1000.0
        if math.isfinite(value_ms):
            return value_ms
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        seconds = float(int(value[:32]))  # 32 digits is already past any cap; keeps int() cheap
        return seconds if math.isfinite(seconds) else None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    delay = parsed.timestamp() - (time.time() if now is None else now)
    return max(delay, 0.0) if math.isfinite(delay) else None
