"""The generated tables in README.md, docs/cli.md and each service page are written into the Markdown
(`scripts/gen_docs.py`), so GitHub shows what the built site shows; they must be what the registry
says, and every function of every service must appear in them."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

from sessionkit._registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _load(ROOT / "scripts" / "gen_docs.py", "gen_docs")


def test_no_generated_table_has_drifted_from_the_registry() -> None:
    assert GEN.drift() == [], "run python scripts/gen_docs.py"


def test_every_function_of_every_service_is_in_its_page_and_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for service in SERVICES:
        page = (ROOT / service.page).read_text(encoding="utf-8")
        assert f"<!-- operations: {service.name} -->" in page, f"{service.page} lost its operations table"
        for entry in service.operations():
            assert entry.summary, f"{entry.function.__name__} has no docstring summary for the tables"
            for fn in (entry.function, entry.every_page, entry.waiter, entry.driver):
                if fn is not None:
                    assert f"`{fn.__name__}`" in page, (service.page, fn.__name__)
                    assert f"`{fn.__name__}`" in readme, f"README.md does not list {service.name}.{fn.__name__}"


def test_the_mkdocs_hook_refuses_a_page_whose_tables_drifted() -> None:
    import pytest
    from mkdocs.exceptions import PluginError

    hook = _load(ROOT / "docs" / "hooks" / "operations.py", "operations_hook")

    class Page:
        class file:  # the shape mkdocs passes
            src_path = "services/orq.md"

    page = (ROOT / "docs" / "services" / "orq.md").read_text(encoding="utf-8")
    assert hook.on_page_markdown(page, page=Page) == page
    stale = page.replace("`sessions_count`", "`sessions_kount`", 1)
    with pytest.raises(PluginError, match=r"gen_docs\.py"):
        hook.on_page_markdown(stale, page=Page)


CODE = re.compile(r"`([^`]*[{\[][^`]*)`")


def test_every_example_in_a_summary_is_json() -> None:
    """The summaries are the CLI's help: a request shown there must be what `--body` takes (JSON,
    not a Python literal such as `True`)."""
    for service in SERVICES:
        for entry in service.operations():
            for example in CODE.findall(entry.summary):
                json.loads(example)
