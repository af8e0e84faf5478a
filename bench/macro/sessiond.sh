#!/usr/bin/env bash
# sessiond's own throughput: wrk against the release sessiond on each store, one server thread
# (per core) unless --threads says otherwise. Per store and request kind, the median of --runs
# runs of req/s, p50 and p99, and non-2xx (must be 0):
#   read       GET  /v1/sessions/{id}             (the lazy touch writes at most once a minute)
#   read-raw   GET  /v1/sessions/{id}?touch=false
#   patch      PATCH /v1/sessions/{id} {"set":{"k":…}}
#   increment  POST /v1/sessions/{id}/increment {"field":"n"}
#   healthz    GET  /healthz                      (the HTTP ceiling: no store, no key check)
#
# Usage: bench/macro/sessiond.sh [--duration 5s] [--connections 32] [--threads 1]
#                                [--stores memory,redis] [--runs 3] [--sessiond PATH]
# Needs: the release sessiond (`cmake --preset release && cmake --build build/release --target
# sessiond`), wrk, curl, python3, redis-server. Loopback only; every load is bounded in time;
# it stops exactly the processes it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/macro/servers.sh

duration=5s conns=32 threads=1 stores=memory,redis runs=3 binary=build/release/bin/sessiond
while (($#)); do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --stores) stores=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --sessiond) binary=$2; shift 2 ;;
    *) echo "sessiond.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in wrk curl python3 redis-server; do
  command -v "$tool" >/dev/null || { echo "sessiond.sh: $tool is missing" >&2; exit 2; }
done
[[ -x $binary ]] || { echo "sessiond.sh: no $binary (build the release sessiond)" >&2; exit 2; }

work=$(mktemp -d)
sd_pid=
cleanup() {
  if [[ -n $sd_pid ]]; then kill "$sd_pid" 2>/dev/null || true; wait "$sd_pid" 2>/dev/null || true; fi
  stop_redis
  rm -rf "$work"
}
trap cleanup EXIT

export SESSIOND_API_KEY=bench-key-$RANDOM-0123456789abcdef
auth="Authorization: Bearer $SESSIOND_API_KEY"
cat >"$work/patch.lua" <<'LUA'
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"set":{"k":' .. n .. '}}')
end
LUA
cat >"$work/increment.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"field":"n"}'
LUA

# One wrk run: "req/s p50_ms p99_ms non2xx".
measure() { # URL [wrk args...]
  local url=$1
  shift
  wrk -t1 -c"$conns" -d"$duration" --latency -H "$auth" "$@" "$url" >"$work/wrk.txt"
  python3 - "$work/wrk.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r"^\s*" + label + r"%\s+([\d.]+)(us|ms|s)", t, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
print(f"{rps:.0f} {ms('50'):.2f} {ms('99'):.2f} {bad.group(1) if bad else 0}")
PY
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '| store | request | req/s | p50 ms | p99 ms | non-2xx |\n| --- | --- | ---: | ---: | ---: | ---: |\n'
IFS=, read -ra store_list <<<"$stores"
for store in "${store_list[@]}"; do
  case $store in
    memory) url=memory:// ;;
    redis) start_redis "$work"; url=$redis_url ;;
    *) echo "sessiond.sh: unknown store $store" >&2; exit 2 ;;
  esac
  "$binary" --store "$url" --listen 127.0.0.1:0 --threads "$threads" >"$work/sd.log" 2>&1 &
  sd_pid=$!
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's/.*sessiond listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/sd.log")
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { cat "$work/sd.log" >&2; exit 1; }
  base=http://127.0.0.1:$port
  id=$(curl -sf -H "$auth" -H 'Content-Type: application/json' -d '{"data":{"n":0},"user":"bench"}' \
    "$base/v1/sessions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  for kind in healthz read read-raw patch increment; do
    case $kind in
      healthz) args=("$base/healthz") ;;
      read) args=("$base/v1/sessions/$id") ;;
      read-raw) args=("$base/v1/sessions/$id?touch=false") ;;
      patch) args=("$base/v1/sessions/$id" -s "$work/patch.lua") ;;
      increment) args=("$base/v1/sessions/$id/increment" -s "$work/increment.lua") ;;
    esac
    : >"$work/runs.txt"
    for _ in $(seq "$runs"); do measure "${args[@]}" >>"$work/runs.txt"; done
    rps=$(cut -d' ' -f1 "$work/runs.txt" | median)
    p50=$(cut -d' ' -f2 "$work/runs.txt" | median)
    p99=$(cut -d' ' -f3 "$work/runs.txt" | median)
    bad=$(cut -d' ' -f4 "$work/runs.txt" | sort -n | tail -1)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$store" "$kind" "$rps" "$p50" "$p99" "$bad"
  done
  kill "$sd_pid"
  wait "$sd_pid" 2>/dev/null || true
  sd_pid=
  [[ $store == redis ]] && stop_redis
done
