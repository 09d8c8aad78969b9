"""Benchmarks: ``scripts/bench.sh`` runs every ``bench_*.py`` (see docs/performance.md)."""
