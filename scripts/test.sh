#!/usr/bin/env bash
# Set up everything the test suite needs (venv, Python deps, Prism via npm) and run it.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${SESSIONKIT_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e '.[dev]'
(cd tests && npm ci --no-audit --no-fund --loglevel=error)
export PATH="$PWD/$VENV/bin:$PATH"
mkdir -p .reports
exec python -m pytest -p no:cacheprovider -rs --junitxml=.reports/junit.xml "$@"
