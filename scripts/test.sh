#!/usr/bin/env bash
# The test command: sets up the venv if needed, then lint, type check and the whole test suite.
#   scripts/test.sh [--airflow 3.3|2.11] [--no-lint] [pytest args...]
# --airflow 3.3 (the default): .venv, ruff + mypy + pytest.
# --airflow 2.11: .venv-airflow-2.11, pytest only (ruff and mypy run in the 3.3 job; tests that need
#   Airflow 3 skip themselves, see tests/airflow_versions.py).
# --no-lint: pytest only (CI's second Airflow 3.3 job, which runs -m distributed).
# Extra arguments go to pytest (e.g. scripts/test.sh -k trigger). The whole suite includes the
# distributed deployment (PostgreSQL, Celery, two triggerers: -m distributed); CI runs it apart.
set -euo pipefail
cd "$(dirname "$0")/.."

airflow_line="3.3"
if [ "${1:-}" = "--airflow" ]; then
  airflow_line="${2:?--airflow needs a version: 3.3 or 2.11}"
  shift 2
fi
skip_lint=no
if [ "${1:-}" = "--no-lint" ]; then
  skip_lint=yes
  shift
fi
# The one place that pins the Airflow of each supported line (and its venv).
case "$airflow_line" in
  3.3) AIRFLOW_VERSION=3.3.2 VENV=.venv lint=yes ;;
  2.11)
    AIRFLOW_VERSION=2.11.2 VENV=.venv-airflow-2.11 lint=no
    # Its own AIRFLOW_HOME for the test process: an airflow.cfg written by Airflow 3 (e.g. the
    # default ~/airflow) names Airflow 3 classes (core.xcom_backend = airflow.sdk...) 2.11 cannot load.
    export AIRFLOW_HOME="$PWD/$VENV/airflow-home"
    ;;
  *)
    echo "--airflow: unknown version '$airflow_line' (supported: 3.3, 2.11)" >&2
    exit 2
    ;;
esac

AIRFLOW_VERSION="$AIRFLOW_VERSION" VENV="$VENV" scripts/bootstrap.sh
scripts/ensure_redis.sh
scripts/ensure_postgres.sh  # the distributed e2e deployment's throw-away cluster (tests/e2e/postgres.py)
if [ "$airflow_line" = 3.3 ]; then
  scripts/ensure_chromium.sh  # the browser test of the Airflow 3 UI (tests/ui)
fi
echo "==> Airflow $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("apache-airflow"))') in $VENV"

if [ "$lint" = yes ] && [ "$skip_lint" = no ]; then
  echo "==> ruff"
  "$VENV/bin/ruff" check provider emulator tests dags scripts bench examples
  "$VENV/bin/ruff" format --check provider emulator tests dags scripts bench examples
  echo "==> mypy"
  "$VENV/bin/mypy"
fi
echo "==> pytest"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
# --durations: the 25 slowest tests (and setups) at the end, so a long run shows where time goes.
"$VENV/bin/python" -m pytest --durations=25 --durations-min=1.0 "$@"
