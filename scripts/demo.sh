#!/usr/bin/env bash
# The main job: sets up .venv/ if needed, then runs a DCS migration end to end against the local
# emulator and prints what happened.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW_HOME="${AIRFLOW_HOME:-$PWD/.demo/airflow-home}"
mkdir -p "$AIRFLOW_HOME"
exec .venv/bin/python scripts/demo_hook.py "$@"
