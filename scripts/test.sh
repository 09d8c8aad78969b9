#!/usr/bin/env bash
# The test command: sets up .venv/ if needed, then lint, type check and the whole test suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k trigger).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/ensure_redis.sh

echo "==> ruff"
.venv/bin/ruff check provider tests dags scripts bench
.venv/bin/ruff format --check provider tests dags scripts bench
echo "==> mypy"
.venv/bin/mypy
echo "==> pytest"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
.venv/bin/python -m pytest "$@"
