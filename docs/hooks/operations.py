"""mkdocs hook: the generated tables in the pages (between `<!-- NAME -->` and `<!-- /NAME -->`) must
be what the registry says. They are written into the Markdown by `scripts/gen_docs.py`, so GitHub and
the site show the same; a page whose tables drifted fails the build, naming the command that fixes it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen_docs.py"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_docs", _SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_GEN = _generator()


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if _GEN.regenerate(markdown) != markdown:
        raise PluginError(f"{page.file.src_path}: its generated tables are out of date: run python scripts/gen_docs.py")
    return markdown
