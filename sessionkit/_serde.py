"""The cattrs converters: wire names, omit-unset, strict scalars, datetimes and open enums.

Two converters share one set of hooks: a fast one for the hot path and a detailed one that is only
used after a failure, to name the field path in the error.
"""

from __future__ import annotations

import difflib
import enum
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Final, TypeVar, Union, cast

import attrs
import cattrs
from cattrs.cols import is_mutable_sequence, list_structure_factory
from cattrs.errors import ForbiddenExtraKeysError
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from . import _json  # pyright: ignore[reportPrivateUsage]  # its loads/dumps are switched at run time
from ._bodies import Upload
from ._json import LocatedError
from ._structgen import make_structure_fn, optional_inner

__all__ = ["OpenEnum", "wire", "unstructure", "StructureFailure", "dumps"]

T = TypeVar("T")


def wire(name: str, **kwargs: Any) -> Any:
    """An attrs field whose JSON name differs from its Python name."""
    metadata = dict(kwargs.pop("metadata", None) or {})
    metadata["wire"] = name
    return attrs.field(metadata=metadata, **kwargs)


class OpenEnum(str, enum.Enum):
    """A string enum that keeps values it does not know instead of failing (forward compatible)."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member


class StructureFailure(LocatedError):
    """Raised by `structure`: the data does not fit the type; `path` names where."""

    separator = " @ "


def _strict_str(value: Any, _: Any) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _strict_int(value: Any, _: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _strict_float(value: Any, _: Any) -> float:
    if type(value) is float:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _strict_bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


_FRACTION = re.compile(r"\.(\d+)")
_NATIVE_Z: Final = sys.version_info >= (3, 11)


def _parse_datetime(value: Any, _: Any) -> datetime:
    if type(value) is str and _NATIVE_Z:
        try:  # 3.11+ reads "Z" and any number of fraction digits itself: one C call on the hot path
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO-8601 string, got {type(value).__name__}")
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        # Python 3.10 accepts only 3 or 6 fraction digits; servers send 1 to 9.
        fixed = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
        if fixed == text:
            raise
        return datetime.fromisoformat(fixed)


def _parse_optional_datetime(value: Any, tp: Any) -> datetime | None:
    return None if value is None else _parse_datetime(value, tp)


def _format_optional_datetime(value: datetime | None) -> str | None:
    return None if value is None else _format_datetime(value)


def _enum_value(value: Any) -> Any:
    # A plain string in an enum field (a hand-built model without a converter) is sent as it is.
    return value.value if isinstance(value, enum.Enum) else value


def format_datetime(value: datetime) -> str:
    """A datetime as the wire writes it: ISO 8601, UTC as "Z"."""
    return _format_datetime(value)


def _format_datetime(value: datetime) -> str:
    if value.tzinfo is timezone.utc:
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _structure_any(value: Any, _: Any) -> Any:
    # A free-form value: the one part of a response whose depth no model bounds.
    return _json.check_depth(value)


def _is_plain_optional(tp: Any) -> bool:
    """`X | None` for a resolved type `X` (not a forward reference, not a wider union)."""
    inner = optional_inner(tp)
    return inner is not None and not isinstance(inner, (str, typing.ForwardRef, TypeVar))


def _objects_only(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    # cattrs would read a list or a string as an object with every field missing (`"path" in []`).
    def structure(data: Any, tp: Any) -> Any:
        if type(data) is not dict and not isinstance(data, Mapping):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        return fn(data, tp)

    return structure


_SCALAR_HOOKS: Final[dict[type[Any], Callable[[Any, Any], Any]]] = {
    str: _strict_str,
    int: _strict_int,
    float: _strict_float,
    bool: _strict_bool,
}
_SCALAR_TYPES: Final = frozenset(_SCALAR_HOOKS)


def _scalar_list_hook(item: type[Any]) -> Callable[[Any, Any], Any]:
    """`list[str]` and friends without a hook call per item when the items already have the type."""
    check = _SCALAR_HOOKS[item]

    def structure(value: Any, _: Any) -> list[Any]:
        if type(value) is not list:
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"expected a JSON array, got {type(value).__name__}")
            value = list(cast("list[Any] | tuple[Any, ...]", value))
        items = cast("list[Any]", value)
        for x in items:
            if type(x) is not item:
                return [check(y, item) for y in items]
        return list(items)

    return structure


def _is_open_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, OpenEnum)


def _structure_open_enum(value: Any, tp: Any) -> Any:
    # A dict lookup for known values; the enum call (which keeps unknown ones) only for the rest.
    member = tp._value2member_map_.get(value) if type(value) is str else None
    return member if member is not None else tp(value)


def _structure_upload(value: Any, _: Any) -> Upload:
    # A hook of its own, so that a source `Upload` refuses (a lone surrogate in a file's name, a
    # wrong type) is reported at its field; through the attrs converter it was blamed on "$".
    try:
        return Upload.of(value)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def _make_converter(detailed: bool, request: bool = False) -> cattrs.Converter:
    # A request is read strictly, by Python names; a response leniently (unknown fields ignored).
    conv = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=request)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(bool, _strict_bool)
    # OpenEnum precedes str in its MRO, so this wins over the str hook for open enums.
    conv.register_structure_hook(OpenEnum, _structure_open_enum)
    conv.register_unstructure_hook(OpenEnum, _enum_value)
    conv.register_structure_hook(datetime, _parse_datetime)
    conv.register_unstructure_hook(datetime, _format_datetime)
    conv.register_structure_hook_func(lambda tp: tp is Any, _structure_any)  # 3.10: Any is no class
    if request:
        conv.register_structure_hook(Upload, _structure_upload)

    def structure_factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
        fields = attrs.fields(cls)
        overrides = (
            {} if request else {a.name: override(rename=a.metadata["wire"]) for a in fields if "wire" in a.metadata}
        )
        fn = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=request, **overrides)  # type: ignore[arg-type]
        if not detailed and not request:
            # The hot path: the type checks inlined; cattrs's function reads whatever is not a dict.
            return make_structure_fn(cls, conv, _objects_only(fn))
        return _objects_only(fn)

    def unstructure_factory(cls: type[Any]) -> Callable[[Any], Any]:
        # Only a None default means "not given": any other default is sent as a value.
        overrides = {
            a.name: override(rename=a.metadata.get("wire"), omit_if_default=a.default is None)
            for a in attrs.fields(cls)
        }
        return make_dict_unstructure_fn(cls, conv, **overrides)  # type: ignore[arg-type]

    conv.register_structure_hook_factory(attrs.has, structure_factory)

    def list_factory(tp: Any) -> Callable[[Any, Any], Any]:
        args = typing.get_args(tp)
        if not detailed and args and args[0] in _SCALAR_TYPES:
            return _scalar_list_hook(args[0])
        # cattrs turns any iterable into a list: "abc" would become ["a", "b", "c"].
        inner = list_structure_factory(tp, conv)

        def structure(data: Any, tp: Any) -> Any:
            if not isinstance(data, (list, tuple)):
                raise TypeError(f"expected a JSON array, got {type(data).__name__}")
            return inner(data, tp)

        return structure

    conv.register_structure_hook_factory(is_mutable_sequence, list_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)

    def optional_factory(tp: Any) -> Callable[[Any, Any], Any]:
        # cattrs's own `X | None` hook dispatches on X at every call; resolving it once here makes
        # the optional fields of a list page about a third cheaper to decode.
        inner: Any = optional_inner(tp)
        if inner is datetime:
            return _parse_optional_datetime
        if _is_open_enum(inner):
            members = cast("dict[Any, Any]", inner._value2member_map_)

            def optional_enum(value: Any, _: Any) -> Any:
                member = members.get(value) if type(value) is str else None
                return member if member is not None or value is None else inner(value)

            return optional_enum
        hook = conv.get_structure_hook(inner)
        if inner in _SCALAR_TYPES and inner is not bool:
            exact: type[Any] = inner

            def optional_scalar(value: Any, _: Any) -> Any:
                # One call, not two, for the optional strings and numbers that fill most models.
                if value is None or type(value) is exact:
                    return value
                return hook(value, inner)

            return optional_scalar
        return lambda value, _: None if value is None else hook(value, inner)

    conv.register_structure_hook_factory(_is_plain_optional, optional_factory)

    def optional_unstructure_factory(tp: Any) -> Callable[[Any], Any]:
        # cattrs's own hook looks up the runtime type of every optional value; JSON scalars need no
        # work at all (cattrs then inlines the attribute read), datetimes and enums one call.
        inner: Any = optional_inner(tp)
        if inner in _SCALAR_TYPES:
            return identity
        if inner is datetime:
            return _format_optional_datetime
        if _is_open_enum(inner):
            return _enum_value
        return conv.unstructure

    conv.register_unstructure_hook_factory(_is_plain_optional, optional_unstructure_factory)
    return conv


_fast = _make_converter(detailed=False)
_detailed = _make_converter(detailed=True)
_request = _make_converter(detailed=True, request=True)


def _first_failure(exc: BaseException) -> StructureFailure:
    messages = cattrs.transform_error(exc) if isinstance(exc, cattrs.BaseValidationError) else [str(exc)]
    first = messages[0] if messages else str(exc)
    reason, sep, path = first.rpartition(" @ ")
    return StructureFailure(reason, path) if sep else StructureFailure(first, "$")


_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|(\[[^\]]*\])")


def _model_of(tp: Any) -> Any:
    """The attrs class or list item type inside `tp` (through Optional and other unions)."""
    if attrs.has(tp):
        return tp
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    origin = typing.get_origin(tp)
    if origin in (list, tuple, dict) or origin in (Union, types.UnionType):
        for arg in args:
            if attrs.has(arg) or typing.get_args(arg):
                return arg
    return None


def wire_path(tp: Any, path: str) -> str:
    """`path` (as cattrs names it, with Python attribute names) spelled with the JSON names."""
    out = ["$"]
    current = tp
    for match in _SEGMENT.finditer(path):
        name, index = match.group(1), match.group(2)
        model = _model_of(current)
        if index is not None:
            out.append(index)
            current = typing.get_args(model)[-1] if model is not None and typing.get_args(model) else None
            continue
        if model is None or not attrs.has(model):
            out.append("." + name)
            current = None
            continue
        fields = {a.name: a for a in attrs.fields(model)}
        attribute = fields.get(name)
        out.append("." + (attribute.metadata.get("wire", name) if attribute is not None else name))
        current = attribute.type if attribute is not None else None
    return "".join(out)


def structure_hook(tp: Any) -> Callable[[Any], Any]:
    """A fast structuring function for `tp`, re-running with detailed paths only on failure."""
    fast = _fast.get_structure_hook(tp)
    wants_object = attrs.has(tp)

    def run(data: Any) -> Any:
        if wants_object and not isinstance(data, dict):
            raise StructureFailure(f"expected a JSON object, got {type(data).__name__}", "$")
        try:
            return fast(data, tp)
        except Exception:
            pass
        try:
            value = _detailed.structure(data, tp)
        except Exception as exc:
            failure = _first_failure(exc)
            raise StructureFailure(failure.reason, wire_path(tp, failure.path)) from exc
        return value  # the fast path disagreed, but the detailed one accepts: trust it

    return run


def structure_request(data: Any, tp: type[T]) -> T:
    """Structure a caller's mapping, strictly: Python field names at every depth, no unknown key."""
    if attrs.has(tp) and not isinstance(data, dict):
        raise StructureFailure(f"expected a mapping, got {type(data).__name__}", "$")
    try:
        value: T = _request.structure(data, tp)
    except Exception as exc:
        messages = (
            cattrs.transform_error(exc, format_exception=_request_reason)
            if isinstance(exc, cattrs.BaseValidationError)
            else [str(exc)]
        )
        # An unknown key explains a missing one ("messageIndex" for "message_index"): name it first.
        messages.sort(key=lambda m: _KEY_SEP not in m)
        first = messages[0] if messages else str(exc)
        reason, sep, path = first.rpartition(" @ ")
        if not sep:
            reason, path = first, "$"
        key, _, reason = reason.partition(_KEY_SEP) if _KEY_SEP in reason else ("", "", reason)
        raise StructureFailure(reason, f"{path}.{key}" if key else path) from None
    return value


