#!/usr/bin/env bash
# The Express example on sessiond against the same app on connect-redis, in ONE run on this machine
# (issue 18, deliverable 3).
#
# One private redis-server serves both: sessiond stores its sessions there (--store redis://…),
# and connect-redis talks to it directly. bench/express/app.js (Express 5 + express-session, one
# Node process) runs once per store, STORE=sessiond then STORE=connect-redis, and each gets the
# same wrk load (wrk -t2 -cCONNECTIONS, a warm-up, then a timed run):
#   healthz        GET  /healthz                 no session (bare Express)
#   read           GET  /api/session             with a logged-in cookie
#   write          POST /api/increment           count = count + 1 in req.session (read-modify-write)
#   write-atomic   POST /api/increment-atomic    sessiond's atomic increment (sessiond only)
# For each it prints req/s, p50, p99, non-2xx; Redis commands per request (MONITOR over 20
# sequential requests on an idle server: commands sent by clients, and those run inside Lua
# scripts); sessiond calls per request (its /metrics counters over the same 20 requests); and,
# for the two writes, lost increments: CONNECTIONS connections send INCREMENTS increments each to
# ONE fresh session (bench/express/hammer.js, every request awaited), then the counter is read:
# lost = 2xx answers - (counter after - counter before). Target: 0.
#
# Usage: bench/macro/compare-express.sh [--duration 10s] [--warmup 3s] [--connections 64]
#                                       [--increments 50] [--sessiond PATH] [--sessiond-threads 2]
#                                       [--runs 1]
#   --sessiond  the sessiond binary (default build/release/bin/sessiond, which needs
#               `cmake --build build/release --target sessiond`; this script builds nothing).
#   --runs      repeat the whole measurement (the first store alternating) and print the median
#               of each cell; every run's figures go to stderr as they come.
# Needs: wrk, curl, node (>= 18.19) + npm, redis-server, redis-cli. `npm ci` runs in bench/express
# when its node_modules is missing.
# Loopback only; every load is bounded in time or count; on exit it stops exactly the processes
# it started, by pid.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
source bench/macro/servers.sh

duration=10s warmup=3s conns=64 increments=50 sessiond= sessiond_threads=2 runs=1
while (($#)); do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --increments) increments=$2; shift 2 ;;
    --sessiond) sessiond=$2; shift 2 ;;
    --sessiond-threads) sessiond_threads=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare-express.sh: unknown argument $1 (--help)" >&2; exit 2 ;;
  esac
done

for tool in wrk curl node npm redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "compare-express.sh: $tool is missing" >&2; exit 2; }
done
sessiond=${sessiond:-$root/build/release/bin/sessiond}
if [[ ! -x $sessiond ]]; then
  echo "compare-express.sh: no sessiond at $sessiond: build it with" >&2
  echo "  cmake --build build/release --target sessiond   (or pass --sessiond PATH)" >&2
  exit 2
fi
sessiond=$(realpath "$sessiond")
app_dir=$root/bench/express
if [[ ! -d $app_dir/node_modules ]]; then
  (cd "$app_dir" && npm ci --no-audit --no-fund >&2)
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

wait_http() { # url
  for _ in $(seq 200); do curl -s -o /dev/null --max-time 1 "$1" && return 0; sleep 0.05; done
  echo "compare-express.sh: $1 did not answer" >&2; exit 1
}
# The port a server printed as "listening on http://127.0.0.1:PORT" in FILE.
wait_port() { # file pid what
  local port
  for _ in $(seq 200); do
    port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$1" | head -1)
    [[ -n $port ]] && { echo "$port"; return 0; }
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  echo "compare-express.sh: $3 did not start:" >&2; cat "$1" "$1.err" >&2 2>/dev/null || true; exit 1
}

start_redis "$tmp"
pids+=("$redis_pid")
redis-cli -p "$redis_port" ping >/dev/null

