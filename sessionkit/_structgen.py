"""Generated structure functions for the response fast path: one plain function per attrs class.

cattrs's own generated function calls a hook per field; for the scalars that fill most models
that call only checks the type. Here the check is inlined (`type(v) is str`), and the hook runs
only for a value that is not already of its type, so a valid body costs one dict read and one
type test per field. The function answers exactly as the cattrs converter it is built from
(every value of another type goes to that converter's hook); a body it cannot read raises, and
the caller re-runs the detailed converter for the error's field path.
"""

from __future__ import annotations

import enum
import itertools
import sys
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any, Union

import attrs
import cattrs

__all__ = ["make_structure_fn"]

_EXACT = (str, int, float, bool)
NATIVE_Z = sys.version_info >= (3, 11)  # datetime.fromisoformat reads "Z" and 1 to 9 fraction digits
_FACTORY: Any = attrs.Factory  # a class at run time; typed as an overloaded function
_counter = itertools.count()


def optional_inner(tp: Any) -> Any:
    """X for `X | None` (exactly two members), else None."""
    if typing.get_origin(tp) not in (Union, types.UnionType):
        return None
    args = typing.get_args(tp)
    if len(args) != 2 or type(None) not in args:
        return None
    return next(a for a in args if a is not type(None))


def _plain_init(cls: type[Any]) -> bool:
    """Whether an instance may be built by setting its slots directly, skipping `__init__`.

    True only when `__init__` would do nothing but assign: slots, every field in `__init__`, no
    converter, validator or post-init hook, and no `__setattr__` of the class's own.
    """
    fields = attrs.fields(cls)
    return (
        "__slots__" in cls.__dict__
        and cls.__setattr__ is object.__setattr__
        and not hasattr(cls, "__attrs_post_init__")
        and not hasattr(cls, "__attrs_pre_init__")
        and all(a.init and a.converter is None and a.validator is None for a in fields)
    )


def make_structure_fn(
    cls: type[Any], conv: cattrs.Converter, fallback: Callable[[Any, Any], Any]
) -> Callable[[Any, Any], Any]:
    """`cls`'s structure function for `conv`: wire names, inlined scalar checks.

    `fallback` (cattrs's own function for `cls`) reads anything that is not a plain dict.
    """
    if typing.get_origin(cls) is not None or getattr(cls, "__parameters__", ()):
        return fallback  # a generic model: cattrs maps its type variables
    attrs.resolve_types(cls)
    fields = attrs.fields(cls)
    scope: dict[str, Any] = {"__cl": cls, "__fallback": fallback, "__new": object.__new__}
    lines: list[str] = []
    assigned: list[tuple[str, str, str]] = []  # (`__init__` keyword, attribute, local variable)
    for i, a in enumerate(fields):
        if not a.init:
            continue
        key = a.metadata.get("wire", a.name)
        var = f"v{i}"
        converting = _convert(var, a.type, conv, scope, i)
        if a.default is attrs.NOTHING:
            lines += [f"    {var} = o[{key!r}]", *converting]
        elif a.default is None:
            lines += [f"    {var} = o.get({key!r})", *converting]
        else:
            default: Any = a.default
            if isinstance(default, _FACTORY):
                if default.takes_self:
                    return fallback  # a default that needs the half-built instance: leave it to cattrs
                scope[f"__d{i}"] = default.factory
                lines.append(f"    {var} = o[{key!r}] if {key!r} in o else __d{i}()")
            else:
                scope[f"__d{i}"] = default
                lines.append(f"    {var} = o[{key!r}] if {key!r} in o else __d{i}")
            if converting:  # only a present key is structured, as cattrs does; an absent one keeps the default
                lines += [f"    if {key!r} in o:", *("    " + line for line in converting)]
        assigned.append((a.alias or a.name, a.name, var))
    fn_name = f"structure_{cls.__name__}_{next(_counter)}"
    if _plain_init(cls):
        build = [
            "    self = __new(__cl)",
            *(f"    self.{attr} = {var}" for _, attr, var in assigned),
            "    return self",
        ]
    else:
        build = ["    return __cl(" + ", ".join(f"{keyword}={var}" for keyword, _, var in assigned) + ")"]
    source = "\n".join(
        [
            f"def {fn_name}(o, _=None):",
            "    if type(o) is not dict:",
            "        return __fallback(o, __cl)",
            *lines,
            *build,
        ]
    )
    code = compile(source, f"<sessionkit structure {cls.__qualname__}>", "exec")
    exec(code, scope)  # the source is built above from attrs field metadata, never from outside text
    fn: Callable[[Any, Any], Any] = scope[fn_name]
    return fn


def _convert(var: str, tp: Any, conv: cattrs.Converter, scope: dict[str, Any], i: int) -> list[str]:
    """Lines that turn the raw value in `var` into the field's value, or raise."""
    if tp is Any:  # free-form JSON: its hook checks the depth no model bounds
        scope[f"__h{i}"] = conv.get_structure_hook(Any)
        return [f"    {var} = __h{i}({var}, None)"]
    hook, typ = f"__h{i}", f"__t{i}"
    inner = optional_inner(tp)
    target = tp if inner is None else inner
    scope[hook], scope[typ] = conv.get_structure_hook(target), target
    convert = f"{var} = {hook}({var}, {typ})"
    inline = _inline(var, target, convert, scope, i)
    if inner is not None:
        if inline is not None:
            return [f"    if {var} is not None:", *("    " + line for line in inline)]
        guard = f"{var} is not None" + (f" and type({var}) is not {inner.__name__}" if inner in _EXACT else "")
        return [f"    if {guard}:", f"        {convert}"]
    if tp in _EXACT:
        return [f"    if type({var}) is not {tp.__name__}:", f"        {convert}"]
    if inline is not None:
        return inline
    # Anything else (a model, a list of models, a mapping) through its hook; so is a None that
    # an absent key gave a non-optional field, and the hook decides.
    return [f"    {convert}"]


def _inline(var: str, tp: Any, convert: str, scope: dict[str, Any], i: int) -> list[str] | None:
    """The usual value of a datetime, an open enum or a list of scalars read without a call to its
    hook (which still reads any other value); None for any other type."""
    if tp is datetime and NATIVE_Z:  # 3.11+ reads "Z" and any fraction: an odd form raises, and
        scope["__fromiso"] = datetime.fromisoformat  # the detailed converter (the hook) reads it
        return [f"    if type({var}) is str:", f"        {var} = __fromiso({var})", "    else:", f"        {convert}"]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        scope[f"__m{i}"] = tp._value2member_map_  # known values by a dict lookup; the rest by the hook
        return [
            f"    __x = __m{i}.get({var}) if type({var}) is str else None",
            f"    {var} = __x if __x is not None else {convert[len(var) + 3 :]}",
        ]
    args = typing.get_args(tp)
    if typing.get_origin(tp) is list and len(args) == 1 and args[0] in _EXACT:
        return [  # a list whose items have the type is kept as it is; any other goes to the hook
            f"    if type({var}) is list:",
            f"        for __x in {var}:",
            f"            if type(__x) is not {args[0].__name__}:",
            f"                {convert}",
            "                break",
            "    else:",
            f"        {convert}",
        ]
    return None
