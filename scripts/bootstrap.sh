#!/usr/bin/env bash
# Create (or refresh) the virtual environment at .venv/ with the provider and its test tools.
# Idempotent: does nothing when .venv already matches pyproject.toml and this script.
set -euo pipefail
cd "$(dirname "$0")/.."

AIRFLOW_VERSION="${AIRFLOW_VERSION:-3.3.2}"
PYTHON="${PYTHON:-python3}"

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "Python >= 3.11 is required (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
}

stamp_input="$(cat pyproject.toml scripts/bootstrap.sh; echo "$AIRFLOW_VERSION")"
stamp="$(printf '%s' "$stamp_input" | sha256sum | cut -d' ' -f1)"
if [ -x .venv/bin/python ] && [ "$(cat .venv/.bootstrap-stamp 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

echo "==> creating .venv (apache-airflow==${AIRFLOW_VERSION}); this takes about a minute the first time"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "apache-airflow==${AIRFLOW_VERSION}" -e '.[test]'
echo "$stamp" > .venv/.bootstrap-stamp
