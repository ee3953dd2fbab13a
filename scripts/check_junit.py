"""Fail unless the test groups that need real components really ran (CI guard).

Usage: python scripts/check_junit.py .reports/junit.xml
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

REQUIRED = {
    "integration (real Jupyter Server)": "tests.integration",
    "contract (Prism, orq-ai-sdk)": "tests.contract",
    "scenarios (fakes vs real)": "tests.scenarios",
    "reliability": "tests.reliability",
    "pipeline (deadlines, retries, reader, transport)": "tests.pipeline",
    "cli": "tests.cli",
}


def main(path: str) -> int:
    cases = ET.parse(path).getroot().iter("testcase")
    ran: dict[str, int] = dict.fromkeys(REQUIRED, 0)
    skipped: dict[str, list[str]] = {name: [] for name in REQUIRED}
    for case in cases:
        classname = case.get("classname", "")
        for name, prefix in REQUIRED.items():
            if classname.startswith(prefix):
                if case.find("skipped") is not None:
                    skipped[name].append(f"{classname}::{case.get('name')}")
                else:
                    ran[name] += 1
    ok = True
    for name in REQUIRED:
        print(f"{name}: {ran[name]} ran, {len(skipped[name])} skipped")
        if ran[name] == 0 or skipped[name]:
            ok = False
            for item in skipped[name][:20]:
                print(f"  skipped: {item}")
    if not ok:
        print("FAIL: a required test group did not run in full", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".reports/junit.xml"))
