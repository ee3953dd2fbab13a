"""Input rules that types cannot say, declared on an operation: `Operation(validate=fields(...))`.

They are the one place such rules live (not attrs validators): the pipeline runs them on every
request, whether the caller wrote a mapping or built the model by hand, and a broken rule becomes
`Err(InvalidRequestError)` naming the field before anything is sent.

    validate=fields(limit=between(1, 200), tags=at_most_items(50))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sized
from typing import Any

__all__ = [
    "Check",
    "at_least",
    "at_most_items",
    "between",
    "each",
    "fields",
    "greater_than",
    "length",
    "non_empty",
    "one_of",
    "seconds",
    "unicode",
]

Check = Callable[[Any], str | None]
"""A rule for one value: None when it holds, else why not. `None` values are not checked."""


def at_least(minimum: float) -> Check:
    return lambda v: None if v >= minimum else f"must be at least {minimum}, got {v!r}"


def greater_than(minimum: float) -> Check:
    return lambda v: None if v > minimum else f"must be greater than {minimum}, got {v!r}"


def between(low: float, high: float) -> Check:
    return lambda v: None if low <= v <= high else f"must be from {low} to {high}, got {v!r}"


def at_most_items(count: int) -> Check:
    return lambda v: None if len(v) <= count else f"at most {count} items, got {len(v)}"


def one_of(*allowed: str) -> Check:
    shown = ", ".join(repr(a) for a in allowed)
    return lambda v: None if v in allowed else f"must be one of {shown}, got {v!r}"


def seconds(value: float) -> str | None:
    """A duration: a finite number of seconds > 0 (0, negative, NaN and infinity are refused)."""
    return None if math.isfinite(value) and value > 0 else f"must be a finite number of seconds > 0, got {value!r}"


def unicode(value: str) -> str | None:
    """Text that UTF-8 can carry (a lone surrogate, say from a `\\ud800` escape, cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"is not valid Unicode (a lone surrogate at character {exc.start})"
    return None


def length(low: int, high: int) -> Check:
    return lambda v: None if low <= len(v) <= high else f"must be {low} to {high} characters long, got {len(v)}"


def each(check: Check) -> Check:
    """`check` applied to every item of a list, the first failing one named by its index."""

    def check_items(values: Any) -> str | None:
        for i, value in enumerate(values):
            problem = check(value)
            if problem is not None:
                return f"item {i} {problem}"
        return None

    return check_items


def non_empty(value: Sized) -> str | None:
    return None if len(value) else "must not be empty"


def fields(**checks: Check) -> Callable[[Any], tuple[str, str] | None]:
    """An `Operation.validate` that applies `checks` to the model's fields of those names."""

    def validate(model: Any) -> tuple[str, str] | None:
        for name, check in checks.items():
            value = getattr(model, name, None)
            if value is None:
                continue
            try:
                problem = check(value)
            except TypeError:  # a hand-built model holding a value of the wrong type
                problem = f"has the wrong type ({type(value).__name__})"
            if problem is not None:
                return f"$.{name}", problem
        return None

    return validate
