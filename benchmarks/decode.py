"""Decode time of one 50-session list page: sessionkit's cattrs models vs the Orq SDK's pydantic ones.

Each side starts from the response bytes and does what its SDK does on the success path:
sessionkit `json.loads` + the operation's structure hook (as `_pipeline._decode`), and the same
with `orjson.loads` (what `sessionkit[orjson]` parses with); the hand-written typed client's
`json.loads` + its page builder (the same attrs models, built with no checks); the Orq SDK decodes
the text and calls `utils.unmarshal_json(text, ListThreadsResponse)`, as `unmarshal_json_response`
does. Plain `json.loads` / `orjson.loads` (the floors) and pydantic's own `model_validate_json`
(what a hand-tuned pydantic client could do) are shown for reference. The orjson rows appear only
when orjson is installed.
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

    from .clients import hand_page, orjson_available

    body = payloads.PAGE_BYTES
    op = LIST_SESSIONS

    def structure(data: Any) -> Any:
        if op.decode is not None:
            data = op.decode(data)
        return op.structure_fn()(data)

    def sessionkit() -> Any:
        return structure(json.loads(body))

    def hand_typed() -> Any:
        return hand_page(json.loads(body))

    def orq_sdk() -> Any:
        return unmarshal_json(body.decode(), OrqPage)

    def pydantic_direct() -> Any:
        return OrqPage.model_validate_json(body)

    def json_only() -> Any:
        return json.loads(body)

    fns: dict[str, Callable[[], Any]] = {"sessionkit": sessionkit}
    orjson_loads: Callable[[bytes], Any] | None = None
    if orjson_available():
        import orjson

        orjson_loads = orjson.loads
        fast_loads = orjson_loads

        def sessionkit_orjson() -> Any:
            return structure(fast_loads(body))

        fns["sessionkit[orjson]"] = sessionkit_orjson
    fns["hand-written typed"] = hand_typed
    fns["orq-ai-sdk"] = orq_sdk
    fns["pydantic model_validate_json"] = pydantic_direct
    fns["json.loads only"] = json_only
    if orjson_loads is not None:
        only_loads = orjson_loads

        def orjson_only() -> Any:
            return only_loads(body)

        fns["orjson.loads only"] = orjson_only
    return fns


def check() -> None:
    """Every decoder of models reads the page into the same 50 sessions (a wrong decoder is no benchmark)."""
    fns = decoders()
    ours, theirs = fns["sessionkit"](), fns["orq-ai-sdk"]()
    same = [t.id for t in ours.data] == [t.id for t in theirs.data]
    if not same or len(ours.data) != payloads.PAGE_SIZE:
        raise RuntimeError("the two SDKs decoded the list page differently")
    if ours.data[0].billing.total_cost != theirs.data[0].billing.total_cost:
        raise RuntimeError("the two SDKs decoded the list page differently")
    for name in ("sessionkit[orjson]", "hand-written typed"):
        if name in fns and fns[name]() != ours:
            raise RuntimeError(f"{name} decoded the list page differently from sessionkit")


def measure(seconds: float, repeats: int) -> dict[str, dict[str, float]]:
    check()
    results: dict[str, dict[str, float]] = {}
    for name, fn in decoders().items():
        runs = _time_per_call(fn, seconds, repeats)
        results[name] = {"median_us": statistics.median(runs), "min_us": min(runs)}
    return results
