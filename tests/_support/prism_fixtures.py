"""Session-scoped Prism mock servers of the vendor OpenAPI documents.

Fixtures (each starts its Prism lazily, on first use, and stops it at the end of the session):

- `prism_mix_0114`: Mix `mix/out.openapi.v0.11.4.yaml` (no fork, `browserMode` required on create)
- `prism_mix_0101`: Mix `mix/out.openapi.v0.10.1.yaml` (bare bodies, `{"error": ...}` errors)
- `prism_mix_011`: Mix `mix/out.openapi.v0.1.1.yaml` (the `{data, error, message}` envelope)
- `prism_log10`: Log10 `log10/openapi.yaml` (requires `X-Log10-Token` and `X-Log10-Organization`)

Each yields a `tests._support.prism.PrismServer`; point a core at `server.url`:

    async def test_x(prism_mix_0101):
        async with MixCore(server_url=prism_mix_0101.url) as core:
            result = await sessions_list(core)
        assert_no_violation(result)   # from tests._support.prism

Request validation is on (`--errors`). Prism answers `Prefer: code=404` with that declared
response and `Prefer: dynamic=true` with generated data. A fixture skips its test when the specs
dir (`SESSIONKIT_SPECS_DIR`, else `../shared/specs`) is absent, and fails when Prism is not
installed (`npm ci` in tests/).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .prism import PrismServer, spec_path, start_prism


def _serve(relative: str) -> Iterator[PrismServer]:
    server = start_prism(spec_path(relative))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def prism_mix_0114() -> Iterator[PrismServer]:
    """Prism serving the Mix v0.11.4 document."""
    yield from _serve("mix/out.openapi.v0.11.4.yaml")


@pytest.fixture(scope="session")
def prism_mix_0101() -> Iterator[PrismServer]:
    """Prism serving the Mix v0.10.1 document."""
    yield from _serve("mix/out.openapi.v0.10.1.yaml")


@pytest.fixture(scope="session")
def prism_mix_011() -> Iterator[PrismServer]:
    """Prism serving the Mix v0.1.1 document."""
    yield from _serve("mix/out.openapi.v0.1.1.yaml")


@pytest.fixture(scope="session")
def prism_log10() -> Iterator[PrismServer]:
    """Prism serving the Log10 document (its `./openai.yaml` ref resolves next to it)."""
    yield from _serve("log10/openapi.yaml")
