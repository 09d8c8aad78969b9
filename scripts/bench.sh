#!/usr/bin/env bash
# The benchmarks (docs/performance.md): each bench/bench_*.py measures one thing against a baseline
# in the same run, its variants interleaved over rounds (5 in a full run, 2 with --quick), and prints
# every figure and ratio as median (min-max) with the verdicts; results go to build/bench/<name>.json
# and, at the end, bench/summary.py turns the results of this run into build/bench/summary.md.
#   scripts/bench.sh                 # everything, full length (about 30 min on 2 CPUs)
#   scripts/bench.sh --quick         # 2 short rounds each (a smoke check of the harness, not the figures)
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
quick=0
for arg in "${args[@]}"; do [[ "$arg" == "--quick" ]] && quick=1; done

# Expected minutes per benchmark on 2 CPUs (full run, then --quick), printed before starting.
declare -A full=([detection_latency]=6 [emulator_datapath]=2 [hook_vs_sdk]=3 [parse_cost]=1
                 [triggerer_scale]=9 [verify]=9)
declare -A short=([detection_latency]=3 [emulator_datapath]=1 [hook_vs_sdk]=1 [parse_cost]=1
                  [triggerer_scale]=2 [verify]=2)
total=0
for name in "${names[@]}"; do
  if [ $quick -eq 1 ]; then total=$((total + ${short[$name]:-1})); else total=$((total + ${full[$name]:-1})); fi
done
# One id for the results of this run (bench/summary.py keeps them together).
export DCS_BENCH_RUN="${DCS_BENCH_RUN:-$(date -u +%Y%m%dT%H%M%SZ)$([ $quick -eq 1 ] && echo -quick)}"
echo "==> run $DCS_BENCH_RUN: ${names[*]}; expected duration about $total min (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"

status=0
started=$SECONDS
for name in "${names[@]}"; do
  echo "==> bench/bench_${name}.py ${args[*]:-} ($(( (SECONDS - started) / 60 )) min so far)"
  .venv/bin/python "bench/bench_${name}.py" "${args[@]}" || status=1
done
echo "==> summary of run $DCS_BENCH_RUN ($(( (SECONDS - started) / 60 )) min in all)"
.venv/bin/python bench/summary.py --run "$DCS_BENCH_RUN" || status=1
exit $status
