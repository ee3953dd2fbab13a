"""`ResponseMeta.rate_limit`: the server's rate-limit headers, parsed, in every common form."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from sessionkit import ResponseMeta
from sessionkit._ratelimits import RateLimitInfo, parse_rate_limit

CASES: list[tuple[str, dict[str, str], RateLimitInfo]] = [
    ("none", {"Content-Type": "application/json"}, RateLimitInfo()),
    (
        "ietf draft, separate headers",
        {
            "RateLimit-Limit": "100",
            "RateLimit-Remaining": "42",
            "RateLimit-Reset": "30",
            "RateLimit-Policy": "100;w=60",
        },
        RateLimitInfo(limit=100, remaining=42, reset_seconds=30.0, policy="100;w=60"),
    ),
    (
        "ietf draft, one structured header",
        {"RateLimit": "limit=100, remaining=7, reset=5"},
        RateLimitInfo(limit=100, remaining=7, reset_seconds=5.0),
    ),
    ("ietf draft 8+, r and t", {"RateLimit": '"default";r=50;t=30'}, RateLimitInfo(remaining=50, reset_seconds=30.0)),
    (
        "x-ratelimit with a unix reset (GitHub)",
        {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999", "X-RateLimit-Reset": "1733500000"},
        RateLimitInfo(limit=5000, remaining=4999, reset_at=1733500000.0),
    ),
    (
        "per kind with durations (OpenAI style)",
        {
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": "499",
            "x-ratelimit-reset-requests": "1m30s",
            "x-ratelimit-limit-tokens": "90000",
        },
        RateLimitInfo(limit=500, remaining=499, reset_seconds=90.0),
    ),
    ("milliseconds", {"X-RateLimit-Reset-Requests": "120ms"}, RateLimitInfo(reset_seconds=0.12)),
    (
        "hostile values are ignored",
        {"X-RateLimit-Limit": "lots", "X-RateLimit-Reset": "-1", "RateLimit": "limit=1e9"},
        RateLimitInfo(),
    ),
    ("an old draft's list: the first", {"RateLimit-Limit": "100, 100;w=60"}, RateLimitInfo(limit=100)),
]


@pytest.mark.parametrize(("headers", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rate_limit_headers_are_read_in_every_common_form(headers: dict[str, str], expected: RateLimitInfo) -> None:
    assert parse_rate_limit(headers) == expected
    proxy = CIMultiDictProxy(CIMultiDict(headers))  # what the pipeline's ResponseMeta holds
    meta = ResponseMeta("svc.op", 200, proxy)
    assert meta.rate_limit == expected
    assert bool(meta.rate_limit) is (expected != RateLimitInfo())


def test_any_header_case_is_read_from_a_plain_dict() -> None:
    assert ResponseMeta("op", 200, {"x-RATELIMIT-remaining": "3"}).rate_limit.remaining == 3
