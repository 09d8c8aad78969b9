#!/usr/bin/env bash
# The benchmarks (docs/performance.md): each bench/bench_*.py measures one thing against a baseline
# in the same run and prints ratios; results also go to build/bench/<name>.json.
#   scripts/bench.sh                 # everything, full length
#   scripts/bench.sh --quick         # shorter runs (a smoke check of the harness, not the figures)
#   scripts/bench.sh parse_cost      # only bench/bench_parse_cost.py (extra arguments after the names)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/ensure_redis.sh
# The official SDK is the baseline of bench_hook_vs_sdk.py (the bench extra; not a runtime dependency).
if ! .venv/bin/python -c "import huaweicloudsdkdcs" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet -e '.[test,bench]'
fi
export AIRFLOW__CORE__LOAD_EXAMPLES=False

names=()
args=()
for arg in "$@"; do
  if [[ "$arg" == -* || ${#args[@]} -gt 0 ]]; then args+=("$arg"); else names+=("$arg"); fi
done
if [ ${#names[@]} -eq 0 ]; then
  for file in bench/bench_*.py; do names+=("$(basename "$file" .py | sed 's/^bench_//')"); done
fi
status=0
for name in "${names[@]}"; do
  echo "==> bench/bench_${name}.py ${args[*]:-}"
  .venv/bin/python "bench/bench_${name}.py" "${args[@]}" || status=1
done
exit $status
