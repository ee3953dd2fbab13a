"""Print a pip constraints file pinning every runtime dependency to its declared lower bound.

    python scripts/lowest_constraints.py [pyproject.toml] > lowest.txt
    pip install -e '.[dev]' -c lowest.txt

Reads `[project].dependencies` and the `fast` extra (whatever they are, so a dependency added later is covered) and turns
each `name>=X` (or `~=X`, `==X`) into `name==X`, keeping any environment marker. A runtime dependency
without a lower bound is an error: CI could not test the oldest version a user may get.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

# name, optional [extras], the specifiers, optional "; marker" (PEP 508 without URLs).
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*?)\s*(?:;\s*(.+?))?\s*$")
_LOWER = re.compile(r"^(>=|~=|==)\s*([0-9][^\s,]*)$")


def lower_bound_pin(requirement: str) -> str:
    """`"aiohttp>=3.9,<4"` -> `"aiohttp==3.9"`; raises ValueError when there is no lower bound."""
    match = _REQUIREMENT.match(requirement)
    if match is None:
        raise ValueError(f"cannot parse the requirement {requirement!r}")
    name, specifiers, marker = match.groups()
    bounds = [m.group(2) for s in specifiers.split(",") if (m := _LOWER.match(s.strip()))]
    if len(bounds) != 1 or "*" in bounds[0]:
        raise ValueError(f"{requirement!r}: needs exactly one lower bound (>=, ~= or ==) to pin")
    return f"{name}=={bounds[0]}" + (f" ; {marker}" if marker else "")


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else Path(__file__).resolve().parent.parent / "pyproject.toml")
    project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    # The `fast` extra (orjson) replaces code on the hot path: its oldest release is tested too.
    dependencies: list[str] = [*project["dependencies"], *project.get("optional-dependencies", {}).get("fast", [])]
    try:
        pins = [lower_bound_pin(d) for d in dependencies]
    except ValueError as exc:
        print(f"lowest_constraints: {exc}", file=sys.stderr)
        return 1
    print(f"# The lowest runtime dependencies {path.name} declares (scripts/lowest_constraints.py).")
    print("\n".join(pins))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
