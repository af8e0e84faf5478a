#!/usr/bin/env bash
# Memory store at scale, on the release demo: bytes per session, and read latency while a
# million sessions expire.
#
#   1. Footprint: the demo (memory store) gets N new sessions (default 1,000,000), one per
#      POST /api/increment without a session cookie (wrk, bench/macro/create.lua). Bytes per
#      session = VmRSS growth / sessions added; "beyond the payload" subtracts the payload
#      ({"visits":1}, 12 bytes).
#   2. Expiry under reads: a signed-in user reads GET /api/session with wrk -t2 -c64, first while
#      nothing expires (idle p99), then while the N sessions reach their deadline and the
#      janitor deletes them (every 5 s, in batches of 1,000, yielding between batches).
#      Prints both p99s and their ratio, and the session count and RSS afterwards.
#
# Usage: bench/macro/memory.sh [--sessions N] [--threads T] [--timeout SECONDS]
#   --threads: demo I/O threads (default 1: the janitor shares the one thread with the reads)
#   --timeout: the sessions' idle timeout (absolute: 3x); at least twice the creation time plus
#              the idle measurement (default 180)
# Needs: the release demo (built if missing), wrk, curl. Loopback only; stops what it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
source bench/macro/servers.sh

sessions=1000000 threads=1 timeout_s=180 measure=10
while (($#)); do
  case $1 in
    --sessions) sessions=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    *) echo "memory.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "memory.sh: $tool is missing" >&2; exit 2; }
done
demo=$root/build/release/bin/sessionkit-demo
if [[ ! -x $demo ]]; then
  scripts/build.sh release --target sessionkit-demo -- -DSESSIONKIT_BUILD_TESTS=OFF >&2
fi

