"""RSS growth over many requests through `sessionkit.batch.batch`, in a process of its own.

`python -m benchmarks.memory --url URL --requests N` prints one JSON object. The requests go through
`batch` in chunks of at most 10,000 whose results are dropped, and the function given to `batch`
returns a bool: the growth measured is what the pipeline, the pool and `batch` keep, not the results a
caller chose to hold. RSS after every chunk is recorded too, so a leak shows as a slope.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
from typing import Any

from . import payloads

_CHUNK = 10_000


def rss_kib() -> int:
    """VmRSS of this process from /proc (kB), without psutil."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def measure(url: str, requests: int, concurrency: int, warmup: int) -> dict[str, Any]:
    from sessionkit.batch import batch
    from sessionkit.orq import GetSessionRequest, OrqCore, sessions_get
    from sessionkit.result import Ok

    async with OrqCore(api_key="bench-key", server_url=url) as core:

        async def one(session_id: str) -> Ok[bool]:
            result = await sessions_get(core, GetSessionRequest(session_id=session_id))
            return Ok(result.is_ok() and result.unwrap().id == payloads.SESSION_ID)

        # Warm up the pool, the converters' generated code and the allocator before the baseline.
        warm = await batch(one, [payloads.SESSION_ID] * warmup, concurrency=concurrency)
        del warm
        gc.collect()
        before = rss_kib()
        ok, done, curve = 0, 0, []
        while done < requests:
            chunk = min(_CHUNK, requests - done)
            results = await batch(one, [payloads.SESSION_ID] * chunk, concurrency=concurrency)
            ok += sum(1 for r in results if _is_true(r))
            done += chunk
            del results
            gc.collect()
            curve.append(rss_kib())
        after = curve[-1] if curve else before
    return {
        "requests": requests,
        "concurrency": concurrency,
        "warmup": warmup,
        "correct": ok,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "growth_mib": (after - before) / 1024,
        "rss_after_each_chunk_kib": curve,
    }


def _is_true(result: Any) -> bool:
    return getattr(result, "value", None) is True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=2_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.url, args.requests, args.concurrency, args.warmup))))


if __name__ == "__main__":
    main()
