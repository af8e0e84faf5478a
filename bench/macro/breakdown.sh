#!/usr/bin/env bash
# Where the CPU time of one request goes, on the real CPU: samples the release demo (memory
# store, --threads 1) with `perf record -e cpu-clock --call-graph dwarf` while wrk drives one
# kind of request at a time (healthz, read, write), then folds the stacks into the parts of a
# request (bench/macro/fold_stacks.py) and prints CPU microseconds per request for each part.
# Unlike profile.sh (callgrind), this counts kernel time, cache misses and SHA-NI as they are.
# Sampling noise is about ±0.2 µs per part at the defaults. Loopback only; stops what it started.
# Usage: bench/macro/breakdown.sh [SECONDS]   (sampling time per kind, default 4)
# Output: the table; the perf data and stacks stay in $OUT (default /tmp/sessionkit-breakdown).
# Needs: the release build (scripts/build.sh release), perf, python3, wrk and curl
#   (scripts/install-deps.sh --profile), and the
#   right to sample the demo (root, or kernel.perf_event_paranoid <= 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/macro/demo_session.sh
demo_require build/release/bin/sessionkit-demo "scripts/install-deps.sh --profile" perf python3 wrk curl
seconds=${1:-4}
freq=999
out=${OUT:-/tmp/sessionkit-breakdown}
rm -rf "$out"; mkdir -p "$out"
pid=
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
demo_start build/release/bin/sessionkit-demo "$out"
demo_sign_in "$url" "$out/jar"  # sets cookie and token (for the write's CSRF header)

folds=()
sample() {  # kind, path
  local kind=$1 path=$2
  wrk -t1 -c32 -d1s -s bench/macro/request.lua "$url$path" >/dev/null  # warm-up
  # wrk runs a second longer on each side than perf samples, so the rate holds throughout.
  wrk -t1 -c32 -d"$((seconds + 2))s" -s bench/macro/request.lua "$url$path" >"$out/$kind.wrk" &
  local load=$!
  sleep 1
  perf record -q -e cpu-clock -F $freq --call-graph dwarf,16384 -p "$pid" -o "$out/$kind.data" \
    -- sleep "$seconds" >/dev/null 2>&1
  wait $load
  local rps; rps=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' "$out/$kind.wrk")
  [[ -n $rps ]] || { echo "wrk reported nothing for $kind" >&2; cat "$out/$kind.wrk" >&2; exit 1; }
  if grep -q 'non2xx=[1-9]' "$out/$kind.wrk"; then
    echo "$kind: the demo answered with errors: $(cat "$out/$kind.wrk")" >&2; exit 1
  fi
  perf script -i "$out/$kind.data" -F ip,sym,dso >"$out/$kind.stacks" 2>/dev/null
  printf '%-8s %9.0f req/s while sampled\n' "$kind" "$rps"
  folds+=("$kind=$out/$kind.stacks:$(awk -v r="$rps" -v s="$seconds" 'BEGIN {print r * s}'):$freq")
}
sample healthz /healthz
BENCH_COOKIE=$cookie sample read /api/session
BENCH_METHOD=POST BENCH_COOKIE=$cookie BENCH_CSRF=$token sample write /api/increment
echo
python3 bench/macro/fold_stacks.py "${folds[@]}"
