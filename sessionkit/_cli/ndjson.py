"""NDJSON batch input: physical lines, one request per line, and the lines a previous run finished.

A line ends at `\\n` only (a trailing `\\r` is dropped): `str.splitlines()` would also break at a raw
U+2028 or U+0085, which JSON allows inside a string. `index` is the 0-based number of the physical
line, blank lines included, so `index + 1` is the line number an editor shows.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from .. import RequestOptions  # the public name: where it is defined may move
from ..errors import InvalidRequestError
from .output import UsageError
from .request import batch_request, utf8_text
from .table import Op

__all__ = ["Line", "split_lines", "parse_lines", "idempotency_key", "finished_indexes"]


@dataclass(frozen=True)
class Line:
    """One non-blank input line: its index, and its request (or the error that keeps it from being sent).

    `idempotent` is true when the call is safe to send again: it carries an `Idempotency-Key` the
    service honours, or sets the request's `idempotent` field to true. A line without it that a stop
    cut off mid-call is `in_doubt`: the server may have acted on it, and a resume sends it again.
    """

    index: int
    request: Any
    options: RequestOptions | None = None
    error: InvalidRequestError | None = None
    idempotent: bool = False


def split_lines(data: bytes) -> list[bytes]:
    """The physical lines of `data`; a final `\\n` ends the last line rather than starting an empty one."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def idempotency_key(index: int, raw: bytes) -> str:
    """The same key for the same line at the same place, so a retried or resumed create is not a new one.

    Sent only for an operation whose service honours the header (`Op.idempotency == "key"`).
    """
    digest = hashlib.sha256(b"%d\n" % index + raw).hexdigest()
    return f"sessionkit-{digest[:32]}"


def _line(op: Op, index: int, raw: bytes) -> Line:
    number = index + 1
    try:
        request = batch_request(op, utf8_text(raw, f"input line {number}"), number)
    except UsageError as exc:
        return Line(index, None, error=InvalidRequestError(str(exc)))
    if op.idempotency == "key":
        return Line(index, request, RequestOptions(idempotency_key=idempotency_key(index, raw)), idempotent=True)
    if op.idempotency == "field" and isinstance(request, dict):
        body = cast("dict[str, Any]", request)
        if "idempotent" not in body:  # a line that says `"idempotent": false` keeps its choice
            body = {**body, "idempotent": True}
        return Line(index, body, idempotent=body["idempotent"] is True)
    return Line(index, request)


def parse_lines(op: Op, data: bytes, skip: set[int]) -> list[Line]:
    """A `Line` per non-blank physical line of `data` whose index is not in `skip`."""
    return [_line(op, i, raw) for i, raw in enumerate(split_lines(data)) if raw.strip() and i not in skip]


def _check_not_emptied(path: Path) -> None:
    # `--resume out.ndjson > out.ndjson`: the shell emptied the file before we could read it, so
    # every line would run again. Appending (`>>`) is the way to write the rest to the same file.
    try:
        import fcntl

        stdout = sys.stdout.fileno()
        same = os.path.samestat(os.fstat(stdout), os.stat(path))
        appends = fcntl.fcntl(stdout, fcntl.F_GETFL) & os.O_APPEND
    except (ImportError, OSError, ValueError):  # no fcntl (Windows), no real stdout, no such file
        return
    if same and not appends:
        raise UsageError(f"--resume {str(path)!r} is also stdout, which `>` emptied: write with `>>` to append")


def finished_indexes(spec: str) -> set[int]:
    """The indexes a previous run's output file holds a result (`ok` or `error`) for."""
    path = Path(spec)
    _check_not_emptied(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the --resume file {spec!r}: {exc.strerror}") from None
    done: set[int] = set()
    for raw in split_lines(data):
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):  # e.g. a last line cut short when that run was killed
            continue
        if isinstance(value, dict):
            line = cast("dict[str, Any]", value)
            index = line.get("index")
            if type(index) is int and ("ok" in line or "error" in line):
                done.add(index)
    return done
