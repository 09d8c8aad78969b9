#!/usr/bin/env bash
# Build the documentation site from docs/ into build/site (mkdocs build --strict: any warning,
# e.g. a broken link or anchor, a missing snippet, a docstring griffe cannot read, fails the build).
#   scripts/docs.sh           build
#   scripts/docs.sh serve     serve at http://127.0.0.1:8000 with live reload (extra args go to mkdocs)
# The tools live in their own virtual environment, .venv-docs/ (never in the Airflow .venv), made
# the first time and remade only when docs/requirements.txt or this script changes.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv-docs

stamp="$(cat docs/requirements.txt scripts/docs.sh | sha256sum | cut -d' ' -f1)"
if ! [ -x "$VENV/bin/mkdocs" ] || [ "$(cat "$VENV/.docs-stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "==> creating $VENV with the tools of docs/requirements.txt (about 30 s the first time)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r docs/requirements.txt
  echo "$stamp" > "$VENV/.docs-stamp"
fi

# mkdocs-material prints a banner about MkDocs 2.0 on every run; it is not a build warning.
export NO_MKDOCS_2_WARNING=1
case "${1:-build}" in
  build)
    shift $(( $# > 0 ? 1 : 0 ))
    exec "$VENV/bin/mkdocs" build --strict "$@"
    ;;
  serve)
    shift
    exec "$VENV/bin/mkdocs" serve --strict "$@"
    ;;
  *)
    echo "usage: scripts/docs.sh [build|serve] [mkdocs options]" >&2
    exit 2
    ;;
esac
