#!/usr/bin/env bash
# The whole test suite: ruff, import-linter, mypy, pytest on SQLite, then pytest on PostgreSQL. Without
# TEST_DATABASE_URL a throw-away PostgreSQL server is started on loopback (.ci/postgres.sh).
#   .ci/test-suite.sh [BIN]   (BIN: the virtualenv's bin directory, default .venv/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-.venv/bin}"

"$bin/ruff" check .
"$bin/lint-imports"  # the layer contracts of pyproject.toml [tool.importlinter]
"$bin/mypy"  # the type check of pyproject.toml [tool.mypy]
echo "== the suite on SQLite =="
env -u TEST_DATABASE_URL "$bin/pytest" -q
if [ -z "${TEST_DATABASE_URL:-}" ]; then
    source .ci/postgres.sh
fi
echo "== the suite again on PostgreSQL =="
"$bin/pytest" -q
