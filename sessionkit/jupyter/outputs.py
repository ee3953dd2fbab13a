"""What running code in a kernel gives back: the outputs as they come (`KernelOutput`), and the
whole `Execution` once the kernel is done.

Each output is one message of the Jupyter messaging protocol whose parent is the execute request:
stream text, display data (and updates of it), the execute result, an error, a clear-output, an
input request, and last the execute reply. `output_type` names each one (the nbformat names, plus
`"input_request"` and `"execute_reply"`), so they read well as JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ..errors import InvalidRequestError, SessionkitError
from ..result import Err, Result

__all__ = [
    "ClearOutput",
    "DisplayData",
    "ErrorOutput",
    "ExecuteReply",
    "ExecuteResult",
    "Execution",
    "InputRequest",
    "KernelOutput",
    "MimeBundle",
    "StreamText",
]

MimeBundle = dict[str, Any]
"""Output data by MIME type: `{"text/plain": "42", "image/png": "<base64>"}`."""


@attrs.frozen(kw_only=True)
class KernelOutput:
    """Base of every output `kernels_execute_stream` yields."""


@attrs.frozen(kw_only=True)
class StreamText(KernelOutput):
    """Text the code wrote to `stdout` or `stderr` (`name`)."""

    name: str
    text: str
    output_type: str = attrs.field(default="stream", init=False)


@attrs.frozen(kw_only=True)
class DisplayData(KernelOutput):
    """A display (`display(...)`, a plot): its `data` by MIME type. `output_type` is
    `"update_display_data"` for an update of an earlier display with the same `display_id`."""

    data: MimeBundle
    metadata: dict[str, Any] = attrs.Factory(dict[str, Any])
    transient: dict[str, Any] = attrs.Factory(dict[str, Any])
    output_type: str = "display_data"

    @property
    def display_id(self) -> str | None:
        """The id `update_display_data` refers to, when the display was given one."""
        value = self.transient.get("display_id")
        return value if isinstance(value, str) else None


@attrs.frozen(kw_only=True)
class ExecuteResult(KernelOutput):
    """The value of the cell's last expression, by MIME type (`data["text/plain"]` is its repr)."""

    execution_count: int | None
    data: MimeBundle
    metadata: dict[str, Any] = attrs.Factory(dict[str, Any])
    output_type: str = attrs.field(default="execute_result", init=False)


@attrs.frozen(kw_only=True)
class ErrorOutput(KernelOutput):
    """An exception the code raised: its class name, its message and the formatted traceback
    (lines with ANSI colours, as the kernel sends them)."""

    ename: str
    evalue: str
    traceback: list[str] = attrs.Factory(list[str])
    output_type: str = attrs.field(default="error", init=False)


@attrs.frozen(kw_only=True)
class ClearOutput(KernelOutput):
    """The code cleared its outputs so far (`wait=True`: when the next output comes)."""

    wait: bool = False
    output_type: str = attrs.field(default="clear_output", init=False)


Answer = Callable[[str], Awaitable[Result[None, SessionkitError]]]


async def _not_answerable(value: str) -> Result[None, SessionkitError]:
    reason = "this input request was not made by kernels_execute_stream: there is no kernel to answer"
    return Err(InvalidRequestError(reason, field_path="reply"))


@attrs.frozen(kw_only=True)
class InputRequest(KernelOutput):
    """The code called `input(prompt)` (or `getpass`, `password=True`) and waits for `reply`.

    Only with `allow_stdin=True`; answer it with `await request.reply("text")` before reading on.
    """

    prompt: str
    password: bool = False
    output_type: str = attrs.field(default="input_request", init=False)
    _answer: Answer = attrs.field(default=_not_answerable, repr=False, eq=False, alias="answer")

    async def reply(self, value: str) -> Result[None, SessionkitError]:
        """Send `value` as what `input()` returns (`Ok(None)` once sent)."""
        return await self._answer(value)


@attrs.frozen(kw_only=True)
class ExecuteReply(KernelOutput):
    """The kernel's answer to the request, always the last output: `status` is `"ok"`, `"error"`
    (the code raised: `error` says what) or `"aborted"` (the kernel skipped it after an earlier
    request failed)."""

    status: str
    execution_count: int | None = None
    error: ErrorOutput | None = None
    payload: list[dict[str, Any]] = attrs.Factory(list[dict[str, Any]])
    output_type: str = attrs.field(default="execute_reply", init=False)


