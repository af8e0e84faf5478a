#!/usr/bin/env bash
# The Redis store without HTTP (issue 19), and the physical limit beside it: builds the release
# preset's sessionkit_redis_store_bench, starts a private redis-server on a free loopback port,
# runs the bench (loads/s, p50/p99, allocations per load at 1, 8 and 64 in flight), then
# redis-benchmark on the same server: GET, and HGETALL of a 14-field hash like a session's, at
# 64 connections one command each (-c 64 -P 1) and at one connection pipelining 64 (-c 1 -P 64).
# Usage: bench/redis_store.sh [SECONDS] [IN_FLIGHT...]
# Needs: redis-server, redis-benchmark (redis-tools), the release preset's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/macro/servers.sh
source bench/macro/servers.sh
seconds=${1:-5}
shift || true
cmake --preset release -DSESSIONKIT_BUILD_BENCH=ON -DSESSIONKIT_BUILD_TESTS=OFF >/dev/null
cmake --build --preset release -j "$(nproc)" --target sessionkit_redis_store_bench
dir=$(mktemp -d)
trap 'stop_redis; rm -rf "$dir"' EXIT
start_redis "$dir"
echo "== RedisStore::load, no touch (build/release/bin/sessionkit_redis_store_bench $seconds ${*:-1 8 64})"
build/release/bin/sessionkit_redis_store_bench "$redis_url" "$seconds" "$@"
echo
echo "== redis-benchmark on the same server (requests/s)"
fields=()
for f in $(seq 0 13); do fields+=("field$f" "value number $f of a session"); done
redis-cli -p "$redis_port" HSET bench:hash "${fields[@]}" >/dev/null
n=$((seconds * 40000))
# The figure of redis-benchmark -q's final line ("…: 123456.79 requests per second, p50=…").
rps() { tr '\r' '\n' | sed -n 's/.* \([0-9.]*\) requests per second.*/\1/p' | tail -1; }
for mode in "-c 64 -P 1" "-c 1 -P 64"; do
  # shellcheck disable=SC2086
  get=$(redis-benchmark -p "$redis_port" $mode -n "$n" -q -t get | rps)
  # shellcheck disable=SC2086
  hgetall=$(redis-benchmark -p "$redis_port" $mode -n "$n" -q HGETALL bench:hash | rps)
  echo "$mode: GET $get, HGETALL (14 fields) $hgetall"
done
