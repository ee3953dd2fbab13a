"""`SESSIONKIT_LOG=debug|info` logging, with secret headers redacted."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping

logger = logging.getLogger("sessionkit")

SECRET_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-log10-token",
        "x-api-key",
        "api-key",
        "cookie",
        "set-cookie",
        "x-auth-token",
        "private-token",
        "x-access-token",
        "x-goog-api-key",
    }
)
REDACTED = "<redacted>"
_SECRET_WORDS = ("auth", "token", "secret", "key", "password", "cookie", "credential", "signature")


def looks_secret(name: str) -> bool:
    """Whether a header name is, or reads like, one that carries a credential (for reprs)."""
    lowered = name.lower()
    return lowered in SECRET_HEADERS or any(word in lowered for word in _SECRET_WORDS)


def redact_headers(headers: Mapping[str, str], secret: Iterable[str] = SECRET_HEADERS) -> dict[str, str]:
    """A copy of `headers` with every secret value replaced."""
    names = {s.lower() for s in secret}
    return {k: (REDACTED if k.lower() in names else v) for k, v in headers.items()}


def setup_logging() -> None:
    """Attach a stderr handler to the `sessionkit` logger when `SESSIONKIT_LOG` asks for it."""
    level = os.environ.get("SESSIONKIT_LOG", "").strip().lower()
    if level not in ("debug", "info"):
        return
    if not any(getattr(h, "_sessionkit", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s"))
        handler._sessionkit = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
