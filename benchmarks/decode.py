"""Decode time of one 50-session list page: sessionkit's cattrs models vs the Orq SDK's pydantic ones.

Each side starts from the response bytes and does what its SDK does on the success path:
sessionkit `json.loads` + the operation's structure hook (as `_pipeline._decode`); the Orq SDK
decodes the text and calls `utils.unmarshal_json(text, ListThreadsResponse)`, as
`unmarshal_json_response` does. Plain `json.loads` (the floor) and pydantic's own
`model_validate_json` (what a hand-tuned pydantic client could do) are shown for reference.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from . import payloads


def _time_per_call(fn: Callable[[], Any], seconds: float, repeats: int) -> list[float]:
    """Microseconds per call for each of `repeats` batches of roughly `seconds` each."""
    fn()
    loops = 1
    while True:  # size the batch so one takes about `seconds`
        t0 = time.process_time()
        for _ in range(loops):
            fn()
        if (spent := time.process_time() - t0) >= seconds / 4 or loops > 1 << 20:
            break
        loops *= 2
    loops = max(1, int(loops * seconds / max(spent, 1e-9)))
    out = []
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(loops):
            fn()
        out.append((time.process_time() - t0) / loops * 1e6)
    return out


def decoders() -> dict[str, Callable[[], Any]]:
    from orq_ai_sdk.models import ListThreadsResponse as OrqPage
    from orq_ai_sdk.utils import unmarshal_json

    from sessionkit.orq.sessions import LIST_SESSIONS

    body = payloads.PAGE_BYTES
    op = LIST_SESSIONS

    def sessionkit() -> Any:
        data = json.loads(body)
        if op.decode is not None:
            data = op.decode(data)
        return op.structure_response(data)

    def orq_sdk() -> Any:
        return unmarshal_json(body.decode(), OrqPage)

    def pydantic_direct() -> Any:
        return OrqPage.model_validate_json(body)

    def json_only() -> Any:
        return json.loads(body)

    return {
        "sessionkit": sessionkit,
        "orq-ai-sdk": orq_sdk,
        "pydantic model_validate_json": pydantic_direct,
        "json.loads only": json_only,
    }


def check() -> None:
    """Both SDKs decode the page into 50 sessions with the same ids (a wrong decoder is no benchmark)."""
    fns = decoders()
    ours, theirs = fns["sessionkit"](), fns["orq-ai-sdk"]()
    same = [t.id for t in ours.data] == [t.id for t in theirs.data]
    if not same or len(ours.data) != payloads.PAGE_SIZE:
        raise RuntimeError("the two SDKs decoded the list page differently")
    if ours.data[0].billing.total_cost != theirs.data[0].billing.total_cost:
        raise RuntimeError("the two SDKs decoded the list page differently")


def measure(seconds: float, repeats: int) -> dict[str, dict[str, float]]:
    check()
    results: dict[str, dict[str, float]] = {}
    for name, fn in decoders().items():
        runs = _time_per_call(fn, seconds, repeats)
        results[name] = {"median_us": statistics.median(runs), "min_us": min(runs)}
    return results
