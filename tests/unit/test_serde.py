"""The cattrs converters: wire names, omitted None defaults, strict scalars, open enums, datetimes, field paths."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from sessionkit import OpenEnum
from sessionkit._serde import StructureFailure, dumps, structure_hook, structure_request, unstructure, wire


def structure(data: Any, tp: Any) -> Any:
    """What the pipeline does with a response body: the fast path, the detailed one on failure."""
    return structure_hook(tp)(data)


class Color(OpenEnum):
    RED = "red"
    BLUE = "blue"


@attrs.define(kw_only=True)
class Item:
    id: str = wire("_id")
    count: int = 0
    ratio: float | None = None
    flag: bool | None = None
    color: Color | None = None
    when: datetime | None = None
    note: str | None = None
    tags: list[str] | None = None
    label: str | None = wire("display_name", default=None)


@attrs.define(kw_only=True)
class Box:
    items: list[Item]
    extra: dict[str, Any] | None = None


# --- wire names and omission -------------------------------------------------------------------


def test_wire_names_both_ways() -> None:
    item = structure({"_id": "a", "display_name": "A"}, Item)
    assert item == Item(id="a", label="A")
    assert unstructure(item) == {"_id": "a", "count": 0, "display_name": "A"}


@pytest.mark.parametrize(
    ("item", "wire_form"),
    [
        (Item(id="a"), {"_id": "a", "count": 0}),  # None defaults are omitted, 0 is a value
        (Item(id="a", count=3, ratio=0.5, flag=False), {"_id": "a", "count": 3, "ratio": 0.5, "flag": False}),
        (Item(id="a", note=None), {"_id": "a", "count": 0}),  # None is "not given"
        (Item(id="a", note="n", tags=[]), {"_id": "a", "count": 0, "note": "n", "tags": []}),
    ],
)
def test_omit_unset(item: Item, wire_form: dict[str, Any]) -> None:
    assert unstructure(item) == wire_form


def test_unknown_keys_are_ignored() -> None:
    assert structure({"_id": "a", "surprise": {"x": 1}}, Item) == Item(id="a")


def test_requests_take_python_names_only() -> None:
    assert structure_request({"id": "a", "label": "L"}, Item) == Item(id="a", label="L")
    with pytest.raises(StructureFailure) as info:
        structure_request({"_id": "a", "display_name": "L"}, Item)
    assert info.value.path == "$._id"
    assert info.value.reason.startswith("unknown key '_id' (did you mean 'id'?)")
    with pytest.raises(StructureFailure) as info:
        structure_request(["a"], Item)
    assert info.value.path == "$"


@pytest.mark.parametrize(
    ("key", "hint"),
    [("lable", "label"), ("display_name", "label"), ("Label", "label"), ("noet", "note"), ("zzz", None)],
)
def test_an_unknown_request_key_is_named_with_the_closest_field(key: str, hint: str | None) -> None:
    with pytest.raises(StructureFailure) as info:
        structure_request({"id": "a", key: "x"}, Item)
    assert info.value.path == f"$.{key}"
    expected = f"unknown key {key!r}" + (f" (did you mean {hint!r}?)" if hint else "")
    assert info.value.reason == expected


def test_dumps_is_compact_utf8_json() -> None:
    assert dumps({"a": "é", "b": [1, None]}) == '{"a":"é","b":[1,null]}'.encode()
    with pytest.raises(ValueError):
        dumps({"a": float("nan")})


# --- strict scalars ----------------------------------------------------------------------------

STRICT_TABLE: list[tuple[str, Any, bool, Any]] = [
    ("count", 2, True, 2),
    ("count", 2.0, True, 2),
    ("count", 2.5, False, None),
    ("count", "2", False, None),
    ("count", True, False, None),
    ("ratio", 1, True, 1.0),
    ("ratio", "1.5", False, None),
    ("ratio", False, False, None),
    ("flag", True, True, True),
    ("flag", 1, False, None),
    ("flag", "true", False, None),
    ("note", 5, False, None),
    ("tags", ["x"], True, ["x"]),
    ("tags", "abc", False, None),  # a string is not a list of characters
    ("tags", {"x": 1}, False, None),
    ("tags", ["x", 1], False, None),
    ("tags", [None], False, None),
    ("tags", [], True, []),
    ("tags", None, True, None),
    ("color", None, True, None),
    ("color", 1, False, None),
    ("when", None, True, None),
    ("ratio", None, True, None),
]


@pytest.mark.parametrize(("field", "value", "accepted", "expected"), STRICT_TABLE)
def test_strict_scalars(field: str, value: Any, accepted: bool, expected: Any) -> None:
    data = {"_id": "a", field: value}
    if accepted:
        got = getattr(structure(data, Item), field)
        assert got == expected
        assert type(got) is type(expected)
    else:
        with pytest.raises(StructureFailure) as info:
            structure(data, Item)
        assert info.value.path.startswith("$." + field)


def test_an_object_field_rejects_a_non_object() -> None:
    for bad in ([], "items", 1):
        with pytest.raises(StructureFailure) as info:
            structure({"items": [bad]}, Box)
        assert info.value.path == "$.items[0]"
    with pytest.raises(StructureFailure) as top:
        structure([], Item)
    assert top.value.path == "$"


# --- open enums --------------------------------------------------------------------------------


def test_open_enums_keep_unknown_values() -> None:
    known = structure({"_id": "a", "color": "red"}, Item).color
    assert known is Color.RED
    unknown = structure({"_id": "a", "color": "green"}, Item).color
    assert isinstance(unknown, Color)
    assert unknown == "green"
    assert unknown.value == "green"
    assert unknown not in (Color.RED, Color.BLUE)
    assert unstructure(Item(id="a", color=Color("green")))["color"] == "green"
    assert unstructure(Item(id="a", color=Color.BLUE))["color"] == "blue"
    with pytest.raises(StructureFailure) as info:
        structure({"_id": "a", "color": 5}, Item)
    assert info.value.path == "$.color"


# --- datetimes ---------------------------------------------------------------------------------

DATETIME_TABLE: list[tuple[str, datetime]] = [
    ("2026-11-22T13:11:04.910908Z", datetime(2026, 11, 22, 13, 11, 4, 910908, tzinfo=timezone.utc)),
    ("2026-11-22T13:11:04z", datetime(2026, 11, 22, 13, 11, 4, tzinfo=timezone.utc)),
    ("2024-01-01T00:00:00.000000+00:00", datetime(2024, 1, 1, tzinfo=timezone.utc)),
    ("2024-01-01T02:00:00+02:00", datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))),
    ("2024-01-01T00:00:00", datetime(2024, 1, 1)),  # naive stays naive
]


@pytest.mark.parametrize(("text", "expected"), DATETIME_TABLE)
def test_datetimes_parse(text: str, expected: datetime) -> None:
    got = structure({"_id": "a", "when": text}, Item).when
    assert got == expected
    assert got is not None
    assert got.utcoffset() == expected.utcoffset()


def test_datetimes_serialise_utc_with_z() -> None:
    when = datetime(2026, 11, 22, 13, 11, 4, tzinfo=timezone.utc)
    assert unstructure(Item(id="a", when=when))["when"] == "2026-11-22T13:11:04Z"
    offset = datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert unstructure(Item(id="a", when=offset))["when"] == "2026-01-01T02:00:00+02:00"


@pytest.mark.parametrize("bad", ["yesterday", 1700000000, ""])
def test_bad_datetimes_fail_at_their_field(bad: Any) -> None:
    with pytest.raises(StructureFailure) as info:
        structure({"_id": "a", "when": bad}, Item)
    assert info.value.path == "$.when"


# --- field paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"items": [{"_id": "a"}, {"_id": "b", "count": "x"}]}, "$.items[1].count"),
        ({"items": [{"_id": "a", "tags": ["x", 2]}]}, "$.items[0].tags[1]"),
        ({"items": [{"_id": "a", "when": "nope"}]}, "$.items[0].when"),
        ({}, "$.items"),
        ({"items": {"_id": "a"}}, "$.items"),
        ({"items": [], "extra": []}, "$.extra"),
    ],
)
def test_failures_name_the_field_path(data: Any, path: str) -> None:
    with pytest.raises(StructureFailure) as info:
        structure(data, Box)
    assert info.value.path == path
    assert info.value.reason
    with pytest.raises(StructureFailure) as again:
        structure_request(json.loads(json.dumps(data).replace('"_id"', '"id"')), Box)  # requests: Python names
    assert again.value.path == path


def test_lists_of_models() -> None:
    assert structure([{"_id": "a"}, {"_id": "b"}], list[Item]) == [Item(id="a"), Item(id="b")]
    with pytest.raises(StructureFailure) as info:
        structure({"_id": "a"}, list[Item])
    assert info.value.path == "$"
