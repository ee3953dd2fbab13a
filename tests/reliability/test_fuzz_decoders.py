"""Property tests of every response decoder and error classifier, without a network.

For every `Operation` of every service package (discovered, so new ones are covered as they
appear), the decode stage turns any body (random JSON, JSON shaped like the response model with
random values, random bytes) into a value or a `ResponseValidationError`, never an exception; and
any failing status with any body becomes an `APIError` of that status.
"""

from __future__ import annotations

import collections.abc
import enum
import json
import types
import typing
from datetime import datetime, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from sessionkit import APIError, Operation, ResponseValidationError, SessionkitError
from sessionkit._pipeline import _Call, _classify, _decode  # pyright: ignore[reportPrivateUsage]
from sessionkit._reader import Raw
from sessionkit._secrets import Secrets

from .services import SERVICES, Service

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CALL_CONFIG = SERVICES[0].make_core("http://127.0.0.1:1").config
NO_SECRETS = Secrets(())
NO_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())

# A streamed response (a file download) is handed to the caller unread: there is nothing to decode.
DECODED = [(s, op) for s in SERVICES for op in s.operations if op.response is not None and not op.streams]
ALL_OPS = [(s, op) for s in SERVICES for op in s.operations]
decoded_ops = pytest.mark.parametrize(("service", "op"), DECODED, ids=[op.id for _, op in DECODED])

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    # Strings that look like the values models hold: dates, enum-ish words, ids.
    | st.sampled_from(["2024-01-02T03:04:05Z", "2024-13-45", "", "idle", "active", "0", "null", "true"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)


def _wire_name(field: attrs.Attribute[Any]) -> str:
    return str(field.metadata.get("wire", field.name))


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


SCALARS: dict[Any, st.SearchStrategy[Any]] = {
    str: st.text(max_size=12),
    int: st.integers(min_value=-(2**40), max_value=2**40),
    float: st.floats(allow_nan=False, allow_infinity=False),
    bool: st.booleans(),
    type(None): st.none(),
    datetime: st.datetimes(timezones=st.just(timezone.utc)).map(_iso),
    Any: json_values,
}


def shaped(tp: Any, depth: int = 0, noise: bool = True) -> st.SearchStrategy[Any]:
    """JSON of `tp`'s shape, with (`noise`) now and then a value of the wrong type: reaches the
    success path of every decoder and the field-level checks around it."""
    if depth > 8:  # no model nests deeper; the bound only keeps a recursive type finite
        return json_values
    good = _shaped(tp, depth, noise)
    return st.one_of(good, good, good, good, json_scalars) if noise else good


def _hints(tp: Any) -> dict[str, Any]:
    """The field types of an attrs class, or of a generic one such as `Page[Session]` with its
    type variables replaced."""
    origin = typing.get_origin(tp)
    if origin is None:
        return typing.get_type_hints(tp)
    bound = dict(zip(getattr(origin, "__parameters__", ()), typing.get_args(tp), strict=False))

    def resolve(hint: Any) -> Any:
        if hint in bound:
            return bound[hint]
        args = typing.get_args(hint)
        if not args:
            return hint
        resolved = tuple(resolve(a) for a in args)
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            return typing.Union[resolved]
        return hint.copy_with(resolved) if hasattr(hint, "copy_with") else typing.get_origin(hint)[resolved]

    return {name: resolve(hint) for name, hint in typing.get_type_hints(origin).items()}


def _shaped(tp: Any, depth: int, noise: bool) -> st.SearchStrategy[Any]:
    if tp in SCALARS:
        return SCALARS[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from([m.value for m in tp]) | st.text(max_size=8)
    if attrs.has(tp):
        hints = _hints(tp)
        required: dict[str, st.SearchStrategy[Any]] = {}
        optional: dict[str, st.SearchStrategy[Any]] = {}
        for f in attrs.fields(tp):
            target = optional if f.default is not attrs.NOTHING else required
            target[_wire_name(f)] = shaped(hints.get(f.name, Any), depth + 1, noise)
        return st.fixed_dictionaries(required, optional=optional)
    origin, args = typing.get_origin(tp), list(typing.get_args(tp))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin in (list, tuple, set, frozenset, collections.abc.Sequence) and args:
        return st.lists(shaped(args[0], depth + 1, noise), max_size=3)
    if origin in (dict, collections.abc.Mapping) and len(args) == 2:
        return st.dictionaries(st.text(max_size=8), shaped(args[1], depth + 1, noise), max_size=3)
    if args:  # a union: any of its members
        return st.one_of([_shaped(a, depth + 1, noise) for a in args])
    return json_values


def decode(op: Operation[Any, Any], body: bytes) -> Any:
    return _decode(op, Raw(200, "OK", NO_HEADERS, body), _Call(CALL_CONFIG, op, 0.0))


def assert_value_or_validation_error(op: Operation[Any, Any], outcome: Any) -> None:
    if isinstance(outcome, SessionkitError):
        assert type(outcome) is ResponseValidationError, repr(outcome)
        assert outcome.field_path.startswith("$"), outcome.field_path
        return
    response = op.response
    if attrs.has(response):
        assert isinstance(outcome, typing.get_origin(response) or response), outcome
    elif typing.get_origin(response) in (list, dict):
        assert isinstance(outcome, typing.get_origin(response)), outcome


def test_every_service_is_discovered() -> None:
    """Guards the discovery itself: an empty parametrisation would make the fuzzing vacuous."""
    assert {"jupyter"} <= {s.name for s in SERVICES}
    assert len(DECODED) >= 4


# Each drawn body goes to every decoder: drawing is the slow part, decoding takes microseconds.


@FUZZ
@given(value=json_values)
def test_random_json_decodes_to_a_value_or_validation_error(value: Any) -> None:
    body = json.dumps(value).encode()
    for _, op in DECODED:
        assert_value_or_validation_error(op, decode(op, body))


@FUZZ
@given(body=st.binary(max_size=300) | st.text(max_size=100).map(str.encode))
def test_random_bytes_decode_to_a_value_or_validation_error(body: bytes) -> None:
    for _, op in DECODED:
        assert_value_or_validation_error(op, decode(op, body))


@settings(FUZZ, max_examples=20 * len(DECODED))
@given(data=st.data())
def test_model_shaped_json_decodes_to_a_value_or_validation_error(data: st.DataObject) -> None:
    _, op = data.draw(st.sampled_from(DECODED), label="operation")
    value = data.draw(shaped(op.response), label="body")
    assert_value_or_validation_error(op, decode(op, json.dumps(value).encode()))


@decoded_ops
@pytest.mark.parametrize(
    "body", [b"", b"[" * 100_000, b'{"a":' * 50_000, b"\xff\xfe", b"NaN", b"1e999999", b"9" * 5000]
)
def test_hostile_bodies_decode_to_a_validation_error(service: Service, op: Operation[Any, Any], body: bytes) -> None:
    outcome = decode(op, body)
    if isinstance(outcome, SessionkitError) or body not in (b"NaN", b"1e999999", b"9" * 5000):
        assert type(outcome) is ResponseValidationError, repr(outcome)


PLAIN = [(s, op) for s, op in DECODED if op.decode is None]  # an envelope-unwrapping decode has its own shape


@settings(FUZZ, max_examples=15 * len(PLAIN))
@given(data=st.data())
def test_well_shaped_json_decodes_to_a_value(data: st.DataObject) -> None:
    """A body of exactly the model's shape decodes: the fuzzing above reaches the success path."""
    _, op = data.draw(st.sampled_from(PLAIN), label="operation")
    value = data.draw(shaped(op.response, noise=False), label="body")
    outcome = decode(op, json.dumps(value).encode())
    assert not isinstance(outcome, SessionkitError), (op.id, outcome)
    assert_value_or_validation_error(op, outcome)


CLASSIFIERS = [(s.make_core("http://127.0.0.1:1"), op) for s, op in ALL_OPS]


@FUZZ
@given(
    status=st.integers(min_value=400, max_value=599),
    body=json_values.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=200),
)
def test_any_failing_status_and_body_classify_to_an_api_error(status: int, body: bytes) -> None:
    for core, op in CLASSIFIERS:
        error = _classify(
            _Call(core.config, op, 0.0), Raw(status, "Whatever", NO_HEADERS, body), core.config.retry.statuses
        )
        assert isinstance(error, APIError), (op.id, repr(error))
        assert error.status == status
        assert isinstance(str(error), str)
        assert isinstance(error.raw_text, str)


MODELS = sorted({op.response for _, op in DECODED if attrs.has(op.response) or typing.get_args(op.response)}, key=repr)


@settings(FUZZ, max_examples=30 * len(MODELS))
@given(data=st.data())
def test_the_generated_fast_path_agrees_with_the_detailed_converter(data: st.DataObject) -> None:
    """The fast structure functions (`_structgen`) never accept what cattrs's detailed converter
    refuses, and what they accept they build exactly as it does."""
    from sessionkit._serde import _detailed, _fast  # pyright: ignore[reportPrivateUsage]

    model = data.draw(st.sampled_from(MODELS), label="model")
    value = json.loads(json.dumps(data.draw(shaped(model), label="body")))
    try:
        fast = _fast.structure(value, model)
    except Exception:
        return  # the pipeline then asks the detailed converter, which decides
    assert fast == _detailed.structure(value, model)
