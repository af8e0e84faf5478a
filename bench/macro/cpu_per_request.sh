#!/usr/bin/env bash
# CPU time of the demo per request: healthz, read (GET /api/session, logged in) and write
# (POST /api/increment), from /proc/PID/stat (utime, stime) around a wrk run. Each round starts a
# fresh demo (release build, --threads 1); the medians over the rounds are printed last, with
# read/healthz as req/s. The CPU time is the whole process's, every thread (a store's own I/O
# thread too). Loopback only; stops only what it started.
# Usage: bench/macro/cpu_per_request.sh [--rounds 3] [--duration 5] [--demo PATH]
#                                       [--store memory|redis] [--flags 'DEMO FLAGS']
#   --demo   compares another build of the demo (e.g. a worktree at an older commit).
#   --store  redis: a private redis-server on a free loopback port (default: memory).
#   --flags  more demo flags, e.g. --flags --redis-io-thread.
# Needs: the release build (scripts/build.sh release), wrk and curl.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=3 duration=5 demo=build/release/bin/sessionkit-demo store=memory
export DEMO_FLAGS=${DEMO_FLAGS:-}
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --demo) demo=$2; shift 2 ;;
    --store) store=$2; shift 2 ;;
    --flags) DEMO_FLAGS=$2; shift 2 ;;
    *) echo "cpu_per_request.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
source bench/macro/demo_session.sh
demo_require "$demo" "scripts/install-deps.sh --bench" wrk curl
tick=$(getconf CLK_TCK)
tmp=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [[ $store == redis ]] && stop_redis
  rm -rf "$tmp"
}
trap cleanup EXIT
case $store in
  memory) export DEMO_STORE=memory:// ;;
  redis)
    source bench/macro/servers.sh
    command -v redis-server >/dev/null || { echo "redis-server is missing" >&2; exit 2; }
    start_redis "$tmp"
    export DEMO_STORE=$redis_url ;;
  *) echo "cpu_per_request.sh: --store memory or redis" >&2; exit 2 ;;
esac

# one_round: prints "kind req/s user_us sys_us" for healthz, read and write
one_round() {
  demo_start "$demo" "$tmp"  # sets pid and url
  demo_sign_in "$url" "$tmp/jar" || exit 1  # sets cookie and token
  measure() {  # kind, wrk arguments...
    local kind=$1; shift
    wrk -t2 -c64 -d1s "$@" >/dev/null  # warm-up
    local before after report
    read -r -a before < <(awk '{print $14, $15}' "/proc/$pid/stat")
    report=$(wrk -t2 -c64 -d"${duration}s" "$@")
    read -r -a after < <(awk '{print $14, $15}' "/proc/$pid/stat")
    awk -v kind="$kind" -v n="$(awk '/requests in/ {print $1}' <<<"$report")" \
      -v rps="$(awk '/Requests\/sec/ {print $2}' <<<"$report")" \
      -v u=$((after[0] - before[0])) -v s=$((after[1] - before[1])) -v tick="$tick" \
      'BEGIN {printf "%s %.0f %.2f %.2f\n", kind, rps, u * 1e6 / tick / n, s * 1e6 / tick / n}'
  }
  measure healthz "$url/healthz"
  measure read -H "Cookie: $cookie" "$url/api/session"
  BENCH_METHOD=POST BENCH_COOKIE=$cookie BENCH_CSRF=$token \
    measure write -s bench/macro/request.lua "$url/api/increment"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}

: >"$tmp/all"
for r in $(seq "$rounds"); do
  one_round | tee -a "$tmp/all" | awk -v r="$r" '{printf "round %d  %-8s %8s req/s  user %6s µs  sys %6s µs per request\n", r, $1, $2, $3, $4}'
done
echo "medians of $rounds rounds ($demo --store $store $DEMO_FLAGS, wrk -t2 -c64 -d${duration}s):"
for kind in healthz read write; do
  awk -v k=$kind '$1 == k' "$tmp/all" | sort -k2 -n | awk -v k=$kind '{r[NR]=$2} END {m=r[int((NR+1)/2)]; printf "%s %s\n", k, m}'
done >"$tmp/rps"
for kind in healthz read write; do
  med() { awk -v k=$kind -v c="$1" '$1 == k {print $c}' "$tmp/all" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
  printf '  %-8s %8s req/s  user %6s µs  sys %6s µs per request\n' "$kind" "$(med 2)" "$(med 3)" "$(med 4)"
done
awk '{v[$1]=$2} END {printf "  read/healthz %.2f×  write/healthz %.2f× (medians of req/s)\n", v["read"] / v["healthz"], v["write"] / v["healthz"]}' "$tmp/rps"