api_key=$(head -c 32 /dev/urandom | base64 | tr -d '=+/')
SESSIOND_API_KEY=$api_key "$sessiond" --store "$redis_url" --listen 127.0.0.1:0 \
  --threads "$sessiond_threads" >"$tmp/sessiond" 2>"$tmp/sessiond.err" &
sessiond_pid=$!; pids+=("$sessiond_pid")
sessiond_url=http://127.0.0.1:$(wait_port "$tmp/sessiond" "$sessiond_pid" sessiond)
wait_http "$sessiond_url/healthz"
secret=bench-secret-bench-secret-bench-secret-0123

start_app() { # store; sets app_pid, base
  (cd "$app_dir" && exec env NODE_ENV=production STORE="$1" PORT=0 SESSION_SECRET="$secret" \
    SESSIOND_URL="$sessiond_url" SESSIOND_KEY="$api_key" REDIS_URL="$redis_url" \
    node --preserve-symlinks app.js) >"$tmp/app" 2>"$tmp/app.err" &
  app_pid=$!; pids+=("$app_pid")
  base=http://127.0.0.1:$(wait_port "$tmp/app" "$app_pid" "the app (STORE=$1)")
  wait_http "$base/healthz"
}

# Logs in as alice (a new session); sets cookie (the Cookie header value).
login() {
  local jar=$tmp/jar
  rm -f "$jar"
  curl -s -o /dev/null -c "$jar" -b "$jar" -H 'Content-Type: application/json' \
    -d '{"user":"alice","password":"wonderland"}' "$base/login"
  cookie=$(awk '$6 == "connect.sid" {print $6 "=" $7}' "$jar")
  curl -s -H "Cookie: $cookie" "$base/api/session" | grep -q '"user":"alice"' ||
    { echo "compare-express.sh: login failed on $base" >&2; exit 1; }
}

# sessiond's requests answered so far (all routes but /metrics), from its /metrics.
sessiond_calls() {
  curl -s -H "Authorization: Bearer $api_key" "$sessiond_url/metrics" |
    awk '/^sessiond_requests_total/ && !/metrics/ { n += $NF } END { printf "%d", n }'
}

# Redis commands and sessiond calls per request, over 20 sequential requests on an idle server.
# Prints "client_cmds script_cmds sessiond_calls" (per request).
per_request() { # method path
  local n=20 out=$tmp/monitor calls0 calls1
  # One request first, so that one-time work (a script's first EVAL) is not counted.
  curl -s -o /dev/null --max-time 5 -X "$1" -H "Cookie: $cookie" -H 'Content-Type: application/json' "$base$2"
  stdbuf -oL redis-cli -p "$redis_port" monitor >"$out" 2>&1 &
  local mon=$!
  for _ in $(seq 100); do grep -q OK "$out" 2>/dev/null && break; sleep 0.02; done
  calls0=$(sessiond_calls)
  for _ in $(seq $n); do
    curl -s -o /dev/null --max-time 5 -X "$1" -H "Cookie: $cookie" -H 'Content-Type: application/json' "$base$2"
  done
  calls1=$(sessiond_calls)
  redis-cli -p "$redis_port" echo bench-marker >/dev/null
  for _ in $(seq 100); do grep -q bench-marker "$out" && break; sleep 0.02; done
  stop_pid "$mon"
  local client script
  client=$(grep -v -e 'lua\]' -e '^OK' "$out" | grep -v -i -e '"echo"' -e '"monitor"' -c || true)
  script=$(grep -c 'lua\]' "$out" || true)
  awk -v c="$client" -v s="$script" -v a="$calls0" -v b="$calls1" -v n="$n" \
    'BEGIN { printf "%.3g %.3g %.3g\n", c / n, s / n, (b - a) / n }'
}

