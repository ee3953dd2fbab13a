"""JSON in and out: orjson when it is installed (`sessionkit[fast]`), the standard library otherwise.

Both backends give the same results and the same errors. What orjson refuses or reads
differently (integers past 64 bits, a byte-order mark, lone surrogates, UTF-16, `1e400`) goes to
the standard library, which then decides; before any encoder runs, `check` walks the value and rejects NaN, infinities,
non-string keys and non-JSON types with the path of the bad value, so neither encoder's own rules
(the standard library turns `1` keys into `"1"`, orjson writes NaN as `null`) ever show.

One depth rule holds for both backends on every Python version: JSON nested more than
`MAX_DEPTH` (512) levels is refused, in a response body (`JSONDepthError`, a `ValueError`) and in a
request body (`JSONInputError`). The parsers' own limits differ (orjson stops at 1,024 levels, the
standard library at its recursion limit, which is about 1,000 on 3.11 and far more on 3.13), so
they never decide it: `loads` walks a parsed value of more than 1 KiB for its depth, and
`loads_for_model` (a body decoded into a model, whose fields bound its depth) leaves it to the
structure step, which checks every free-form (`Any`) value it is given with `check_depth`.

`SESSIONKIT_JSON=json` forces the standard library at import (`orjson` requires it; unset or
`auto` picks orjson when it can be imported).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from typing import Any

__all__ = [
    "BACKENDS",
    "MAX_DEPTH",
    "JSONDepthError",
    "JSONInputError",
    "backend",
    "check",
    "check_depth",
    "dumps",
    "loads",
    "loads_for_model",
    "use",
]

_std_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


MAX_DEPTH = 512
"""The deepest JSON nesting sessionkit reads or writes (a documented limit, the same for both backends)."""
_TOO_DEEP = f"JSON nested more than {MAX_DEPTH} levels deep"


class JSONDepthError(ValueError):
    """A JSON value nested more than `MAX_DEPTH` levels deep."""

    def __init__(self) -> None:
        super().__init__(_TOO_DEEP)


def _too_deep(value: Any) -> bool:
    """Whether `value` nests containers more than `MAX_DEPTH` levels deep (a walk by levels, no recursion)."""
    level: list[Any] = [value]
    for _ in range(MAX_DEPTH):
        below: list[Any] = []
        for container in level:
            items: Any = container.values() if type(container) is dict else container  # pyright: ignore[reportUnknownVariableType]
            below += [x for x in items if type(x) is dict or type(x) is list]  # pyright: ignore[reportUnknownVariableType]
        if not below:
            return False
        level = below
    return True


def check_depth(value: Any) -> Any:
    """`value` itself, or `JSONDepthError` when it is nested more than `MAX_DEPTH` levels deep."""
    kind: type[Any] = type(value)  # pyright: ignore[reportUnknownVariableType]
    if (kind is dict or kind is list) and _too_deep(value):
        raise JSONDepthError
    return value


class LocatedError(ValueError):
    """A value that does not fit, with the `reason` and the `path` (`$.metadata.x`) of where."""

    separator = " at "

    def __init__(self, reason: str, path: str) -> None:
        super().__init__(f"{reason}{self.separator}{path}")
        self.reason = reason
        self.path = path


class JSONInputError(LocatedError):
    """A value that is not JSON; `path` names it (`$.metadata.x`, `$.tags[2]`)."""


def _plain(value: Any) -> bool:
    """Whether `value` is plain JSON of the usual kinds (exact `dict`, `list`, `str`, `int`, `bool`,
    finite `float`, None), at most `MAX_DEPTH` levels deep: one walk with no path built. False for
    anything else, which `check` then looks at closely (a subclass may still be fine)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        container, depth = pop()
        kind: type[Any] = type(container)  # pyright: ignore[reportUnknownVariableType]
        if kind is dict:
            if depth >= MAX_DEPTH:
                return False
            for key, item in container.items():
                if type(key) is not str:
                    return False
                t: type[Any] = type(item)  # pyright: ignore[reportUnknownVariableType]
                if t is str or t is int or t is bool or item is None:
                    continue
                if t is float:
                    if item - item != 0.0:  # NaN or an infinity
                        return False
                elif t is dict or t is list:
                    push((item, depth + 1))
                else:
                    return False
        elif kind is list:
            if depth >= MAX_DEPTH:
                return False
            for item in container:
                t: type[Any] = type(item)  # pyright: ignore[reportUnknownVariableType]
                if t is str or t is int or t is bool or item is None:
                    continue
                if t is float:
                    if item - item != 0.0:
                        return False
                elif t is dict or t is list:
                    push((item, depth + 1))
                else:
                    return False
        elif not (kind is str or kind is int or kind is bool or container is None):
            return kind is float and container - container == 0.0
    return True


