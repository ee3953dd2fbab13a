"""`sessionkit._rules`: an operation's input rules hold for mappings and hand-built models alike."""

from __future__ import annotations

import pytest

from sessionkit import Err, InvalidRequestError
from sessionkit._rules import at_least, at_most_items, between, each, fields, greater_than, length, non_empty
from sessionkit.devin import CreateSessionRequest, DevinCore, ListSessionsRequest, sessions_create, sessions_list

UNREACHABLE = "http://127.0.0.1:9"


def test_each_check_says_why() -> None:
    assert at_least(1)(0) == "must be at least 1, got 0"
    assert greater_than(0)(0) == "must be greater than 0, got 0"
    assert between(1, 200)(201) == "must be from 1 to 200, got 201"
    assert at_most_items(2)([1, 2, 3]) == "at most 2 items, got 3"
    assert non_empty("") == "must not be empty"
    assert at_least(1)(1) is None
    assert length(1, 3)("") == "must be 1 to 3 characters long, got 0"
    assert each(length(1, 3))(["ab", "abcd"]) == "item 1 must be 1 to 3 characters long, got 4"
    assert each(length(1, 3))([]) is None


def test_fields_skips_none_and_names_the_first_broken_field() -> None:
    validate = fields(limit=at_least(1), offset=at_least(0))
    assert validate(ListSessionsRequest()) is None
    assert validate(ListSessionsRequest(limit=0, offset=-1)) == ("$.limit", "must be at least 1, got 0")
    assert validate(ListSessionsRequest(limit="x")) == ("$.limit", "has the wrong type (str)")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "request_",
    [CreateSessionRequest(prompt="p", max_acu_limit=0), {"prompt": "p", "max_acu_limit": -3}],
    ids=["model", "mapping"],
)
async def test_a_rule_holds_for_models_and_mappings(request_: object) -> None:
    async with DevinCore("k", server_url=UNREACHABLE) as core:
        result = await sessions_create(core, request_)  # type: ignore[arg-type]
        listed = await sessions_list(core, ListSessionsRequest(limit=0))
    for outcome, path in ((result, "$.max_acu_limit"), (listed, "$.limit")):
        assert isinstance(outcome, Err)
        assert isinstance(outcome.error, InvalidRequestError)
        assert outcome.error.field_path == path
        assert outcome.error.attempts == 0
