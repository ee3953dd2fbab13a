"""Turning command-line input (`--body`, the positional id, NDJSON lines) into request mappings."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, cast

from .output import UsageError
from .table import Op

__all__ = ["read_body", "build_request", "batch_request"]


def _parse(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where} is not valid JSON: {exc}") from None


def read_body(spec: str | None) -> Any:
    """`--body JSON`, `--body @file.json`, or `--body -` (stdin); None when not given."""
    if spec is None:
        return None
    if spec == "-":
        return _parse(sys.stdin.read(), "the body read from stdin")
    if spec.startswith("@"):
        path = Path(spec[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the body file {str(path)!r}: {exc.strerror}") from None
        return _parse(text, f"the body file {str(path)!r}")
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
    """One NDJSON input line as a request.

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