_KEY_SEP = "\x00"


def _request_reason(exc: BaseException, tp: Any) -> str:
    if isinstance(exc, ForbiddenExtraKeysError):
        key = sorted(exc.extra_fields)[0]
        more = len(exc.extra_fields) - 1
        hint = suggest_field(exc.cl, key)
        reason = f"unknown key {key!r}" + (f" (did you mean {hint!r}?)" if hint else "")
        return key + _KEY_SEP + reason + (f"; and {more} more unknown key(s)" if more else "")
    if type(exc) is ValueError and str(exc):  # a model's own check (a validator, a converter) says why
        return f"invalid value ({exc})"
    return format_exception(exc, tp)


def suggest_field(cls: type[Any], key: str) -> str | None:
    """The field of `cls` a misspelled or wire-spelled `key` most likely meant."""
    fields = attrs.fields(cls)
    names = [a.name for a in fields]
    by_wire = {a.metadata["wire"]: a.name for a in fields if "wire" in a.metadata}
    if key in by_wire:
        return by_wire[key]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower().replace("-", "_")
    if snake in names:
        return snake
    close = difflib.get_close_matches(snake, names, n=1, cutoff=0.6)
    return close[0] if close else None


def unstructure(value: Any) -> Any:
    """The JSON-ready form of an attrs model: wire names, unset fields omitted."""
    return _fast.unstructure(value)


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON (orjson or the standard library: `sessionkit._json`)."""
    return _json.dumps(data)
