"""The two JSON backends (orjson, the standard library) answer alike: same values, same errors.

orjson (the `fast` extra) is a dev dependency; without it these tests skip saying so, and fail
instead where `SESSIONKIT_REQUIRE_EXTRAS` is set (CI).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import OrderedDict
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionkit import _json
from sessionkit._json import JSONInputError
from tests._support.extras import require

require("orjson", "fast")

BACKENDS = ("json", "orjson")


@pytest.fixture
def restore_backend() -> Iterator[None]:
    before = _json.backend()
    yield
    _json.use(before)


def outcome(fn: Any, *args: Any) -> Any:
    """A value with its type, or the exception's type and text: what a caller could tell apart."""
    try:
        value = fn(*args)
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))
    return ("value", _typed(value))


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [_typed(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value)


def both(fn_name: str, *args: Any) -> tuple[Any, Any]:
    results = []
    for name in BACKENDS:
        _json.use(name)
        results.append(outcome(getattr(_json, fn_name), *args))
    return results[0], results[1]


HOSTILE_BODIES = [
    b'{"a":1,"a":2}',  # duplicate keys: the last wins
    b"-0",
    b"-0.0",
    b"1E400",  # orjson refuses, the standard library reads inf
    b"-1e999",
    b"NaN",
    b"[Infinity, -Infinity]",
    b"18446744073709551616",  # past 64 bits: orjson would read a float
    b"-9223372036854775809",
    b'{"id": "1234567890123456789012345"}',  # 19+ digits inside a string: still the same value
    b'{"a":"id_12345678901234567890","b":[1,\n -12345678901234567890]}',
    b'{"a": 1234567890123456789.5, "b": 12345678901234567890e0}',
    b'{"a":-12345678901234567890}',  # a big integer right before "}"
    b"[1,12345678901234567890]",  # ... before "]"
    b'{"a":12345678901234567890 \n}',  # ... before white space
    b"-12345678901234567890",  # ... at the end of the body
    b'{"a":"12345678901234567890,x","b":"id_12345678901234567890"}',  # digits in strings
    b'{"a":0.12345678901234567890123}',  # a long fraction
    b"123456789012345678.5",
    b'"\\ud800"',  # a lone surrogate escape
    b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark
    '{"a":"é"}'.encode("utf-16"),
    b"\xff\xfe\xfd",
    b'{"a": "\xc3"}',  # invalid UTF-8
    b"{}x",
    b"",
    b"   ",
    b'"\\u0000"',
    b"[" * 2000 + b"]" * 2000,
    b"1.00000000000000011102230246251565404236316680908203125",
    b"2.2250738585072011e-308",
]


def _nested(depth: int, kind: str = "list") -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


# The one depth rule (`_json.MAX_DEPTH`, 512 levels), whatever each parser's own limit: orjson's is
# 1,024, the standard library's its recursion limit (about 990 on 3.11, over 2,000 on 3.13).
DEPTHS = [1, 100, 511, 512, 513, 600, 989, 990, 1000, 1020, 1024, 1025, 2000, 5000]


@pytest.mark.usefixtures("restore_backend")
@pytest.mark.parametrize("kind", ["list", "object"])
@pytest.mark.parametrize("depth", DEPTHS)
def test_one_depth_rule_for_both_backends_and_every_python(depth: int, kind: str) -> None:
    body = _nested(depth, kind)
    for name in BACKENDS:
        _json.use(name)
        if depth <= _json.MAX_DEPTH:
            value = _json.loads(body)
            assert isinstance(value, (list, dict)), name
        else:
            with pytest.raises(_json.JSONDepthError, match="more than 512 levels deep"):
                _json.loads(body)


@pytest.mark.usefixtures("restore_backend")
@pytest.mark.parametrize("depth", [512, 513, 1000, 1020, 2000])
def test_a_deep_free_form_value_in_a_model_is_refused_alike(depth: int) -> None:
    from sessionkit._serde import StructureFailure, structure_hook
    from sessionkit.mix import UnknownEvent

    structure = structure_hook(UnknownEvent)
    body = b'{"data": ' + _nested(depth) + b"}"  # the free-form value is `depth` levels deep
    outcomes: list[str] = []
    for name in BACKENDS:
        _json.use(name)
        try:
            structure(_json.loads_for_model(body))
            outcomes.append("ok")
        except (StructureFailure, ValueError, RecursionError):  # as the pipeline's decode step reads them
            outcomes.append("refused")
    assert outcomes == (["ok", "ok"] if depth <= _json.MAX_DEPTH else ["refused", "refused"])


@pytest.mark.usefixtures("restore_backend")
@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_both_backends_read_every_body_alike(body: bytes) -> None:
    pure, fast = both("loads", body)
    assert pure[0] == fast[0], (pure, fast)
    if pure[0] == "value":
        assert pure == fast
    else:
        assert pure[1] == fast[1]


BAD_VALUES: list[tuple[Any, str, str]] = [
    ({"a": float("nan")}, "$.a", "nan is not a JSON number"),
    ({"a": [1, float("inf")]}, "$.a[1]", "inf is not a JSON number"),
    ({"a": {"b": -math.inf}}, "$.a.b", "-inf is not a JSON number"),
    ({1: "x"}, "$", "a key must be a string, got int 1"),
    ({"m": {None: 1}}, "$.m", "a key must be a string, got NoneType None"),
    ({"m": {True: 1}}, "$.m", "a key must be a string, got bool True"),
    ({(1, 2): 1}, "$", "a key must be a string, got tuple (1, 2)"),
    ({"s": {1, 2}}, "$.s", "a set is not a JSON value"),
    ({"o": object()}, "$.o", "a object is not a JSON value"),
    ({"b": b"bytes"}, "$.b", "a bytes is not a JSON value"),
    ({"p": MappingProxyType({"a": 1})}, "$.p", "a mappingproxy is not a JSON value"),
]


@pytest.mark.usefixtures("restore_backend")
@pytest.mark.parametrize(("value", "path", "reason"), BAD_VALUES)
def test_both_encoders_reject_the_same_values_at_the_same_path(value: Any, path: str, reason: str) -> None:
    for name in BACKENDS:
        _json.use(name)
        with pytest.raises(JSONInputError) as caught:
            _json.dumps(value)
        assert (caught.value.path, caught.value.reason) == (path, reason), name


@pytest.mark.usefixtures("restore_backend")
def test_a_circular_value_is_an_error_in_both() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    for name in BACKENDS:
        _json.use(name)
        with pytest.raises(JSONInputError, match="nested more than 512 levels deep"):
            _json.dumps(loop)


@pytest.mark.usefixtures("restore_backend")
@pytest.mark.parametrize(
    "value",
    [
        {"big": 2**70, "neg": -(2**65)},  # orjson refuses: the standard library writes it
        {"s": "\ud800"},  # a lone surrogate: both refuse
        OrderedDict(a=1),
        {"t": (1, "x"), "f": 1e16, "e": 5e-324, "z": -0.0, "u": "é\u2028\x00"},
    ],
)
def test_both_encoders_write_the_same_json(value: Any) -> None:
    pure, fast = both("dumps", value)
    assert pure[0] == fast[0], (pure, fast)
    if pure[0] == "value":
        assert json.loads(pure[1][1]) == json.loads(fast[1][1])
    else:
        assert pure[1] == fast[1] or {pure[1], fast[1]} <= {"UnicodeEncodeError", "JSONEncodeError"}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@pytest.mark.usefixtures("restore_backend")
@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_any_json_value_round_trips_alike(value: Any) -> None:
    pure, fast = both("dumps", value)
    assert pure[0] == fast[0]
    if pure[0] == "raised":  # only a lone surrogate in a string: both refuse
        return
    text_pure, text_fast = pure[1][1], fast[1][1]
    for text in (text_pure, text_fast):
        read_pure, read_fast = both("loads", text)
        assert read_pure == read_fast == ("value", _typed(value))


@pytest.mark.usefixtures("restore_backend")
@settings(max_examples=300, deadline=None)
@given(digits=st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?", fullmatch=True))
def test_every_number_literal_is_read_alike(digits: str) -> None:
    assert both("loads", digits.encode()) == both("loads", digits)
    pure, fast = both("loads", digits.encode())
    assert pure == fast


def test_sessionkit_json_env_forces_the_standard_library() -> None:
    code = "from sessionkit import _json; print(_json.backend())"
    for env, expected in (("json", "json"), ("stdlib", "json"), ("orjson", "orjson"), ("auto", "orjson")):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env={"SESSIONKIT_JSON": env}, check=True
        )
        assert out.stdout.strip() == expected, env


def test_without_orjson_the_standard_library_is_used() -> None:
    code = "import sys; sys.modules['orjson'] = None\nfrom sessionkit import _json; print(_json.backend())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={}, check=True)
    assert out.stdout.strip() == "json"
    asked = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"SESSIONKIT_JSON": "orjson"}
    )
    assert asked.returncode != 0
    assert "orjson" in asked.stderr


