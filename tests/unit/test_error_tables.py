"""Each service declares its status -> error table once, on its core; an operation only overrides it."""

from __future__ import annotations

import attrs
import pytest

from sessionkit import APIError, Err, InternalServerError, NotFoundError, Operation, PermissionDeniedError
from sessionkit.devin import DevinCore, DevinInternalServerError, DevinNotFoundError
from sessionkit.jupyter import JupyterCore, sessions_list
from sessionkit.mix import MixCore, RESTResponseNotFoundError
from sessionkit.orq import OrqCore
from sessionkit.testing import FakeJupyter


@pytest.mark.parametrize(
    ("core", "status", "body", "expected"),
    [
        (JupyterCore(), 403, None, PermissionDeniedError),
        (JupyterCore(), 404, None, NotFoundError),
        (DevinCore("k"), 404, None, DevinNotFoundError),
        (DevinCore("k"), 502, None, DevinInternalServerError),
        (MixCore(), 404, {"error": {"code": 404, "message": "m", "type": "not_found"}}, RESTResponseNotFoundError),
        (OrqCore("k"), 500, None, InternalServerError),
    ],
    ids=["jupyter-403", "jupyter-404", "devin-404", "devin-5xx", "mix-rest-404", "orq-500"],
)
def test_the_core_declares_the_services_table(core: object, status: int, body: object, expected: type) -> None:
    assert getattr(core, "config").classify(status, body) is expected  # noqa: B009


def test_an_operation_overrides_its_services_table() -> None:
    class Gone(APIError):
        pass

    op: Operation[None, None] = Operation(id="t.get", method="GET", path="/t", body=None, errors={404: Gone})
    assert op.error_class(404) is Gone
    assert op.error_class(500) is None  # the service's table decides
    assert attrs.evolve(op, errors={"4XX": Gone}).error_class(410) is Gone


async def test_a_jupyter_403_says_the_token_is_missing_or_wrong() -> None:
    async with FakeJupyter(token="right") as fake, JupyterCore(server_url=fake.url, token="tok-wrong-123") as core:
        result = await sessions_list(core)
    assert isinstance(result, Err)
    assert type(result.error) is PermissionDeniedError
    assert "missing or wrong token" in str(result.error)
    assert "tok-wrong-123" not in str(result.error), "the token itself is never shown"
