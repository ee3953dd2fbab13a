"""The wire bodies every benchmark uses: Orq `Thread` objects, a 50-item list page, a create body.

They carry every Thread field the official SDK knows, so both SDKs decode the full model.
"""

from __future__ import annotations

import json
from typing import Any

SESSION_ID = "thread_01HZXW2K7Y8Q9M0N1P2R3S4T5V"
PAGE_SIZE = 50
LIST_FILTERS: dict[str, Any] = {"interval": "SESSION_INTERVAL_LAST_24_HOURS"}


def thread(i: int) -> dict[str, Any]:
    """One Thread with every field set, as the live API sends it."""
    return {
        "_id": SESSION_ID if i == 0 else f"thread_{i:026d}",
        "external_id": f"ext-{i}",
        "duration": 1240.5 + i,
        "contact_ids": [f"contact_{i}", "contact_shared"],
        "billing": {"input_cost": 0.0012, "output_cost": 0.0024, "total_cost": 0.0036},
        "usage": {"prompt_tokens": 480 + i, "completion_tokens": 132, "total_tokens": 612 + i},
        "traces_count": 3 + i,
        "tags": ["support", "benchmark"],
        "project_id": "proj_01HZXW2K7Y8Q9M0N1P2R3S4T5V",
        "started_at": "2026-10-01T12:00:00.000Z",
        "updated_at": "2026-10-01T12:05:00.123Z",
        "title": f"Conversation {i}",
        "client": "claude-code",
        "repo": "github.com/org/repo",
        "kind": "THREAD_KIND_CODING_AGENT" if i % 2 else "THREAD_KIND_CONVERSATION",
    }


def create_body() -> dict[str, Any]:
    """The create request every client sends (Thread fields minus `_id`)."""
    body = thread(0)
    del body["_id"]
    return body


def encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


THREAD_BYTES = encode(thread(0))
PAGE_BYTES = encode({"object": "list", "data": [thread(i) for i in range(PAGE_SIZE)], "has_more": False})
CREATE_BYTES = encode(create_body())
LIST_REQUEST_BYTES = encode({"filters": LIST_FILTERS, "limit": PAGE_SIZE})
