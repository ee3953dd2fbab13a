"""`match` narrows a `Result` for the type checker; pyright (strict) checks this file, pytest runs it."""

from __future__ import annotations

import pytest
from typing_extensions import assert_type

from sessionkit import Err, NotFoundError, Ok, ResponseMeta, Result, SessionkitError
from sessionkit.jupyter import Session


def describe(result: Result[Session, SessionkitError]) -> str:
    match result:
        case Ok(value):
            assert_type(value, Session)
            assert_type(result, Ok[Session])
            return f"session {value.id}"
        case Err(NotFoundError() as e):
            assert_type(e, NotFoundError)
            return f"missing ({e.status})"
        case Err(error):
            assert_type(error, SessionkitError)
            return f"failed after {error.attempts} attempt(s)"


def session_id_or_none(result: Result[Session, SessionkitError]) -> str | None:
    if isinstance(result, Ok):
        assert_type(result.value, Session)
        assert_type(result.meta, ResponseMeta | None)
        return result.value.id
    assert_type(result, Err[SessionkitError])
    return None


def mapped(result: Result[Session, SessionkitError]) -> Ok[str] | Err[SessionkitError]:
    return result.map(lambda s: s.id)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (Ok(Session(id="s1")), "session s1"),
        (Err(NotFoundError("404 Not Found", status=404)), "missing (404)"),
        (Err(SessionkitError("boom", attempts=3)), "failed after 3 attempt(s)"),
    ],
)
def test_match_narrows(result: Result[Session, SessionkitError], expected: str) -> None:
    assert describe(result) == expected


def test_isinstance_and_map_narrow() -> None:
    ok: Result[Session, SessionkitError] = Ok(Session(id="s2"))
    err: Result[Session, SessionkitError] = Err(SessionkitError("boom"))
    assert session_id_or_none(ok) == "s2"
    assert session_id_or_none(err) is None
    assert mapped(ok) == Ok("s2")
    assert mapped(err) == err
    value: str = mapped(ok).unwrap_or("none")
    assert value == "s2"
