#!/usr/bin/env bash
# Build the sdists and the wheels of the provider (.) and of the emulator (emulator/) into build/dist
# (or --outdir DIR) and check their metadata with `twine check --strict`. Extra flags go to
# `python -m build` (e.g. --no-isolation).
# Uses $VENV (default .venv; scripts/bootstrap.sh makes it): `build` and `twine` are in the test extra.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
export VENV
scripts/bootstrap.sh

outdir=build/dist
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --outdir) outdir="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
rm -rf "$outdir"
mkdir -p "$outdir"
for project in . emulator; do
  "$VENV/bin/python" -m build --sdist --wheel --outdir "$outdir" ${args[@]+"${args[@]}"} "$project"
done
"$VENV/bin/twine" check --strict "$outdir"/*
ls -l "$outdir"
