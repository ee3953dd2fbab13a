"""`Ok` / `Err`: combinators, pattern matching, equality and immutability."""

from __future__ import annotations

import dataclasses

import pytest

from sessionkit import Err, NotFoundError, Ok, ResponseMeta, Result, SessionkitError, UnwrapError

META = ResponseMeta("svc.op", 201, {"X-Request-Id": "r1"}, attempts=2, elapsed=0.5, request_id="r1")
NOT_FOUND = NotFoundError("404 Not Found", status=404, operation_id="svc.op", attempts=1)


def test_ok_combinators() -> None:
    ok = Ok(2, meta=META)
    assert ok.is_ok()
    assert not ok.is_err()
    assert ok.unwrap() == 2
    assert ok.unwrap_or(7) == 2
    mapped = ok.map(lambda v: v * 10)
    assert mapped == Ok(20)
    assert mapped.meta is META  # map keeps the transport metadata
    assert ok.map_err(lambda e: RuntimeError("never called")) is ok
    assert ok.and_then(lambda v: Ok(str(v))) == Ok("2")
    assert ok.and_then(lambda v: Err(v)) == Err(2)
    with pytest.raises(UnwrapError) as info:
        ok.unwrap_err()
    assert info.value.error == 2
    assert str(info.value) == "called unwrap_err() on Ok(2)"


def test_err_combinators() -> None:
    err: Err[SessionkitError] = Err(NOT_FOUND)
    assert err.is_err()
    assert not err.is_ok()
    assert err.unwrap_err() is NOT_FOUND
    assert err.unwrap_or(7) == 7
    assert err.map(lambda v: pytest.fail("map must not run on Err")) is err
    assert err.and_then(lambda v: pytest.fail("and_then must not run on Err")) is err
    assert err.map_err(lambda e: e.operation_id) == Err("svc.op")


def test_err_unwrap_raises_with_the_error_as_cause() -> None:
    with pytest.raises(UnwrapError) as info:
        Err(NOT_FOUND).unwrap()
    assert info.value.error is NOT_FOUND
    assert info.value.__cause__ is NOT_FOUND
    with pytest.raises(UnwrapError) as plain:
        Err("not an exception").unwrap()
    assert plain.value.__cause__ is None
    assert "not an exception" in str(plain.value)


def _describe(result: Result[int, SessionkitError]) -> str:
    match result:
        case Ok(value) if value > 100:
            return f"big {value}"
        case Ok(value):
            return f"ok {value}"
        case Err(NotFoundError(status=status)):
            return f"missing {status}"
        case Err(error):
            return f"failed {type(error).__name__}"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (Ok(1), "ok 1"),
        (Ok(101, meta=META), "big 101"),
        (Err(NOT_FOUND), "missing 404"),
        (Err(SessionkitError("boom")), "failed SessionkitError"),
    ],
)
def test_match(result: Result[int, SessionkitError], expected: str) -> None:
    assert _describe(result) == expected


def test_match_args_leave_meta_out() -> None:
    assert Ok.__match_args__ == ("value",)
    assert Err.__match_args__ == ("error",)


def test_equality_ignores_meta_and_tells_ok_from_err() -> None:
    assert Ok(1, meta=META) == Ok(1)
    assert hash(Ok(1, meta=META)) == hash(Ok(1))
    assert Ok(1) != Err(1)
    assert Err(1) == Err(1)
    assert Err(NOT_FOUND) == Err(NotFoundError("404 Not Found", status=404, operation_id="svc.op", attempts=1))
    assert Err(NOT_FOUND) != Err(NotFoundError("404 Not Found", status=404, operation_id="svc.op", attempts=2))


def test_results_are_frozen_and_slotted() -> None:
    ok, err = Ok(1), Err(2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ok.value = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        err.error = 3  # type: ignore[misc]
    assert not hasattr(ok, "__dict__")
    assert not hasattr(err, "__dict__")
    assert repr(ok) == "Ok(value=1, meta=None)"
    assert repr(err) == "Err(error=2)"


def test_response_meta_hides_headers_from_repr() -> None:
    assert "X-Request-Id" not in repr(META)
    assert META.headers["X-Request-Id"] == "r1"


def test_the_pipelines_fast_constructor_builds_the_same_frozen_values() -> None:
    from sessionkit.result import ok_with_meta

    headers = {"X-Request-Id": "r1"}
    fast = ok_with_meta(5, "svc.op", 201, headers, 2, 0.5, "r1")
    plain = Ok(5, meta=ResponseMeta("svc.op", 201, headers, attempts=2, elapsed=0.5, request_id="r1"))
    assert fast == plain
    assert fast.meta == plain.meta
    assert repr(fast) == repr(plain)
    assert hash(fast) == hash(plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.value = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.meta.status = 500  # type: ignore[misc,union-attr]
