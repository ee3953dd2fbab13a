"""Tests of an optional extra skip, with the reason, where the extra is not installed; CI sets
`SESSIONKIT_REQUIRE_EXTRAS=1` and then a missing extra fails them instead (nothing skips silently)."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """`module`, imported; a skip naming `pip install 'sessionkit[<extra>]'` when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        reason = f"needs {module} (pip install 'sessionkit[{extra}]'): {exc}"
        if os.environ.get("SESSIONKIT_REQUIRE_EXTRAS", "").strip() not in ("", "0"):
            pytest.fail(reason + "; SESSIONKIT_REQUIRE_EXTRAS is set", pytrace=False)
        pytest.skip(reason, allow_module_level=True)
