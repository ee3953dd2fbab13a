"""`AsyncClosing`: `async with` for anything that has `aclose()` (a core, an open response body)."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["AsyncClosing"]

Self = TypeVar("Self", bound="AsyncClosing")


class AsyncClosing:
    """`async with x:` returns `x` and awaits `x.aclose()` on the way out, whatever happened."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self: Self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
