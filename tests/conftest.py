"""Root conftest: shared fixtures live in tests/_support and are registered here."""

pytest_plugins = [
    "tests._support.jupyter_fixtures",
    "tests._support.prism_fixtures",
    "tests._support.fake_fixtures",
]