def check(value: Any, path: str = "$", depth: int = 0) -> None:
    """Raise `JSONInputError` unless `value` is plain JSON: str keys, finite numbers, JSON types,
    at most `MAX_DEPTH` levels deep."""
    if depth == 0 and _plain(value):
        return  # the usual body: one walk, no paths
    kind: type[Any] = type(value)  # pyright: ignore[reportUnknownVariableType]
    if kind is str or kind is int or kind is bool or value is None:
        return
    if kind is dict or kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            shown = path if len(path) <= 100 else path[:100] + "…"
            raise JSONInputError(f"nested more than {MAX_DEPTH} levels deep (or circular)", shown)
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str and not isinstance(key, str):
                    raise JSONInputError(f"a key must be a string, got {type(key).__name__} {key!r}", path)
                if type(item) is not str:  # most values are strings: skip the call for them
                    check(item, f"{path}.{key}", depth + 1)
            return
        for index, item in enumerate(value):
            if type(item) is not str:
                check(item, f"{path}[{index}]", depth + 1)
        return
    if kind is float:
        if not math.isfinite(value):
            raise JSONInputError(f"{value!r} is not a JSON number", path)
        return
    # Subclasses, as the standard library encodes them (a str enum as its string, an IntEnum as a number).
    if isinstance(value, (str, int)):
        return
    if isinstance(value, float):
        return check(float(value), path, depth)
    if isinstance(value, dict):
        return check(dict(value), path, depth)  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(value, (list, tuple)):
        return check(list(value), path, depth)  # pyright: ignore[reportUnknownArgumentType]
    raise JSONInputError(f"a {type(value).__name__} is not a JSON value", path)


def _checked(value: Any) -> None:
    try:
        check(value)
    except RecursionError:  # the caller's own stack was already deep
        raise JSONInputError(f"nested more than {MAX_DEPTH} levels deep (or circular)", "$") from None


def _std_encode(value: Any) -> bytes:
    return _std_encoder.encode(value).encode()


def _std_dumps(value: Any) -> bytes:
    _checked(value)
    return _std_encode(value)


def _std_parse(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except RecursionError:  # the parser ran out of stack before any other limit: too deep
        raise JSONDepthError from None


_parse: Callable[[bytes | str], Any] = _std_parse
dumps: Callable[[Any], bytes] = _std_dumps


def loads(data: bytes | str) -> Any:
    """Parse any JSON body; `ValueError` for one that is not JSON, `JSONDepthError` (a `ValueError`)
    for one nested more than `MAX_DEPTH` levels deep."""
    value = _parse(data)
    if len(data) > 2 * MAX_DEPTH:  # a body shorter than 1 KiB cannot nest that deep
        check_depth(value)
    return value


loads_for_model: Callable[[bytes | str], Any] = json.loads
"""Parse a body that is decoded into a model next: the model bounds the depth of its typed fields,
and its free-form fields are checked with `check_depth` as they are structured. It is the backend's
parser itself, switched by `use` (no call in between on the hot path): the caller treats a
`RecursionError` as `JSONDepthError`."""
BACKENDS = ("json", "orjson")
# A digit -> "0", what may follow a number (`,` `}` `]` or white space) -> "T", anything else -> "x".
_MARKS = bytes(48 if 48 <= i <= 57 else 84 if i in b",}] \t\r\n" else 120 for i in range(256))
_LONG_RUN = b"0" * 19
_LONG_NUMBER = _LONG_RUN + b"T"


def _long_integer(data: bytes) -> bool:
    """Whether `data` may hold an integer of 19 digits or more, which orjson would read as a float.

    Such a number ends its run of digits where JSON lets a number end (`,` `}` `]`, white space,
    the end); a run of digits inside a string ("id_1234567890123456789") ends at a letter or the
    closing quote, and is left to orjson. A float's long fraction may match too: that only sends
    the body to the standard library, which reads it the same. Two C-speed passes: 15 µs on a
    28 KB page, 0.6 µs on one session.
    """
    marks = data.translate(_MARKS)
    return _LONG_NUMBER in marks or marks.endswith(_LONG_RUN)


_active = "json"


def _orjson_pair() -> tuple[Callable[[Any], bytes], Callable[[bytes | str], Any]]:
    import orjson

    encode, decode, decode_error = orjson.dumps, orjson.loads, orjson.JSONDecodeError

    def fast_dumps(value: Any) -> bytes:
        _checked(value)
        try:
            return encode(value)
        except TypeError:  # a 65-bit integer or a lone surrogate: the standard library decides
            return _std_encode(value)

    def fast_parse(data: bytes | str) -> Any:
        if type(data) is bytes and not _long_integer(data):
            try:
                return decode(data)
            except decode_error:  # what orjson refuses, the standard library may read: it decides
                pass
        return _std_parse(data)

    return fast_dumps, fast_parse


def use(name: str) -> None:
    """Switch the backend for the whole process: "json" or "orjson" (ImportError when absent)."""
    global dumps, _parse, loads_for_model, _active
    if name == "json":
        dumps, _parse = _std_dumps, _std_parse
    elif name == "orjson":
        dumps, _parse = _orjson_pair()
    else:
        raise ValueError(f"unknown JSON backend {name!r}: expected one of {BACKENDS}")
    loads_for_model = json.loads if name == "json" else _parse
    _active = name


def backend() -> str:
    """The JSON backend sessionkit uses: "orjson" (the `fast` extra) or "json" (the standard library).

    Chosen at import: orjson when it can be imported, unless `SESSIONKIT_JSON=json` is set.
    """
    return _active


def _choose() -> None:
    wanted = os.environ.get("SESSIONKIT_JSON", "auto").strip().lower() or "auto"
    if wanted in ("json", "stdlib"):
        return use("json")
    if wanted == "orjson":
        return use("orjson")  # asked for by name: a missing orjson is an error, not a silent fallback
    if wanted != "auto":
        raise ValueError(f"SESSIONKIT_JSON={wanted!r}: expected auto, json or orjson")
    try:
        use("orjson")
    except ImportError:
        use("json")


_choose()
