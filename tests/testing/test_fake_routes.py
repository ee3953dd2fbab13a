"""Every operation of the registry has a route in its service's fake (`Service.fake`): a new
operation without one in the fake fails here, not in a user's test."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web

from sessionkit._registry import SERVICES, Service

_PLACEHOLDER = re.compile(r"\{[^}]+\}")


def _shape(path: str) -> str:
    """A path template with every placeholder alike: `/api/sessions/{session}` -> `/api/sessions/{}`."""
    return _PLACEHOLDER.sub("{}", path)


def _routes(app: web.Application) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for resource in app.router.resources():
        for route in resource:
            found.add((route.method, _shape(resource.canonical)))
    return found


def _dummy_core(service: Service) -> Any:
    kwargs = {a.name: "x" for a in service.core_class().arguments()}
    return service.core_class()(server_url="http://127.0.0.1:9", **kwargs)


# A fake that imitates several server versions serves each version's routes; together they must
# cover the operations (Mix's fork is gone from 0.11, its notifications came with it).
VARIANTS: dict[str, list[dict[str, Any]]] = {"FakeMix": [{"version": "0.10.1"}, {"version": "0.11.4"}]}


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
async def test_every_operation_has_a_route_in_its_fake(service: Service) -> None:
    core = _dummy_core(service)
    prefix = _shape(core.path_prefix.replace("/x", "/{org}")) if core.path_prefix else ""
    routes: set[tuple[str, str]] = set()
    for kwargs in VARIANTS.get(service.fake, [{}]):
        async with service.fake_class()(**kwargs) as fake:
            runner: Any = fake._runner  # pyright: ignore[reportPrivateUsage]  # the fake's own app
            routes |= _routes(runner.app)
    missing = [
        f"{entry.operation.method} {entry.operation.path}"
        for entry in service.operations()
        if (entry.operation.method, prefix + _shape(entry.operation.path)) not in routes
        and ("*", prefix + _shape(entry.operation.path)) not in routes
    ]
    assert missing == [], f"{service.fake} has no route for {missing}"