def test_an_unknown_backend_is_refused() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import sessionkit"], capture_output=True, text=True, env={"SESSIONKIT_JSON": "simd"}
    )
    assert out.returncode != 0
    assert "SESSIONKIT_JSON='simd'" in out.stderr
    with pytest.raises(ValueError, match="unknown JSON backend"):
        _json.use("simd")


@pytest.mark.usefixtures("restore_backend")
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("schema", "path", "reason"),
    [
        ({"max": float("nan")}, "$.structured_output_schema.max", "nan is not a JSON number"),
        ({"enum": [1, float("inf")]}, "$.structured_output_schema.enum[1]", "inf is not a JSON number"),
        ({1: "x"}, "$.structured_output_schema", "a key must be a string, got int 1"),
    ],
)
async def test_a_request_body_that_is_not_json_is_an_invalid_request(
    backend: str, schema: dict[Any, Any], path: str, reason: str
) -> None:
    from sessionkit import Err, InvalidRequestError
    from sessionkit.devin import DevinCore
    from sessionkit.devin.models import CreateSessionRequest
    from sessionkit.devin.sessions import sessions_create

    _json.use(backend)
    # A model built by hand is not checked field by field: the encoder's check is what stops it.
    request = CreateSessionRequest(prompt="p", structured_output_schema=schema)
    async with DevinCore(api_key="k", server_url="http://127.0.0.1:9") as core:  # never reached
        result = await sessions_create(core, request)
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == path
    assert reason in result.error.message


def test_the_suite_runs_on_the_backend_it_asked_for() -> None:
    """CI runs the suite twice: with orjson (a dev dependency, so it must import) and with
    SESSIONKIT_JSON=json. A broken orjson install must not turn the first run into the second."""
    wanted = os.environ.get("SESSIONKIT_JSON", "auto").strip().lower()
    assert _json.backend() == ("json" if wanted in ("json", "stdlib") else "orjson")
