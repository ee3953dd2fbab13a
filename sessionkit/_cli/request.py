"""Turning command-line input (`--body`, the positional id, NDJSON lines) into request mappings."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, cast

from .output import UsageError
from .table import Op

__all__ = ["read_body", "build_request", "batch_request", "lone_surrogate_at", "utf8_text"]


def lone_surrogate_at(value: Any, path: str = "$") -> str | None:
    """Where `value` holds a string with a lone surrogate (e.g. from a `\\ud800` JSON escape), or None.

    Such text is not Unicode: it cannot be encoded to UTF-8 for a URL, a header or a body. The path
    itself never holds the bad text (a bad key is reported as its object's path), so it prints safely.
    """
    if isinstance(value, str):
        if value.isascii():
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in cast("dict[Any, Any]", value).items():
            found = lone_surrogate_at(key, f"{path} (a key)") or lone_surrogate_at(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(cast("list[Any]", value)):
            found = lone_surrogate_at(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def utf8_text(data: bytes, where: str) -> str:
    """`data` decoded as strict UTF-8; a UsageError saying where the first bad byte is otherwise."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where} is not UTF-8 text (byte {exc.start + 1} is invalid)") from None


def _parse(text: str, where: str) -> Any:
    try:
        value = json.loads(text)
        bad = lone_surrogate_at(value)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where} is not valid JSON: {exc}") from None
    except ValueError as exc:  # Python's limit on the digits of one integer (4,300 by default)
        raise UsageError(f"{where} cannot be read: {exc}") from None
    except RecursionError:
        raise UsageError(f"{where} is nested too deeply") from None
    if bad is not None:
        raise UsageError(f"{where} holds text that is not valid Unicode (a lone surrogate) at {bad}")
    return value


def read_body(spec: str | None) -> Any:
    """`--body JSON`, `--body @file.json`, or `--body -` (stdin); None when not given."""
    if spec is None:
        return None
    if spec == "-":
        # Bytes, decoded strictly: the text layer of stdin may smuggle bad bytes in as surrogates.
        return _parse(utf8_text(sys.stdin.buffer.read(), "the body read from stdin"), "the body read from stdin")
    if spec.startswith("@"):
        path = Path(spec[1:])
        where = f"the body file {str(path)!r}"
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {where}: {exc.strerror}") from None
        return _parse(utf8_text(data, where), where)
    return _parse(spec, "--body")


def build_request(op: Op, ident: str | None, body: Any) -> Any:
    """The request for `op`: the body itself, or the id with the body under `op.body_key` / merged in."""
    if op.id_key is None:
        return body
    request: dict[str, Any] = {op.id_key: ident}
    if op.body_key is not None:
        if body is not None:
            request[op.body_key] = body
        return request
    if body is None:
        return request
    if not isinstance(body, dict):
        raise UsageError(f"--body must be a JSON object for {op.name}")
    return {**cast("dict[str, Any]", body), **request}


def batch_request(op: Op, line: str, number: int) -> Any:
    """One NDJSON input line (`number` is its 1-based line number) as a request.

    For an id-taking operation a line is the request object (it holds the id key) or a bare JSON
    string id; for a create it is the body.
    """
    value = _parse(line, f"input line {number}")
    if op.id_key is None:
        return value
    if isinstance(value, str):
        return build_request(op, value, None)
    if isinstance(value, dict) and op.id_key in value:
        return cast("dict[str, Any]", value)
    raise UsageError(f'input line {number} needs the id: a JSON string or an object with "{op.id_key}"')
