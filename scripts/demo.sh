#!/usr/bin/env bash
# The main job: sets up .venv/ if needed, then runs the example DAG example_dcs_full_migration end to
# end (configure, deferred wait, report) against the local emulator, which really copies sample data
# between two local redis-server processes, and prints what happened.
#   scripts/demo.sh        the DAG demo (Airflow's dag.test(), AIRFLOW_HOME=.demo/airflow-home)
#   scripts/demo.sh hook   the hook-only demo (no Airflow run)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW_HOME="${AIRFLOW_HOME:-$PWD/.demo/airflow-home}"
mkdir -p "$AIRFLOW_HOME"
if [ "${1:-}" = "hook" ]; then
  shift
  exec .venv/bin/python scripts/demo_hook.py "$@"
fi
scripts/ensure_redis.sh
exec .venv/bin/python scripts/demo_dag.py "$@"
