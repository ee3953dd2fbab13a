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
# The shared rate limiter is tested against a real redis-server (Debian's package), installed
# where it is missing; without it tests/reliability/test_redis_limiter.py fails (never skips).
if ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if command -v apt-get >/dev/null && { [ -z "$SUDO" ] || command -v sudo >/dev/null; }; then
    $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null \
      || echo "scripts/test.sh: could not install redis-server: the Redis limiter tests will fail" >&2
  else
    echo "scripts/test.sh: redis-server is missing (apt-get install redis-server): the Redis limiter tests will fail" >&2
  fi
fi
export PATH="$PWD/$VENV/bin:$PATH"
mkdir -p .reports
exec python -m pytest -p no:cacheprovider -rs --junitxml=.reports/junit.xml "$@"
