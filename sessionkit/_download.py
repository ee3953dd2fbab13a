"""A streamed download as one call: open the body (`response=ByteStream`), and write it to a file
when the caller names one. Every service's download function is this, with its own operation."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ._operation import Operation
from ._options import RequestOptions
from ._pipeline import start
from ._reader import ByteStream
from .errors import InvalidRequestError, SessionkitError
from .result import Err, Ok, Result

if TYPE_CHECKING:
    from ._core import BaseCore

__all__ = ["DOWNLOAD_MAX_BYTES", "download"]

DOWNLOAD_MAX_BYTES = 1 << 30
"""The default cap of a download: 1 GiB, streamed (never held in memory)."""


async def download(
    core: BaseCore,
    op: Operation[Any, ByteStream],
    request: Any,
    options: RequestOptions | None,
    *,
    to: str | os.PathLike[str] | None,
    max_bytes: int | None,
) -> Result[ByteStream, SessionkitError]:
    """`op`'s body: saved to `to` (then returned read and closed, `saved_to` set), or open for the
    caller to read when `to` is None. `max_bytes` (None: no cap) bounds the body."""
    if to is not None and not isinstance(to, (str, os.PathLike)):  # pyright: ignore[reportUnnecessaryIsInstance]
        reason = f"must be a path (str or os.PathLike), got {type(to).__name__}"
        return Err(InvalidRequestError(reason, field_path="to", operation_id=op.id))
    opened = await start(core.config, core, op, request, options, max_bytes=max_bytes)
    if to is None or isinstance(opened, Err):
        return opened
    saved = await opened.value.save(to)
    return saved if isinstance(saved, Err) else Ok(opened.value, meta=opened.meta)
