#!/usr/bin/env bash
# Soak test: the release demo under a mixed, bounded load for a long time, per store; checks
# that nothing fails and that the demo's memory stays flat. Not run in CI (30+ minutes).
#
# For each store (memory, a temp SQLite file, a private redis-server on a free loopback port):
#   1. starts sessionkit-demo (release build, --threads 2, idle timeout 10 s, janitor every 5 s,
#      no anonymous-session rate limit: all the soak's browsers share 127.0.0.1);
#   2. warms up for --warmup seconds with the mix, so that the live-session population reaches
#      its steady state, then takes the start RSS (glibc's arenas may grow for 10-15 minutes
#      more: see "heap in use" below);
#   3. runs --minutes rounds of one minute each (wrk -t32 -c32, bench/soak/mix.lua) and, after
#      each, reads VmRSS from /proc/PID/status and the live-session count from /metrics;
#   4. stops the demo (SIGTERM) and expects exit status 0.
# The mix (bench/soak/mix.lua): 32 browsers, each waiting 32 ms (mean) between an answer and
# its next request, so at most ~1,000 requests/s are offered, a few per cent of what the demo
# serves on this VM: latencies then measure the server, not a queue in front of a saturated
# machine. Journeys: anonymous visits that create a session (GET /api/session, POST
# /api/increment), reads, writes, CSRF-protected form posts, logins (regenerate), signed-in
# reads/writes/session lists/pages, logouts; a share of the browsers leave without logging out
# and their sessions expire. The live-session count stays flat: at most one session per
# browser in use, plus the abandoned ones of the last idle timeout + janitor interval.
#
# Reports per store and minute: requests, errors, p50/p99/max latency, logins, RSS (and its
# anonymous part, RssAnon: the heap and stacks, not the binary's and libraries' pages), live
# sessions, and the longest machine stall (the largest delay of a 100 ms tick loop: when the
# whole VM pauses, wrk and the demo stop together, and the errors that follow are not the
# demo's); then a table per store (requests, errors, RSS start/end and change, worst-minute
# p99, ...).
# Errors = answers the mix does not expect (status, visit count, signed-in state, cookies; every
# status is checked, so wrk's non-2xx count is included) + socket errors + answers later than
# --timeout + requests left unanswered for longer than it when a round ends.
# Live sessions are checked against the bound the mix implies: browsers whose journey a round
# cut short + the journeys left without a logout in the last idle timeout + janitor interval +
# 5 s, at the round's rate (Redis: + 15 s, its count is cached). A count above it means sessions
# outlive their idle timeout, and a flat RSS would then prove nothing.
# Heap in use: with gdb on the machine, malloc_stats() is called in the demo after the warm-up
# and at the end, when no load runs (the demo stops for about a second). RSS that grows while
# the heap in use stays flat is the allocator keeping freed memory, not live data. The check
# itself stays on VmRSS.
# Exit status: 0 when every store had no error, a clean shutdown, live sessions within their
# bound and RSS growth within --max-rss-growth (5%); 1 otherwise; 2 for bad arguments or a
# missing tool.
#
# Usage: bench/soak.sh [--minutes 10] [--warmup 60] [--stores memory,sqlite,redis]
#                      [--connections 32] [--think-ms 32] [--interval 60] [--timeout 5]
#                      [--max-rss-growth 5] [--demo PATH | --commit REV] [--keep DIR]
#   --interval: seconds per round ("minute"); shorter only to try the script out
#   --commit: soak the demo of commit REV, built from a snapshot of it (git archive into
#             build/h-soak-<sha>/, release preset, -j2) instead of the work tree
#   --keep: copy the demo's logs and wrk's outputs there
# Needs: wrk (with LuaJIT: the script's login uses its FFI), curl, redis-server (for redis);
# gdb is optional (the heap-in-use figures).
# The demo is built if missing: cmake --preset release -B build/h-soak, target sessionkit-demo.
# In a work tree that others are editing, prefer --commit: a build that runs while headers
# change can link objects compiled against two versions of a struct (it happened once: every
# session that got a second write kept its absolute deadline as idle deadline, and the live
# sessions grew every round).
# Loopback only; stops exactly the processes it started, by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source bench/macro/servers.sh

minutes=10 warmup=60 stores=memory,sqlite,redis conns=32 think_ms=32 interval=60 timeout_s=5
max_growth=5 keep="" demo=$root/build/h-soak/bin/sessionkit-demo commit="" demo_given=""
idle_timeout=10 janitor=5 demo_threads=2
signed_in_percent=2 signed_in_steps=300 leave_percent=50
while (($#)); do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --stores) stores=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --think-ms) think_ms=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --max-rss-growth) max_growth=$2; shift 2 ;;
    --demo) demo=$2; demo_given=1; shift 2 ;;
    --commit) commit=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "soak.sh: $tool is missing" >&2; exit 2; }
