#!/usr/bin/env bash
# Create (or refresh) a virtual environment with the provider, the emulator (emulator/) and their
# test tools, both installed editable.
#   VENV             where (default .venv)
#   AIRFLOW_VERSION  which apache-airflow (default 3.3.2); e.g.
#                    VENV=.venv-airflow-2.11 AIRFLOW_VERSION=2.11.2 scripts/bootstrap.sh
#   PYTHON           the interpreter that creates the venv (default python3, needs >= 3.11)
# Idempotent: does nothing when the venv already matches both pyproject.toml files, this script and the
# requested Airflow version (a stamp file per venv).
set -euo pipefail
cd "$(dirname "$0")/.."

AIRFLOW_VERSION="${AIRFLOW_VERSION:-3.3.2}"
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "Python >= 3.11 is required (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
}

stamp_input="$(cat pyproject.toml emulator/pyproject.toml scripts/bootstrap.sh; echo "$AIRFLOW_VERSION")"
stamp="$(printf '%s' "$stamp_input" | sha256sum | cut -d' ' -f1)"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.bootstrap-stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

echo "==> creating $VENV (apache-airflow==${AIRFLOW_VERSION}); this takes about a minute the first time"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "apache-airflow==${AIRFLOW_VERSION}" -e ./emulator -e '.[test]'
echo "$stamp" > "$VENV/.bootstrap-stamp"
