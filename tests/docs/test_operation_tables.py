"""Each service page's operations table is built from the service's registry by `docs/hooks/operations.py`."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path
from typing import Any

import sessionkit

ROOT = Path(__file__).resolve().parents[2]


def _hook() -> Any:
    spec = importlib.util.spec_from_file_location("operations_hook", ROOT / "docs" / "hooks" / "operations.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _services() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(sessionkit.__path__):
        public = info.ispkg and not info.name.startswith("_") and info.name != "testing"
        if public and hasattr(importlib.import_module(f"sessionkit.{info.name}"), "OPERATIONS"):
            names.append(info.name)
    return names


def test_every_service_page_has_its_generated_operations_table() -> None:
    hook = _hook()
    services = _services()
    assert len(services) >= 5
    for name in services:
        page = (ROOT / "docs" / "services" / f"{name}.md").read_text(encoding="utf-8")
        assert f"<!-- operations: {name} -->" in page, f"docs/services/{name}.md lost its operations marker"
        rendered = hook.on_page_markdown(page)
        for entry in importlib.import_module(f"sessionkit.{name}").OPERATIONS:
            assert f"`{entry.function.__name__}`" in rendered, (name, entry.operation.id)
            assert entry.summary, f"{entry.function.__name__} has no docstring summary for the table"


def test_the_readme_lists_every_function_of_every_registry() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    packages = [*_services(), "devin.v3"]
    for name in packages:
        for entry in importlib.import_module(f"sessionkit.{name}").OPERATIONS:
            for fn in (entry.function, entry.every_page, entry.waiter, entry.driver):
                if fn is not None:
                    assert f"`{fn.__name__}`" in readme, f"README.md does not list {name}.{fn.__name__}"
