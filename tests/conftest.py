"""Root conftest: shared fixtures live in tests/_support and are registered here."""

from tests._support import aioresponses_compat

aioresponses_compat.install()

pytest_plugins = [
    "tests._support.jupyter_fixtures",
    "tests._support.prism_fixtures",
    "tests._support.fake_fixtures",
]
