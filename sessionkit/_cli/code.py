"""`sessionkit jupyter kernels execute`: the code from `--code` or `--file`, and its outputs printed as
they come, as a terminal shows them (text to stdout, errors and stderr to stderr).

The exit status is the execution's: 0 when the code ran without error, 1 when it raised (or the
kernel skipped it), and the usual 2 or 3 when the call itself failed (bad input; the timeout, a
kernel that went away, the network).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import aclosing
from pathlib import Path
from typing import Any, TextIO

from ..errors import SessionkitError
from ..result import Err, Result
from .output import EXIT_API, EXIT_OK, UsageError, print_error
from .request import utf8_text

__all__ = ["run_code", "with_code"]


def _code(ns: argparse.Namespace) -> str | None:
    if ns.code is not None:
        return ns.code
    if ns.file is None:
        return None
    if ns.file == "-":
        return utf8_text(sys.stdin.buffer.read(), "the code read from stdin")
    path = Path(ns.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the code file {str(path)!r}: {exc.strerror}") from None
    return utf8_text(data, f"the code file {str(path)!r}")


def with_code(request: Any, ns: argparse.Namespace) -> Any:
    """`request` with the code and the execution flags set (they win over `--body`)."""
    if not isinstance(request, dict):
        return request
    out: dict[str, Any] = dict(request)  # pyright: ignore[reportUnknownArgumentType]
    code = _code(ns)
    if code is not None:
        out["code"] = code
    if "code" not in out:
        raise UsageError("give the code to run: --code CODE or --file PATH (- for stdin)")
    if ns.execution_timeout is not None:
        out["timeout"] = ns.execution_timeout
    if ns.on_timeout is not None:
        out["on_timeout"] = ns.on_timeout
    if ns.no_history:
        out["store_history"] = False
    if getattr(ns, "allow_stdin", False):
        out["allow_stdin"] = True
    return out


def _text_of(data: Any) -> str:
    """What a terminal shows of a MIME bundle: its text, or which kinds of data it holds."""
    if isinstance(data, dict):
        text = data.get("text/plain")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        if isinstance(text, str):
            return text
        kinds = ", ".join(str(k) for k in data)  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        return f"<{kinds or 'no data'}>"
    return ""


def _write(stream: TextIO, text: str, newline: bool = False) -> None:
    stream.write(text + ("\n" if newline and not text.endswith("\n") else ""))
    stream.flush()


async def _answer(output: Any) -> Result[None, SessionkitError]:
    line = await asyncio.to_thread(sys.stdin.readline)
    return await output.reply(line.rstrip("\n"))


def _show(output: Any) -> None:
    """One output on the terminal."""
    kind = getattr(output, "output_type", "")
    if kind == "stream":
        _write(sys.stderr if output.name == "stderr" else sys.stdout, output.text)
    elif kind in ("display_data", "update_display_data", "execute_result"):
        _write(sys.stdout, _text_of(output.data), newline=True)
    elif kind == "error":
        _write(sys.stderr, "\n".join(output.traceback) or f"{output.ename}: {output.evalue}", newline=True)
    elif kind == "input_request":
        _write(sys.stdout, output.prompt)


async def run_code(stream: Any, core: Any, request: Any) -> int:
    """Print the outputs of `stream(core, request)` as they come; the exit status of the execution."""
    async with aclosing(stream(core, request)) as outputs:
        async for item in outputs:
            result: Result[Any, SessionkitError] = item
            if isinstance(result, Err):
                return print_error(result.error)
            output = result.value
            _show(output)
            if getattr(output, "output_type", "") == "input_request":
                answered = await _answer(output)
                if isinstance(answered, Err):
                    return print_error(answered.error)
            if getattr(output, "output_type", "") == "execute_reply":
                return EXIT_OK if output.status == "ok" else EXIT_API
    return EXIT_API  # pragma: no cover - a stream ends with its reply or an error
