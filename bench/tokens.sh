#!/usr/bin/env bash
# Token sessions per store (issue 15): builds the release preset's sessionkit_token_bench, starts
# a private Redis and PostgreSQL on free loopback ports (bench/macro/servers.sh), and runs the
# bench on memory://, SQLite, Redis and PostgreSQL: refresh rotation, replay within grace, the
# stateful access-token check with and without its cache (wall-clock medians of 5 runs).
# Usage: bench/tokens.sh [extra Google Benchmark flags, e.g. --benchmark_filter=Refresh]
# Needs: redis-server and PostgreSQL (scripts/install-deps.sh --test installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/macro/servers.sh
source bench/macro/servers.sh
scripts/install-deps.sh --bench
cmake --preset release -DSESSIONKIT_BUILD_BENCH=ON -DSESSIONKIT_BUILD_TESTS=OFF >/dev/null
cmake --build --preset release -j "$(nproc)" --target sessionkit_token_bench
dir=$(mktemp -d)
trap 'stop_redis; stop_postgres; rm -rf "$dir"' EXIT
start_redis "$dir"
start_postgres "$dir"
SESSIONKIT_BENCH_STORES="memory://,sqlite://$dir/bench.db,$redis_url,$pg_url" \
  build/release/bin/sessionkit_token_bench --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true "$@"
