"""Generated structure functions for the response fast path: one plain function per attrs class.

cattrs's own generated function calls a hook per field; for the scalars that fill most models
that call only checks the type. Here the check is inlined (`type(v) is str`), and the hook runs
only for a value that is not already of its type, so a valid body costs one dict read and one
type test per field. The function answers exactly as the cattrs converter it is built from
(every value of another type goes to that converter's hook); a body it cannot read raises, and
the caller re-runs the detailed converter for the error's field path.
"""

from __future__ import annotations

import itertools
import types
import typing
from collections.abc import Callable
from typing import Any, Union

import attrs
import cattrs

__all__ = ["make_structure_fn"]

_EXACT = (str, int, float, bool)
_FACTORY: Any = attrs.Factory  # a class at run time; typed as an overloaded function
_counter = itertools.count()


def _optional_inner(tp: Any) -> Any:
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
    names: list[tuple[str, str]] = []  # (init name, local variable)
    direct = _plain_init(cls)
    for i, a in enumerate(fields):
        if not a.init:
            continue
        key = a.metadata.get("wire", a.name)
        var = f"v{i}"
        tp = a.type
        optional = _optional_inner(tp)
        if a.default is attrs.NOTHING:
            lines.append(f"    {var} = o[{key!r}]")
        elif a.default is None:
            lines.append(f"    {var} = o.get({key!r})")
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
            converting = _convert(var, tp, optional, conv, scope, i)
            if converting:  # only a present key is structured, as cattrs does; an absent one keeps the default
                lines.append(f"    if {key!r} in o:")
                lines.extend("    " + line for line in converting)
            names.append((a.alias or a.name, var))
            continue
        lines.extend(_convert(var, tp, optional, conv, scope, i))
        names.append((a.alias or a.name, var))
    fn_name = f"structure_{cls.__name__}_{next(_counter)}"
    if direct:
        build = (
            ["    self = __new(__cl)"]
            + [f"    self.{attr} = {var}" for attr, var in _slots(fields, names)]
            + ["    return self"]
        )
    else:
        build = ["    return __cl(" + ", ".join(f"{name}={var}" for name, var in names) + ")"]
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


def _slots(fields: Any, names: list[tuple[str, str]]) -> list[tuple[str, str]]:
    by_alias = {(a.alias or a.name): a.name for a in fields}
    return [(by_alias[name], var) for name, var in names]


def _convert(
    var: str,
    tp: Any,
    optional: Any,
    conv: cattrs.Converter,
    scope: dict[str, Any],
    i: int,
) -> list[str]:
    """Lines that turn the raw value in `var` into the field's value, or raise."""
    hook, typ = f"__h{i}", f"__t{i}"
    if tp is Any:
        return []
    if optional is not None:
        inner = optional
        if inner in _EXACT:
            scope[hook], scope[typ] = conv.get_structure_hook(inner), inner
            return [
                f"    if {var} is not None and type({var}) is not {inner.__name__}:",
                f"        {var} = {hook}({var}, {typ})",
            ]
        scope[hook], scope[typ] = conv.get_structure_hook(inner), inner
        return [f"    if {var} is not None:", f"        {var} = {hook}({var}, {typ})"]
    if tp in _EXACT:
        scope[hook], scope[typ] = conv.get_structure_hook(tp), tp
        return [f"    if type({var}) is not {tp.__name__}:", f"        {var} = {hook}({var}, {typ})"]
    # Anything else (a model, a list, an enum, a datetime) through its hook; so is a None that
    # an absent key gave a non-optional field, and the hook decides.
    scope[hook], scope[typ] = conv.get_structure_hook(tp), tp
    return [f"    {var} = {hook}({var}, {typ})"]