@attrs.define(kw_only=True)
class Execution:
    """Code that ran to its end: what it printed, displayed and returned.

    `status` is `"ok"`, `"error"` (the code raised: `error` holds the exception) or `"aborted"`.
    `stdout` and `stderr` are the text written to each; `displays` the display bundles in order (an
    update replaces the display it names); `result` the value of the last expression (None when
    there was none). Of stdout, stderr and displays, what came first is kept up to
    `max_output_bytes` (text cut at a character, a display whole or not at all), and nothing after
    the first cut: `omitted_bytes` counts what was left out (`truncated` says whether any was). The
    result and the error are always kept.
    """

    status: str
    execution_count: int | None = None
    stdout: str = ""
    stderr: str = ""
    result: MimeBundle | None = None
    displays: list[MimeBundle] = attrs.Factory(list[MimeBundle])
    error: ErrorOutput | None = None
    omitted_bytes: int = 0

    @property
    def truncated(self) -> bool:
        """Whether some output was left out for `max_output_bytes`."""
        return self.omitted_bytes > 0


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _prefix(text: str, size: int) -> str:
    """The longest start of `text` whose UTF-8 form fits `size` bytes."""
    if text.isascii():
        return text[:size]
    return text.encode("utf-8", "surrogatepass")[:size].decode("utf-8", "ignore")


class ExecutionBuilder:
    """Collects outputs into an `Execution`, keeping the first `limit` bytes of stdout, stderr and
    display data (a display's size is that of its message on the wire), then nothing more of them."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.omitted = 0
        self.text: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.displays: list[MimeBundle] = []
        self.sizes: list[int] = []
        self.by_id: dict[str, int] = {}  # display_id -> its index in `displays`
        self.result: MimeBundle | None = None
        self.error: ErrorOutput | None = None
        self.clear_pending = False

    def add(self, output: KernelOutput, size: int) -> None:
        if self.clear_pending and not isinstance(output, ClearOutput):
            self._clear()
        if isinstance(output, StreamText):
            self._text(output, _utf8_size(output.text))
        elif isinstance(output, DisplayData):
            self._display(output, size)
        elif isinstance(output, ExecuteResult):
            self.result = output.data
        elif isinstance(output, ErrorOutput):
            self.error = output
        elif isinstance(output, ClearOutput):
            self.clear_pending = output.wait
            if not output.wait:
                self._clear()

    def _text(self, output: StreamText, size: int) -> None:
        parts = self.text.get(output.name)
        if parts is None:  # a stream other than stdout and stderr: nowhere to keep it
            return
        if size <= self.left:
            parts.append(output.text)
            self.left -= size
            return
        kept = _prefix(output.text, self.left)
        if kept:
            parts.append(kept)
        self.omitted += size - _utf8_size(kept)
        self.left = 0  # a prefix of the output is kept: nothing after a cut

    def _display(self, output: DisplayData, size: int) -> None:
        index = self.by_id.get(output.display_id or "") if output.display_id else None
        if output.output_type == "update_display_data":
            if index is not None:
                self._replace(index, output.data, size)
            return  # an update of a display this execution did not make (or left out)
        if size > self.left:
            self.omitted += size
            self.left = 0
            return
        self.left -= size
        if output.display_id:
            self.by_id[output.display_id] = len(self.displays)
        self.displays.append(output.data)
        self.sizes.append(size)

    def _replace(self, index: int, data: MimeBundle, size: int) -> None:
        if size - self.sizes[index] > self.left:
            self.omitted += size
            self.left = 0
            return
        self.left -= size - self.sizes[index]
        self.displays[index], self.sizes[index] = data, size

    def _clear(self) -> None:
        self.clear_pending = False
        self.left += sum(_utf8_size(t) for parts in self.text.values() for t in parts) + sum(self.sizes)
        self.text = {"stdout": [], "stderr": []}
        self.displays, self.sizes, self.by_id = [], [], {}

    def finish(self, reply: ExecuteReply) -> Execution:
        return Execution(
            status=reply.status,
            execution_count=reply.execution_count,
            stdout="".join(self.text["stdout"]),
            stderr="".join(self.text["stderr"]),
            result=self.result,
            displays=self.displays,
            error=(reply.error or self.error) if reply.status == "error" else None,
            omitted_bytes=self.omitted,
        )
