"""Jupyter Server's typed API errors. Its error body is `{"message", "reason"}` (tornado's)."""

from __future__ import annotations

from typing import ClassVar

from ..errors import ErrorTable, PermissionDeniedError

__all__ = ["JupyterPermissionDeniedError", "JUPYTER_ERRORS"]


class JupyterPermissionDeniedError(PermissionDeniedError):
    """403: Jupyter's answer to a missing or wrong token (it never answers 401)."""

    hint: ClassVar[str] = "Jupyter answers 403 to a missing or wrong token: check token= or JUPYTER_TOKEN"


JUPYTER_ERRORS: ErrorTable = {403: JupyterPermissionDeniedError}
"""Every Jupyter operation shares this status -> error table; other statuses get the generic errors."""
