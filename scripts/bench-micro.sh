#!/usr/bin/env bash
# Builds the release preset with the micro-benchmarks and runs them (medians etc. of 5 runs).
# Usage: scripts/bench-micro.sh [extra Google Benchmark flags, e.g. --benchmark_filter=Cookie]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --bench
cmake --preset release -DSESSIONKIT_BUILD_BENCH=ON -DSESSIONKIT_BUILD_TESTS=OFF >/dev/null
cmake --build --preset release -j "$(nproc)" --target sessionkit_micro_bench
exec build/release/bin/sessionkit_micro_bench --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true "$@"