# CPU time (user + system) a process has used, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One wrk measurement; prints "rps p50_ms p99_ms non2xx app_cpu_us sessiond_cpu_us" (CPU time
# per request of the app and of sessiond, from /proc around the timed run).
measure() { # method path with_session
  local c="" a0 a1 s0 s1
  [[ $3 == yes ]] && c=$cookie
  BENCH_METHOD=$1 BENCH_COOKIE=$c timeout 60 wrk -t2 -c"$conns" -d"$warmup" \
    -s bench/macro/request.lua "$base$2" >"$tmp/warm" 2>&1
  a0=$(cpu_ticks "$app_pid") s0=$(cpu_ticks "$sessiond_pid")
  BENCH_METHOD=$1 BENCH_COOKIE=$c timeout 120 wrk -t2 -c"$conns" -d"$duration" \
    --latency -s bench/macro/request.lua "$base$2" >"$tmp/wrk" 2>&1
  a1=$(cpu_ticks "$app_pid") s1=$(cpu_ticks "$sessiond_pid")
  sed -n 's/^RESULT requests=\([0-9]*\) rps=\([0-9.]*\) p50_us=\([0-9]*\) p99_us=\([0-9]*\) non2xx=\([0-9]*\) sockerr=\([0-9]*\).*/\1 \2 \3 \4 \5 \6/p' \
    "$tmp/wrk" | awk -v a="$((a1 - a0))" -v s="$((s1 - s0))" -v hz="$(getconf CLK_TCK)" '{
      us = 1e6 / hz / ($1 ? $1 : 1)
      printf "%.0f %.2f %.2f %d %.0f %.0f\n", $2, $3 / 1000, $4 / 1000, $5 + $6, a * us, s * us }'
}

# Lost increments on ONE fresh session; prints "LOST ACKNOWLEDGED" (2xx answers).
lost_increments() { # path
  login
  timeout 300 node "$app_dir/hammer.js" "$base$1" "$cookie" "$conns" "$increments" \
    "$base/api/session" >"$tmp/hammer"
  echo "    hammer $1: $(cat "$tmp/hammer")" >&2
  sed -n 's/.*"ok":\([0-9]*\).*"lost":\(-\{0,1\}[0-9]*\).*/\2 \1/p' "$tmp/hammer" |
    grep . || echo "- -"
}

declare -A result
for run in $(seq "$runs"); do
  # Alternate which store goes first, so that neither always runs on a warmer or a busier machine.
  stores="sessiond connect-redis"
  ((run % 2 == 0)) && stores="connect-redis sessiond"
  echo "run $run of $runs ($stores)" >&2
  for store in $stores; do
    start_app "$store"
    login
    for ep in healthz read write write-atomic; do
      case $ep in
        healthz) m=GET p=/healthz s=no ;;
        read) m=GET p=/api/session s=yes ;;
        write) m=POST p=/api/increment s=yes ;;
        write-atomic) m=POST p=/api/increment-atomic s=yes ;;
      esac
      [[ $ep == write-atomic && $store != sessiond ]] && continue
      # Per-request counts first, on an idle server.
      read -r cmds scmds calls < <(per_request "$m" "$p")
      [[ $store == sessiond ]] || calls=-
      read -r rps p50 p99 non2xx app_us sd_us < <(measure "$m" "$p" "$s")
      [[ $store == sessiond ]] || sd_us=-
      lost="- -"
      if [[ $ep == write* ]]; then
        sleep 1 # let the app finish a backlog
        lost=$(lost_increments "$p")
        login # the next rows use a session of their own
      fi
      result[$run,$store,$ep]="$rps $p50 $p99 $non2xx $cmds $scmds $calls $lost $app_us $sd_us"
      echo "  $store $ep: $rps req/s p50 $p50 ms p99 $p99 ms non-2xx $non2xx CPU µs/req app $app_us sessiond $sd_us" \
        "redis/req $cmds (+$scmds in scripts) sessiond calls/req $calls lost ${lost% *} of ${lost#* }" >&2
    done
    stop_pid "$app_pid"
  done
done

