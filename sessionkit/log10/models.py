"""Log10 session models."""

from __future__ import annotations

import attrs

__all__ = ["CreateSessionRequest"]


@attrs.define(kw_only=True)
class CreateSessionRequest:
    """`POST /api/v1/sessions` takes no body; `organization` overrides the core's for this call."""

    organization: str | None = None
