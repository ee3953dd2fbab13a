"""JSON text for the CLI's output, of a value of any depth, without recursion.

A server may send JSON nested hundreds of levels deep (up to `sessionkit._json.MAX_DEPTH` in a
free-form field, deeper in an error body kept as text); the standard library's encoder and cattrs's
unstructuring recurse per level and would raise `RecursionError` while printing it. This writer
keeps its own stack. Models are written with their wire names, leaving out unset (None-default)
fields as requests do, and private (`_`-named) fields; enums as their values, datetimes in ISO 8601 with "Z", anything else that is
not JSON as its `str`.
"""

from __future__ import annotations

import datetime
import enum
import json
from collections.abc import Iterable
from typing import Any, cast

import attrs

from .._serde import format_datetime

__all__ = ["to_json"]

_scalar = json.JSONEncoder(ensure_ascii=False).encode
_ascii_scalar = json.JSONEncoder(ensure_ascii=True).encode


class _Text(str):
    """Output already written as JSON text (punctuation, a key), not a value to encode."""

    __slots__ = ()


def _fields(model: Any) -> dict[str, Any]:
    """A model's wire names and values, unset (None-default) fields left out."""
    out: dict[str, Any] = {}
    for a in attrs.fields(type(model)):  # pyright: ignore[reportUnknownArgumentType]
        if a.name.startswith("_"):
            continue  # a private field (an input request's answer function) is no output
        value = getattr(model, a.name)
        if value is None and a.default is None:
            continue
        out[a.metadata.get("wire", a.name)] = value
    return out


def _plain(value: Any) -> Any:
    """One level of `value` as JSON data: a model as a dict of its fields, an enum as its value."""
    if attrs.has(type(value)):  # pyright: ignore[reportUnknownArgumentType]
        return _fields(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.datetime):
        return format_datetime(value)
    if isinstance(value, tuple | set | frozenset):
        return list(cast("Iterable[Any]", value))
    return value


def to_json(value: Any, *, indent: int | None = None, ascii_only: bool = False) -> str:
    """`value` as JSON text (one line without `indent`), whatever its depth."""
    scalar = _ascii_scalar if ascii_only else _scalar
    comma, colon = (",", ": ") if indent is not None else (",", ":")
    out: list[str] = []
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if type(item) is _Text:
            out.append(item)
            continue
        item = _plain(item)
        if isinstance(item, dict) and item:
            entries: list[tuple[Any, Any]] = list(cast("dict[Any, Any]", item).items())
            out.append("{")
            stack.append((_Text(_newline(indent, level) + "}"), level))
            for i in range(len(entries) - 1, -1, -1):
                key, child = entries[i]
                stack.append((child, level + 1))
                sep = comma if i else ""
                stack.append((_Text(sep + _newline(indent, level + 1) + scalar(str(key)) + colon), level))
        elif isinstance(item, list) and item:
            items: list[Any] = item  # pyright: ignore[reportUnknownVariableType]
            out.append("[")
            stack.append((_Text(_newline(indent, level) + "]"), level))
            for i in range(len(items) - 1, -1, -1):
                stack.append((items[i], level + 1))
                stack.append((_Text((comma if i else "") + _newline(indent, level + 1)), level))
        elif isinstance(item, dict):
            out.append("{}")
        elif isinstance(item, list):
            out.append("[]")
        elif item is None or isinstance(item, (str, int, float, bool)):
            out.append(scalar(item))
        else:
            out.append(scalar(str(item)))
    return "".join(out)


def _newline(indent: int | None, level: int) -> str:
    return "" if indent is None else "\n" + " " * (indent * level)