tmp=$(mktemp -d)
demo_pid= wrk_pid=
cleanup() {
  if [[ -n $wrk_pid ]] && kill -0 "$wrk_pid" 2>/dev/null; then kill "$wrk_pid" 2>/dev/null || true; fi
  if [[ -n $demo_pid ]] && kill -0 "$demo_pid" 2>/dev/null; then
    kill "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(free_port)
base=http://127.0.0.1:$port
"$demo" --listen "127.0.0.1:$port" --store memory:// --threads "$threads" --mode development \
  --secret bench-secret-bench-secret-bench-secret-0123 --idle-timeout "$timeout_s" \
  --absolute-timeout $((3 * timeout_s)) --janitor-interval 5 >"$tmp/demo.out" 2>"$tmp/demo.err" &
demo_pid=$!
for _ in $(seq 200); do curl -s -o /dev/null --max-time 1 "$base/healthz" && break; sleep 0.05; done

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$demo_pid/status"; }
active() { curl -s "$base/metrics" | awk '/^sessionkit_sessions_active / {print $2}'; }
created() { curl -s "$base/metrics" | awk '/^sessionkit_sessions_created_total / {print $2}'; }
token_of() { sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p'; }

# ---- 1. footprint ----
jar=$tmp/jar
csrf=$(curl -s -c "$jar" -b "$jar" "$base/api/session" | token_of)
precookie=$(awk '$6 ~ /-csrf$/ {print $6 "=" $7}' "$jar")
[[ -n $csrf && -n $precookie ]] || { echo "memory.sh: no pre-session CSRF cookie" >&2; exit 1; }
rss0=$(rss_kb) count0=$(active)
start=$(date +%s.%N)
# wrk runs until its duration ends even when its threads stopped: watch the count, then SIGINT
# it (it then prints its summary).
created0=$(created)
BENCH_COOKIE=$precookie BENCH_CSRF=$csrf BENCH_PER_THREAD=$((sessions / 2)) \
  wrk -t2 -c64 -d1800s -s bench/macro/create.lua "$base/api/increment" >"$tmp/create" 2>&1 &
wrk_pid=$!
deadline=$((SECONDS + 1800))
while (( $(created) - created0 < sessions - sessions / 1000 )) && ((SECONDS < deadline)) &&
  kill -0 "$wrk_pid" 2>/dev/null; do
  sleep 0.5
done
created_at=$(date +%s.%N)
sleep 1
kill -INT "$wrk_pid" 2>/dev/null || true
wait "$wrk_pid" || true
wrk_pid=
grep -q '^RESULT' "$tmp/create" || { cat "$tmp/create" >&2; exit 1; }
rss1=$(rss_kb) count1=$(active)
added=$((count1 - count0))
create_s=$(awk -v a="$start" -v b="$created_at" 'BEGIN { printf "%.1f", b - a }')
per_session=$(awk -v r0="$rss0" -v r1="$rss1" -v n="$added" 'BEGIN { printf "%.0f", (r1 - r0) * 1024 / n }')
payload=12
echo "footprint: $added sessions in ${create_s}s ($(awk -v n="$added" -v t="$create_s" 'BEGIN { printf "%.0f", n / t }') sessions/s; $(sed -n 's/.*non2xx=\([0-9]*\).*/\1/p' "$tmp/create") non-2xx)"
echo "footprint: VmRSS ${rss0} kB -> ${rss1} kB = ${per_session} B/session, $((per_session - payload)) B beyond the ${payload}-byte payload ({\"visits\":1} as JSON)"

# ---- 2. reads while the sessions expire ----
rm -f "$jar"
csrf=$(curl -s -c "$jar" -b "$jar" "$base/api/session" | token_of)
curl -s -o /dev/null -c "$jar" -b "$jar" -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
  -d '{"username":"alice","password":"wonderland"}' "$base/api/login"
cookie=$(awk '$6 == "sid" {print $6 "=" $7}' "$jar")
curl -s -H "Cookie: $cookie" "$base/api/session" | grep -q '"authenticated":true' ||
  { echo "memory.sh: login failed" >&2; exit 1; }

read_p99() { # seconds -> "rps p99_ms"
  BENCH_METHOD=GET BENCH_COOKIE=$cookie BENCH_CSRF= timeout $(( $1 + 60 )) wrk -t2 -c64 -d"$1s" \
    --latency -s bench/macro/request.lua "$base/api/session" >"$tmp/read" 2>&1
  sed -n 's/^RESULT requests=[0-9]* rps=\([0-9.]*\) p50_us=[0-9]* p99_us=\([0-9]*\) non2xx=\([0-9]*\).*/\1 \2 \3/p' "$tmp/read" |
    awk '{ printf "%.0f %.2f %d\n", $1, $2 / 1000, $3 }'
}
first_expiry=$(awk -v s="$start" -v t="$timeout_s" 'BEGIN { printf "%.0f", s + t }')
# The reader's session must be touched (idle/2 after login) before the window ends, and the
# idle measurement must end before the first session expires.
if awk -v c="$create_s" -v t="$timeout_s" -v m="$measure" 'BEGIN { exit !(2 * c + m + 5 > t) }'; then
  echo "memory.sh: creation took ${create_s}s, too long for --timeout $timeout_s (raise it)" >&2
  exit 1
fi
read -r idle_rps idle_p99 idle_bad < <(read_p99 "$measure")
echo "reads, nothing expiring: $idle_rps req/s, p99 ${idle_p99} ms, non-2xx $idle_bad"

sleep $((first_expiry - $(date +%s) > 0 ? first_expiry - $(date +%s) : 0))
# Sessions expire over the creation window; the janitor runs every 5 s after that.
window=$(awk -v c="$create_s" 'BEGIN { printf "%.0f", c + 8 }')
read -r exp_rps exp_p99 exp_bad < <(read_p99 "$window")
echo "reads while $added sessions expire (${window}s): $exp_rps req/s, p99 ${exp_p99} ms, non-2xx $exp_bad"
curl -s -H "Cookie: $cookie" "$base/api/session" | grep -q '"authenticated":true' ||
  { echo "memory.sh: the reader's session ended during the measurement" >&2; exit 1; }
sleep 6
echo "after expiry: sessions held $(active), VmRSS $(rss_kb) kB; janitor: $(grep -c 'janitor: purged' "$tmp/demo.err") sweeps purged $(sed -n 's/.*janitor: purged \([0-9]*\).*/\1/p' "$tmp/demo.err" | awk '{ s += $1 } END { print s + 0 }')"
awk -v a="$idle_p99" -v b="$exp_p99" 'BEGIN { printf "p99 ratio (expiring / idle): %.2f (target <= 2)\n", b / a }'