done
if [[ ,$stores, == *,redis,* ]]; then
  command -v redis-server >/dev/null || { echo "soak.sh: redis-server is missing" >&2; exit 2; }
fi
if [[ -n $commit ]]; then
  sha=$(git rev-parse --verify --short=12 "$commit^{commit}") ||
    { echo "soak.sh: no commit $commit" >&2; exit 2; }
  snap=$root/build/h-soak-$sha
  if [[ ! -f $snap/CMakeLists.txt ]]; then
    mkdir -p "$snap"
    git archive "$sha" | tar -x -C "$snap"
  fi
  demo=$snap/build/h-soak/bin/sessionkit-demo
  if [[ ! -x $demo ]]; then
    (cd "$snap" && cmake --preset release -B build/h-soak -DSESSIONKIT_BUILD_TESTS=OFF &&
      cmake --build build/h-soak --target sessionkit-demo -j2) >&2
  fi
elif [[ ! -x $demo ]]; then
  cmake --preset release -B build/h-soak -DSESSIONKIT_BUILD_TESTS=OFF >&2
  cmake --build build/h-soak --target sessionkit-demo -j2 >&2
fi

tmp=$(mktemp -d)
demo_pid="" wrk_pid="" meter_pid="" redis_pid=""  # redis_pid: set by start_redis, read by stop_redis
stop_pid() { # pid: SIGTERM, wait (only for our own children)
  if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then kill "$1" 2>/dev/null || true; fi
  wait "$1" 2>/dev/null || true
}
cleanup() {
  [[ -n $wrk_pid ]] && stop_pid "$wrk_pid"
  [[ -n $meter_pid ]] && stop_pid "$meter_pid"
  [[ -n $demo_pid ]] && stop_pid "$demo_pid"
  stop_redis
  if [[ -n $keep ]]; then mkdir -p "$keep"; cp -r "$tmp"/. "$keep"/ 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

secret_file=$tmp/secret
(umask 077 && echo soak-secret-soak-secret-soak-secret-0123456 >"$secret_file")
mix=$root/bench/soak/mix.lua

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$demo_pid/status"; }
anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$demo_pid/status"; }
# The RSS between two rounds: wrk has stopped (its side-channel logins are synchronous, so no
# argon2id buffer of 64 MiB is mapped any more once the last answer is in); the minimum of 3
# readings 0.5 s apart, 1 s after the load stopped.
quiet_rss_kb() {
  sleep 1
  local a b c
  a=$(rss_kb); sleep 0.5; b=$(rss_kb); sleep 0.5; c=$(rss_kb)
  printf '%s\n' "$a" "$b" "$c" | sort -n | head -1
}
# A hiccup meter: until stopped, writes to FILE the longest delay (ms) beyond a 100 ms tick.
# A stall of the whole machine (e.g. the VM paused for a snapshot) shows here: it stops wrk
# and the demo alike, and is no fault of the demo.
hiccup_meter() { # file
  local prev now late max=0
  echo 0 >"$1"
  prev=${EPOCHREALTIME/./}
  while sleep 0.1; do
    now=${EPOCHREALTIME/./}
    late=$(((now - prev) / 1000 - 100))
    if ((late > max)); then max=$late; echo "$max" >"$1"; fi
    prev=$now
  done
}

# glibc's heap in use in kB: malloc_stats() called in the demo through gdb, which prints to the
# demo's stderr; the "in use bytes" of its last "Total (incl. mmap)" block. "-" without gdb or
# when it may not attach. Only between rounds: the demo stops while gdb is attached.
heap_in_use_kb() {
  command -v gdb >/dev/null || { echo -; return; }
  local blocks
  blocks=$(grep -c '^Total (incl. mmap):' "$log/demo.err" || true)
  timeout 60 gdb -p "$demo_pid" -batch -nx -ex 'call (void)malloc_stats()' -ex detach \
    >/dev/null 2>&1 || { echo -; return; }
  sleep 0.2
  awk -v before="$blocks" '/^Total \(incl\. mmap\):/ { total = 1; n++; next }
       total && /^in use bytes/ { v = $NF; total = 0 }
       END { if (n <= before || v == "") print "-"; else printf "%d\n", v / 1024 }' "$log/demo.err"
}

live_sessions() {
  curl -s --max-time 5 "$base/metrics" | awk '/^sessionkit_sessions_active / {print $2}'
}

# One round of the mix for SECONDS; leaves wrk's output in FILE.
run_mix() { # seconds file
  hiccup_meter "$2.hiccup" &
  meter_pid=$!
  SOAK_THINK_MS=$think_ms SOAK_SIGNED_IN_PERCENT=$signed_in_percent \
    SOAK_SIGNED_IN_STEPS=$signed_in_steps SOAK_LEAVE_PERCENT=$leave_percent SOAK_STALL_S=$timeout_s \
    timeout $(($1 + 120)) wrk -t"$conns" -c"$conns" -d"$1s" --timeout "${timeout_s}s" -s "$mix" \
    "$base/" >"$2" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || true
  wrk_pid=""
  stop_pid "$meter_pid"
  meter_pid=""
}

# field NAME FILE: a value of the RESULT line.
field() { sed -n "s/^RESULT.* $1=\([0-9.]*\).*/\1/p" "$2" | head -1; }
# errors FILE: what the mix did not expect, socket errors, late and unanswered requests.
round_errors() {
  if ! grep -q '^RESULT' "$1"; then echo 1; return; fi  # wrk failed: counts as an error
  echo $(( $(field unexpected "$1") + $(field sockerr "$1") + $(field timeouts "$1") + $(field stalled "$1") ))
}

# bound FILE: the most live sessions the round in FILE can leave (see the top of the file).
live_bound() {
  local left seconds slack=$((idle_timeout + janitor + 5))
  [[ $store == redis ]] && slack=$((slack + 15))
  left=$(field left "$1") seconds=$(field seconds "$1")
  awk -v c="$conns" -v l="${left:-0}" -v s="${seconds:-1}" -v w="$slack" \
    'BEGIN { printf "%d\n", 2 * c + (s > 0 ? l / s : 0) * w + 0.999 }'
}

declare -A summary
failed=0
if [[ -n $commit ]]; then
  built_from="a snapshot of commit $sha"
elif [[ -n $demo_given ]]; then
  built_from="given with --demo"
else
  built_from="the work tree (HEAD now $(git rev-parse --short=12 HEAD)$(git diff --quiet HEAD 2>/dev/null || echo ', with uncommitted changes'))"
fi
echo "sessionkit soak: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "demo built from: $built_from"
echo "demo: $demo (built $(date -u -r "$demo" +%Y-%m-%dT%H:%M:%SZ); --threads $demo_threads, --idle-timeout $idle_timeout, --janitor-interval $janitor, --anonymous-session-burst 0)"
echo "load: wrk -t$conns -c$conns, think time ${think_ms} ms (at most ~$((conns * 1000 / think_ms)) req/s offered), $signed_in_percent% signed-in journeys of $signed_in_steps requests; warm-up ${warmup}s, then $minutes rounds of ${interval}s per store"

for store in ${stores//,/ }; do
  case $store in
    memory) url=memory:// ;;
    sqlite) url=sqlite://$tmp/sqlite/sessions.db ;;
    redis) start_redis "$tmp"; url=$redis_url ;;
    *) echo "soak.sh: unknown store $store" >&2; exit 2 ;;
  esac
  log=$tmp/$store
  mkdir -p "$log"
  "$demo" --listen 127.0.0.1:0 --store "$url" --secret-file "$secret_file" --mode development \
    --threads "$demo_threads" --idle-timeout "$idle_timeout" --absolute-timeout 600 \
    --janitor-interval "$janitor" --anonymous-session-burst 0 \
    >"$log/demo.out" 2>"$log/demo.err" &
  demo_pid=$!
  port=""
  for _ in $(seq 200); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log/demo.out")
    [[ -n $port ]] && break
    kill -0 "$demo_pid" 2>/dev/null || break
    sleep 0.05
  done
  [[ -n $port ]] || { echo "soak.sh: the demo did not start ($store):" >&2; cat "$log/demo.err" >&2; exit 1; }
  base=http://127.0.0.1:$port
  echo
  echo "== $store ($url), demo pid $demo_pid, load average $(cut -d' ' -f1-3 /proc/loadavg)"

  run_mix "$warmup" "$log/warmup.txt"
  warm_errors=$(round_errors "$log/warmup.txt")
  rss0=$(quiet_rss_kb) anon0=$(anon_kb) live0=$(live_sessions) heap0=$(heap_in_use_kb)
  bound=$(live_bound "$log/warmup.txt") over_bound=0
  [[ -n $live0 ]] && ((live0 <= bound)) || over_bound=$((over_bound + 1))
  echo "warm-up ${warmup}s: $(field requests "$log/warmup.txt") requests, $warm_errors errors; RSS $rss0 kB (anonymous $anon0 kB, heap in use $heap0 kB), $live0 live sessions (bound $bound); longest machine stall $(cat "$log/warmup.txt.hiccup") ms"
  grep '^UNEXPECTED' "$log/warmup.txt" | head -5 || true

  printf '| minute | requests | req/s | errors | p50 ms | p99 ms | max ms | logins | login p99 ms | RSS kB (anonymous) | live sessions (bound) | machine stall ms |\n'
  printf '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
  total=0 errors=$warm_errors worst_p99=0 rss=$rss0 anon=$anon0 live=$live0 done_minutes=0
  worst_stall=$(cat "$log/warmup.txt.hiccup")
  for m in $(seq "$minutes"); do
    out=$log/minute-$m.txt
    run_mix "$interval" "$out"
    e=$(round_errors "$out")
    if ! kill -0 "$demo_pid" 2>/dev/null; then
      echo "soak.sh: the demo ($store) exited during minute $m:" >&2; tail -20 "$log/demo.err" >&2
      errors=$((errors + e + 1)); break
    fi
    rss=$(quiet_rss_kb) anon=$(anon_kb) live=$(live_sessions)
    bound=$(live_bound "$out")
    [[ -n $live ]] && ((live <= bound)) || over_bound=$((over_bound + 1))
    req=$(field requests "$out"); req=${req:-0}
    p99=$(field p99_us "$out"); p99=${p99:-0}
    total=$((total + req)) errors=$((errors + e)) done_minutes=$m
    ((p99 > worst_p99)) && worst_p99=$p99
    h=$(cat "$out.hiccup"); ((h > worst_stall)) && worst_stall=$h
    awk -v m="$m" -v r="$req" -v s="$(field seconds "$out")" -v e="$e" -v p50="$(field p50_us "$out")" \
      -v p99="$p99" -v mx="$(field max_us "$out")" -v l="$(field login "$out")" \
      -v lp="$(field login_p99_us "$out")" -v rss="$rss" -v live="$live" -v b="$bound" \
      -v h="$(cat "$out.hiccup")" -v an="$anon" 'BEGIN {
        printf "| %d | %d | %.0f | %d | %.2f | %.2f | %.1f | %d | %.0f | %d (%d) | %s (%d) | %d |\n",
          m, r, (s > 0 ? r / s : 0), e, p50 / 1000, p99 / 1000, mx / 1000, l, lp / 1000, rss, an,
          live, b, h }'
    grep '^UNEXPECTED' "$out" | head -5 || true
  done

  heap=-
  kill -0 "$demo_pid" 2>/dev/null && heap=$(heap_in_use_kb)
  # Stop the demo; a clean shutdown exits 0.
  kill "$demo_pid" 2>/dev/null || true
  status=0; wait "$demo_pid" || status=$?
  demo_pid=""
  extra=""
  case $store in
    sqlite) extra="; SQLite files $(du -ck "$tmp"/sqlite/sessions.db* 2>/dev/null | tail -1 | cut -f1) kB" ;;
    redis)
      extra="; redis-server $(redis-cli -p "$redis_port" dbsize 2>/dev/null) keys, used_memory $(redis-cli -p "$redis_port" info memory 2>/dev/null | sed -n 's/^used_memory_human:\(.*\)\r$/\1/p')"
      stop_redis ;;
  esac
  growth=$(awk -v a="$rss0" -v b="$rss" 'BEGIN { printf "%+.1f", a ? 100 * (b - a) / a : 0 }')
  echo "$store: exit status $status; log lines: $(awk '$2 == "warning"' "$log/demo.err" | wc -l) warnings, $(awk '$2 == "error" || $2 == "critical"' "$log/demo.err" | wc -l) errors$extra"
  awk '$2 == "error" || $2 == "critical"' "$log/demo.err" | head -5
  reasons=()
  ((errors == 0)) || reasons+=("$errors errors")
  ((over_bound == 0)) || reasons+=("live sessions over their bound after $over_bound of $((done_minutes + 1)) rounds")
  if awk -v g="$growth" -v l="$max_growth" 'BEGIN { exit !(g > l) }'; then reasons+=("RSS grew $growth%"); fi
  ((status == 0)) || reasons+=("demo exit status $status")
  ((done_minutes == minutes)) || reasons+=("stopped after $done_minutes minutes")
  verdict=ok
  if ((${#reasons[@]})); then
    verdict="FAIL: ${reasons[0]}"
    for r in "${reasons[@]:1}"; do verdict+="; $r"; done
  fi
  [[ $verdict == ok ]] || failed=1
  summary[$store]="| $store | $done_minutes | $total | $errors | $rss0 | $rss | $growth% | $anon0 → $anon | $heap0 → $heap | $(awk -v p="$worst_p99" 'BEGIN { printf "%.2f", p / 1000 }') | $live0 / $live | $worst_stall | $verdict |"
done

echo
echo "Soak summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg)); errors include the warm-up, RSS is VmRSS after the warm-up and after the last minute:"
echo
echo "| store | minutes | requests | errors | RSS start kB | RSS end kB | RSS change | anonymous kB start → end | heap in use kB start → end | worst-minute p99 ms | live sessions start / end | longest machine stall ms | result |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
for store in ${stores//,/ }; do echo "${summary[$store]}"; done
exit "$failed"
