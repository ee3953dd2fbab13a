"""Log10 `sessions_create` against a Prism mock of its document, request validation on."""

from __future__ import annotations

from typing import Any

import pytest

from sessionkit import (
    AuthenticationError,
    Err,
    InvalidRequestError,
    NotFoundError,
    Ok,
    RequestOptions,
    ResponseValidationError,
    UnprocessableEntityError,
)
from sessionkit.log10 import CreateSessionRequest, Log10Core, sessions_create
from tests._support.prism import PrismServer, assert_no_violation, prism_error

pytestmark = pytest.mark.contract


def _core(server: PrismServer, **kw: Any) -> Log10Core:
    kw.setdefault("token", "tok")
    kw.setdefault("organization", "org-1")
    return Log10Core(server_url=server.url, retries=0, **kw)


async def test_create_returns_the_session_id(prism_log10: PrismServer) -> None:
    async with _core(prism_log10) as core:
        result = await sessions_create(core)
    assert_no_violation(result)
    assert isinstance(result, Ok), result
    assert result.value == "string"  # Prism's example id
    assert result.meta is not None
    assert result.meta.status == 201


async def test_per_call_organization_is_accepted(prism_log10: PrismServer) -> None:
    async with _core(prism_log10, organization=None) as core:
        result = await sessions_create(core, CreateSessionRequest(organization="org-2"))
    assert_no_violation(result)
    assert isinstance(result, Ok), result


async def test_dynamic_bodies_decode_or_fail_validation(prism_log10: PrismServer) -> None:
    # The schema makes `session` and `id` optional; an id-less 201 must be a ResponseValidationError.
    async with _core(prism_log10) as core:
        for _ in range(20):
            result = await sessions_create(core, options=RequestOptions(headers={"Prefer": "dynamic=true"}))
            assert_no_violation(result)
            if isinstance(result, Ok):
                assert isinstance(result.value, str)
                assert result.value
            else:
                assert isinstance(result.error, ResponseValidationError), result
                assert result.error.field_path == "$.session.id"


async def test_missing_organization_violates_the_document(prism_log10: PrismServer) -> None:
    # The document requires X-Log10-Organization; the SDK omits it when unset, and Prism says so.
    async with _core(prism_log10, organization=None) as core:
        result = await sessions_create(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, UnprocessableEntityError)
    assert prism_error(result.error.body) == "UNPROCESSABLE_ENTITY"
    assert "x-log10-organization" in result.error.raw_text
    with pytest.raises(AssertionError, match="UNPROCESSABLE_ENTITY"):
        assert_no_violation(result)


async def test_missing_token_is_refused_before_sending(prism_log10: PrismServer, monkeypatch: Any) -> None:
    monkeypatch.delenv("LOG10_TOKEN", raising=False)
    async with Log10Core(organization="org-1", server_url=prism_log10.url, retries=0) as core:
        result = await sessions_create(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert "LOG10_TOKEN" in result.error.message


async def test_an_empty_token_is_an_authentication_error(prism_log10: PrismServer, monkeypatch: Any) -> None:
    monkeypatch.delenv("LOG10_TOKEN", raising=False)
    async with Log10Core(organization="org-1", server_url=prism_log10.url, retries=0) as core:
        result = await sessions_create(core, options=RequestOptions(headers={"X-Log10-Token": ""}))
    assert isinstance(result, Err)
    assert isinstance(result.error, AuthenticationError), result.error
    assert prism_error(result.error.body) == "UNAUTHORIZED"


async def test_undeclared_error_status_is_the_generic_error(prism_log10: PrismServer) -> None:
    # The document declares no error response; Prism answers `code=404` with its own 404.
    async with _core(prism_log10) as core:
        result = await sessions_create(core, options=RequestOptions(headers={"Prefer": "code=404"}))
    assert_no_violation(result, allow=("NOT_FOUND",))
    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert result.error.status == 404
