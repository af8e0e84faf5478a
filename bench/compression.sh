#!/usr/bin/env bash
# Compression at rest per store (issue 17, deliverable 4): builds the release preset's
# sessionkit_compression_bench, starts a private Redis and PostgreSQL on free loopback ports
# (bench/macro/servers.sh), and runs the bench on memory://, SQLite, Redis and PostgreSQL: a
# 1 / 16 / 64 kB cart written and read plain, through CompressedStore, through EncryptedStore
# and through both (stored bytes; wall-clock and process-CPU medians of 5 runs).
# Usage: bench/compression.sh [extra Google Benchmark flags, e.g. --benchmark_filter=64kB]
# Needs: redis-server and PostgreSQL (scripts/install-deps.sh --test installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/macro/servers.sh
source bench/macro/servers.sh
scripts/install-deps.sh --bench
cmake --preset release -DSESSIONKIT_BUILD_BENCH=ON -DSESSIONKIT_BUILD_TESTS=OFF >/dev/null
cmake --build --preset release -j "$(nproc)" --target sessionkit_compression_bench
dir=$(mktemp -d)
trap 'stop_redis; stop_postgres; rm -rf "$dir"' EXIT
start_redis "$dir"
start_postgres "$dir"
SESSIONKIT_BENCH_STORES="memory://,sqlite://$dir/bench.db,$redis_url,$pg_url" \
  build/release/bin/sessionkit_compression_bench --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true "$@"
