#!/usr/bin/env bash
# Instructions per request, from callgrind: starts the release demo (memory store, --threads 1)
# under valgrind with instrumentation off, signs in, then for each request kind switches
# instrumentation on, drives it with wrk for a few seconds, switches it off and divides the
# instructions counted by the requests wrk completed. Loopback only; stops what it started.
# Usage: bench/macro/profile.sh [SECONDS]   (default 5)
# Output: one line per request kind, and callgrind files in $OUT (default /tmp/sessionkit-profile)
#   for callgrind_annotate.
# Needs: the release build (scripts/build.sh release), valgrind, wrk and curl
#   (scripts/install-deps.sh --profile).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/macro/demo_session.sh
demo_require build/release/bin/sessionkit-demo "scripts/install-deps.sh --profile" \
  valgrind callgrind_control wrk curl
seconds=${1:-5}
out=${OUT:-/tmp/sessionkit-profile}
rm -rf "$out"; mkdir -p "$out"
pid=
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
demo_start build/release/bin/sessionkit-demo "$out" \
  valgrind --tool=callgrind ${CALLGRIND_OPTS:-} --instr-atstart=no --callgrind-out-file="$out/callgrind.%p"
demo_sign_in "$url" "$out/jar"  # sets cookie and token (for the write's CSRF header)
measure() {  # name, wrk arguments...
  local name=$1; shift
  wrk -t1 -c4 -d1s "$@" >/dev/null  # warm-up, not counted
  callgrind_control -z "$pid" >/dev/null 2>&1
  callgrind_control -i on "$pid" >/dev/null 2>&1
  local report; report=$(wrk -t1 -c4 -d"${seconds}s" "$@")
  callgrind_control -i off "$pid" >/dev/null 2>&1
  callgrind_control -d "$name" "$pid" >/dev/null 2>&1
  local requests; requests=$(awk '/requests in/ {print $1}' <<<"$report")
  local file; file=$(ls -t "$out"/callgrind.* | grep -v '\.out$' | head -1)
  local ir; ir=$(awk '/^totals:/ {print $2; exit}' "$file")
  printf '%-8s %8d requests  %9.1fk instructions per request  (%s)\n' \
    "$name" "$requests" "$(awk -v i="$ir" -v n="$requests" 'BEGIN {print i / n / 1000}')" "$file"
}
measure healthz "$url/healthz"
measure read -H "Cookie: $cookie" "$url/api/session"
BENCH_METHOD=POST BENCH_COOKIE=$cookie BENCH_CSRF=$token \
  measure write -s bench/macro/request.lua "$url/api/increment"
