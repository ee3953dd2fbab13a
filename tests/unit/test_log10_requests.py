"""Log10 `POST /api/v1/sessions`: headers, no body, the session id, and failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aioresponses import aioresponses

from sessionkit import (
    APIError,
    Err,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    Ok,
    RequestOptions,
    ResponseValidationError,
    RetryConfig,
)
from sessionkit.log10 import CreateSessionRequest, Log10Core, sessions_create

URL_ = "https://log10.io/api/v1/sessions"
CREATED = {"session": {"id": "sess-1"}}
FAST_RETRY = RetryConfig(max_retries=1, initial_wait=0.001, max_wait=0.001, jitter=False)


@pytest.fixture
def http() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG10_TOKEN", raising=False)
    monkeypatch.delenv("LOG10_ORG_ID", raising=False)


def only_call(m: aioresponses) -> Any:
    ((method, url), sent), *rest = m.requests.items()
    assert not rest
    assert (method, str(url)) == ("POST", URL_)
    assert len(sent) == 1
    return sent[0]


def header_names(call: Any) -> set[str]:
    return {k.lower() for k in call.kwargs["headers"]}


async def test_create_sends_token_and_organization_and_no_body(http: aioresponses) -> None:
    http.post(URL_, status=201, payload=CREATED)
    async with Log10Core("tok-secret", "org-1") as core:
        result = await sessions_create(core)
    assert isinstance(result, Ok)
    assert result.value == "sess-1"
    assert result.meta is not None
    assert result.meta.status == 201
    call = only_call(http)
    headers = call.kwargs["headers"]
    assert headers["X-Log10-Token"] == "tok-secret"
    assert headers["X-Log10-Organization"] == "org-1"
    assert headers["Accept"] == "application/json"
    assert "content-type" not in header_names(call)
    assert call.kwargs["data"] is None


@pytest.mark.parametrize("organization", [None, ""])
async def test_unset_organization_is_omitted_not_sent_empty(http: aioresponses, organization: str | None) -> None:
    http.post(URL_, status=201, payload=CREATED)
    async with Log10Core("tok", organization) as core:
        assert core.organization is None
        result = await sessions_create(core)
    assert isinstance(result, Ok)
    assert "x-log10-organization" not in header_names(only_call(http))


async def test_credentials_fall_back_to_env(http: aioresponses, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG10_TOKEN", "env-tok")
    monkeypatch.setenv("LOG10_ORG_ID", "env-org")
    http.post(URL_, status=201, payload=CREATED)
    async with Log10Core() as core:
        assert "env-tok" not in repr(core)
        await sessions_create(core)
    headers = only_call(http).kwargs["headers"]
    assert headers["X-Log10-Token"] == "env-tok"
    assert headers["X-Log10-Organization"] == "env-org"


async def test_no_token_sends_nothing_and_names_the_variable(http: aioresponses) -> None:
    http.post(URL_, status=201, payload=CREATED)
    async with Log10Core() as core:
        assert not core.has_credentials()
        result = await sessions_create(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "token"
    assert "LOG10_TOKEN" in result.error.message
    assert not http.requests


async def test_a_token_given_per_call_is_enough(http: aioresponses) -> None:
    http.post(URL_, status=201, payload=CREATED)
    async with Log10Core() as core:
        result = await sessions_create(core, options=RequestOptions(headers={"X-Log10-Token": "per-call"}))
    assert isinstance(result, Ok), result
    assert only_call(http).kwargs["headers"]["X-Log10-Token"] == "per-call"


@pytest.mark.parametrize("core_org", ["org-core", None])
async def test_per_call_organization_wins(http: aioresponses, core_org: str | None) -> None:
    http.post(URL_, status=201, payload=CREATED)
    async with Log10Core("tok", core_org) as core:
        result = await sessions_create(core, {"organization": "org-call"})
    assert isinstance(result, Ok)
    headers = only_call(http).kwargs["headers"]
    assert [v for k, v in headers.items() if k.lower() == "x-log10-organization"] == ["org-call"]


async def test_empty_per_call_organization_is_invalid(http: aioresponses) -> None:
    async with Log10Core("tok") as core:
        result = await sessions_create(core, {"organization": ""})
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert not http.requests


async def test_a_hand_built_model_with_an_empty_organization_is_refused_by_the_call(http: aioresponses) -> None:
    # Input rules live on the operation (one place): they hold for a model built by hand too.
    async with Log10Core("tok") as core:
        result = await sessions_create(core, CreateSessionRequest(organization=""))
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path == "$.organization"
    assert not http.requests


@pytest.mark.parametrize(
    "payload", [{}, {"session": {}}, {"session": None}, {"session": {"id": ""}}, {"session": {"id": 7}}, []]
)
async def test_a_201_without_an_id_is_a_validation_error(http: aioresponses, payload: Any) -> None:
    http.post(URL_, status=201, body=json.dumps(payload), content_type="application/json")
    async with Log10Core("tok", "org") as core:
        result = await sessions_create(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert result.error.field_path == "$.session.id"
    assert result.error.status == 201


async def test_extra_fields_are_ignored(http: aioresponses) -> None:
    http.post(URL_, status=201, payload={"session": {"id": "s", "createdAt": 1}, "other": True})
    async with Log10Core("tok", "org") as core:
        assert await sessions_create(core) == Ok("s")


@pytest.mark.parametrize(("status", "cls"), [(200, APIError), (404, NotFoundError), (500, InternalServerError)])
async def test_other_statuses_are_errors_and_not_retried(http: aioresponses, status: int, cls: type) -> None:
    http.post(URL_, status=status, payload=CREATED)
    async with Log10Core("tok", "org") as core:
        result = await sessions_create(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, cls)
    assert result.error.attempts == 1  # a POST without an idempotency key is never repeated
    assert result.error.operation_id == "log10.sessions.create"
    assert "tok" not in str(result.error)


async def test_a_create_with_an_idempotency_key_is_retried(http: aioresponses) -> None:
    http.post(URL_, status=503)
    http.post(URL_, status=201, payload=CREATED)
    async with Log10Core("tok", "org") as core:
        result = await sessions_create(core, options=RequestOptions(idempotency_key="k-1", retries=FAST_RETRY))
    assert isinstance(result, Ok)
    assert result.meta is not None
    assert result.meta.attempts == 2
