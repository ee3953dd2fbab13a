"""What a kernel message of an execution means: the output it carries (`output`), the execute
reply (`reply`), or the kernel going away (`gone`). A message of a known type whose content has the
wrong shape is a `FramingError`; one of an unknown type means nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._framing import FramingError, Incoming
from .errors import KernelGoneError
from .outputs import ClearOutput, DisplayData, ErrorOutput, ExecuteReply, ExecuteResult, KernelOutput, StreamText

__all__ = ["gone", "output", "reply", "text"]


def text(content: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = content.get(key, default)
    if not isinstance(value, str):
        raise FramingError(f"its {key!r} is not a string")
    return value


def _dict(content: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = content.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FramingError(f"its {key!r} is not a JSON object")
    return value  # pyright: ignore[reportUnknownVariableType]


def _count(content: Mapping[str, Any]) -> int | None:
    value = content.get("execution_count")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _error(content: Mapping[str, Any]) -> ErrorOutput:
    lines: Any = content.get("traceback") or []
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):  # pyright: ignore[reportUnknownVariableType]
        raise FramingError("its 'traceback' is not a list of strings")
    return ErrorOutput(ename=text(content, "ename", ""), evalue=text(content, "evalue", ""), traceback=lines)  # pyright: ignore[reportUnknownArgumentType]


def output(message: Incoming) -> KernelOutput | None:
    """The output an iopub message of this request carries (None: busy, execute_input, unknown)."""
    kind = message.msg_type
    if kind not in ("stream", "display_data", "update_display_data", "execute_result", "error", "clear_output"):
        return None
    content = message.content()
    if kind == "stream":
        return StreamText(name=text(content, "name"), text=text(content, "text"))
    if kind == "execute_result":
        return ExecuteResult(
            execution_count=_count(content), data=_dict(content, "data"), metadata=_dict(content, "metadata")
        )
    if kind == "error":
        return _error(content)
    if kind == "clear_output":
        return ClearOutput(wait=content.get("wait") is True)
    return DisplayData(
        data=_dict(content, "data"),
        metadata=_dict(content, "metadata"),
        transient=_dict(content, "transient"),
        output_type=kind,
    )


def reply(content: Mapping[str, Any]) -> ExecuteReply:
    status = text(content, "status")
    error = _error(content) if status == "error" else None
    payload = content.get("payload")
    kept = [p for p in payload if isinstance(p, dict)] if isinstance(payload, list) else []  # pyright: ignore[reportUnknownVariableType]
    return ExecuteReply(status=status, execution_count=_count(content), error=error, payload=kept)  # pyright: ignore[reportUnknownArgumentType]


def gone(message: Incoming, kernel_id: str, common: Mapping[str, Any]) -> KernelGoneError | None:
    """A kernel going away, told by a message of any request (a delete, a restart, a death)."""
    if message.msg_type == "shutdown_reply":
        restart = message.content().get("restart") is True
        state = "restarting" if restart else "shut down"
        reason = "was restarted" if restart else "was shut down (deleted)"
    elif message.msg_type == "status" and message.content().get("execution_state") in ("dead", "restarting"):
        state = message.content()["execution_state"]
        reason = "died and is restarting" if state == "restarting" else "is dead"
    else:
        return None
    return KernelGoneError(
        f"kernel {kernel_id} {reason} while the code ran", state=state, kernel_id=kernel_id, **common
    )