# Field F (1-based) of a cell over all runs: the median ("-" when absent); "max" for the largest.
over_runs() { # store ep field [median|min|max] [printf format]
  local r vals=()
  for r in $(seq "$runs"); do
    [[ -n ${result[$r,$1,$2]:-} ]] && vals+=("$(cut -d' ' -f"$3" <<<"${result[$r,$1,$2]}")")
  done
  printf '%s\n' "${vals[@]}" | awk '$1 != "-" && $1 != ""' | sort -g |
    awk -v how="${4:-median}" -v fmt="${5:-%g}" '
    { v[++n] = $1 }
    END {
      if (!n) { print "-"; exit }
      if (how == "max") x = v[n]
      else if (how == "min") x = v[1]
      else x = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      printf fmt "\n", x
    }'
}
cell_cmds() { # store ep
  local c s
  c=$(over_runs "$1" "$2" 5) s=$(over_runs "$1" "$2" 6)
  if [[ $c == - ]]; then echo -; elif [[ $s == 0 ]]; then echo "$c"; else echo "$c (+$s)"; fi
}
cell_lost() { # store ep
  local lost ok lo hi
  lost=$(over_runs "$1" "$2" 8 median %.0f) ok=$(over_runs "$1" "$2" 9 median %.0f)
  [[ $lost == - ]] && { echo -; return; }
  lo=$(over_runs "$1" "$2" 8 min) hi=$(over_runs "$1" "$2" 8 max)
  awk -v l="$lost" -v o="$ok" -v lo="$lo" -v hi="$hi" -v runs="$runs" 'BEGIN {
    printf "%d of %d (%.1f%%)", l, o, o ? 100 * l / o : 0
    if (runs > 1 && lo != hi) printf ", %d–%d", lo, hi }'
}

echo
echo "Express on sessiond vs connect-redis — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, node $(node --version)"
echo "wrk -t2 -c$conns -d$duration (after $warmup warm-up); lost increments: $conns connections x $increments on one session."
echo "sessiond: $sessiond --threads $sessiond_threads; wrk, redis-server, sessiond and the app share the cores."
((runs > 1)) && echo "Each cell: the median of $runs runs (non-2xx: the largest; lost: the median, then the range)."
echo
echo "| request | sessiond req/s | sessiond p50 / p99 ms | connect-redis req/s | connect-redis p50 / p99 ms | sessiond/connect-redis | non-2xx sessiond / connect-redis | Redis cmds/req sessiond / connect-redis | sessiond calls/req | app CPU µs/req sessiond / connect-redis | sessiond CPU µs/req | lost increments sessiond / connect-redis |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for ep in healthz read write write-atomic; do
  declare -A c=()
  for store in sessiond connect-redis; do
    c[$store,rps]=$(over_runs $store $ep 1 median %.0f)
    c[$store,p50]=$(over_runs $store $ep 2 median %.2f)
    c[$store,p99]=$(over_runs $store $ep 3 median %.2f)
    c[$store,non]=$(over_runs $store $ep 4 max)
  done
  ratio=$(awk -v a="${c[sessiond,rps]}" -v b="${c[connect-redis,rps]}" \
    'BEGIN { if (a != "-" && b != "-" && b > 0) printf "%.2f×", a / b; else print "-" }')
  echo "| $ep | ${c[sessiond,rps]} | ${c[sessiond,p50]} / ${c[sessiond,p99]} |" \
    "${c[connect-redis,rps]} | ${c[connect-redis,p50]} / ${c[connect-redis,p99]} | $ratio |" \
    "${c[sessiond,non]} / ${c[connect-redis,non]} | $(cell_cmds sessiond $ep) / $(cell_cmds connect-redis $ep) |" \
    "$(over_runs sessiond $ep 7) | $(over_runs sessiond $ep 10 median %.0f) / $(over_runs connect-redis $ep 10 median %.0f) |" \
    "$(over_runs sessiond $ep 11 median %.0f) | $(cell_lost sessiond $ep) / $(cell_lost connect-redis $ep) |"
done
echo
echo "Redis cmds/req: commands clients sent (+ those run inside Lua scripts), over 20 requests on an idle server."
echo "sessiond calls/req: the app's calls to sessiond (its /metrics). CPU µs/req: user + system time of the"
echo "process during the timed run, per request answered. Lost increments: acknowledged (2xx)"
echo "increments the counter does not hold, of all acknowledged."
