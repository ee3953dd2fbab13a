"""Retry policy: which failures are retried, how long to wait, and `Retry-After` parsing."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator, Mapping

import attrs
import backoff

__all__ = ["RetryConfig", "DEFAULT_RETRY_STATUSES", "parse_retry_after", "NO_RETRIES"]

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})


@attrs.frozen
class RetryConfig:
    """How a call is retried. `max_retries` counts retries, so 2 means at most 3 attempts.

    Waits grow exponentially from `initial_wait` (capped at `max_wait`) with full jitter; the sum of
    waits never exceeds `max_total_wait`. A `Retry-After` up to `max_retry_after` seconds is honoured
    as given; a longer one ends the call at once with the `RateLimitError` that asked for it.
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

    def waits(self) -> Iterator[float]:
        """The backoff waits before retry 1, 2, ... (jittered when `jitter` is on)."""
        gen = backoff.expo(base=2, factor=self.initial_wait, max_value=self.max_wait)
        next(gen)  # backoff's generators are primed with send(None)
        for value in gen:
            yield backoff.full_jitter(value) if self.jitter else value


NO_RETRIES = RetryConfig(max_retries=0)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(parsed.timestamp() - (time.time() if now is None else now), 0.0)
