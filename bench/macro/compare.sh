#!/usr/bin/env bash
# sessionkit-demo against Node peers (express-session; fastify + @fastify/session), in ONE run on
# this machine.
#
# For each store (memory, redis) and each demo thread count (1 = per core, like the one Node
# process; then all cores), drives every server with the same wrk load on the same JSON API:
#   healthz  GET /healthz
#   read     GET /api/session             with a logged-in cookie
#   write    POST /api/increment          with the cookie (and, for the demo, its CSRF header)
# and prints req/s, p50, p99, non-2xx, Redis commands per request (sampled with MONITOR), lost
# increments (64 connections on ONE session) and the demo/peer ratio per row and peer.
#
# Usage: bench/macro/compare.sh [--duration 10s] [--warmup 3s] [--connections 64]
#                               [--stores memory,redis] [--threads "1 N"] [--peer DIR]...
#                               [--demo PATH] [--variant 'NAME=DEMO FLAGS']... [--build NAME=PATH]...
#                               [--runs N]
#   --peer     a peer directory (app.js with the peers' API); repeat for several. Default: both
#              ../shared/bench/peer (express-session) and ../shared/bench/peer-fastify.
#   --demo     another build of the demo (e.g. a worktree at an older commit, for before/after).
#   --variant  the demo once more with extra flags, measured in the same run, e.g.
#              --variant 'io-thread=--redis-io-thread'.
#   --build    another demo binary as one more server, e.g. --build pgo=build/pgo/bin/sessionkit-demo
#              (scripts/build-pgo.sh).
#   --runs     measure everything N times (each run visits every server in turn) and print the
#              medians of req/s, p50 and p99 (non-2xx: the sum; lost increments: the median).
# Needs: the release demo (built if missing), wrk, curl, node + npm, redis-server, redis-cli.
# npm ci is run in a peer directory if its node_modules is missing.
# Loopback only; every load is bounded in time; it stops exactly the processes it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
source bench/macro/servers.sh

duration=10s warmup=3s conns=64 stores=memory,redis threads_list="1 $(nproc)" demo= runs=1
peers=() variants=() builds=()
while (($#)); do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --stores) stores=$2; shift 2 ;;
    --threads) threads_list=$2; shift 2 ;;
    --peer) peers+=("$(realpath "$2")"); shift 2 ;;
    --variant) variants+=("$2"); shift 2 ;;
    --build) builds+=("$2"); shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --demo) demo=$(realpath "$2"); shift 2 ;;
    *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

for tool in wrk curl node npm redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing" >&2; exit 2; }
done
if [[ -n $demo ]]; then
  [[ -x $demo ]] || { echo "compare.sh: --demo $demo is not an executable" >&2; exit 2; }
fi
demo=${demo:-$root/build/release/bin/sessionkit-demo}
if [[ ! -x $demo ]]; then
  scripts/build.sh release --target sessionkit-demo -- -DSESSIONKIT_BUILD_TESTS=OFF >&2
fi
if ((${#peers[@]} == 0)); then
  peers=("$(realpath "$root/../shared/bench/peer")" "$(realpath "$root/../shared/bench/peer-fastify")")
fi
for peer in "${peers[@]}"; do
  [[ -f $peer/app.js ]] || { echo "compare.sh: no peer at $peer (--peer DIR)" >&2; exit 2; }
  [[ -d $peer/node_modules ]] || (cd "$peer" && npm ci --no-audit --no-fund >&2)
done
# The servers of each row: the demo, its variants, the peers (by directory name).
servers=(demo)
declare -A server_flags server_dir server_bin
for v in "${variants[@]}"; do
  servers+=("${v%%=*}")
  server_flags[${v%%=*}]=${v#*=}
done
for b in "${builds[@]}"; do
  [[ -x ${b#*=} ]] || { echo "compare.sh: --build ${b#*=} is not an executable" >&2; exit 2; }
  servers+=("${b%%=*}")
  server_bin[${b%%=*}]=$(realpath "${b#*=}")
done
for peer in "${peers[@]}"; do
  name=$(basename "$peer")
  servers+=("$name")
  server_dir[$name]=$peer
done

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
  echo "compare.sh: $1 did not answer" >&2; exit 1
}

start_redis "$tmp"
pids+=("$redis_pid")
secret=bench-secret-bench-secret-bench-secret-0123

# Starts the demo (a variant) or a peer; sets server_pid and base.
start_server() { # server store threads
  local kind=$1 store=$2 threads=$3 port
  port=$(free_port)
  base=http://127.0.0.1:$port
  if [[ -z ${server_dir[$kind]:-} ]]; then
    local url=memory:// flags
    [[ $store == redis ]] && url=$redis_url
    read -ra flags <<<"${server_flags[$kind]:-}"
    "${server_bin[$kind]:-$demo}" --listen "127.0.0.1:$port" --store "$url" --secret "$secret" --threads "$threads" \
      --mode development "${flags[@]}" >"$tmp/demo.out" 2>"$tmp/demo.err" &
  else
    (cd "${server_dir[$kind]}" && exec env NODE_ENV=production STORE="$store" PORT="$port" REDIS_URL="$redis_url" \
      SESSION_SECRET="$secret" node app.js) >"$tmp/peer.out" 2>&1 &
  fi
  server_pid=$!; pids+=("$server_pid")
  wait_http "$base/healthz"
}

# Logs in as alice; sets cookie (Cookie header value) and csrf.
login() {
  local jar=$tmp/jar body
  rm -f "$jar"
  body=$(curl -s -c "$jar" -b "$jar" "$base/api/session")
  csrf=$(sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p' <<<"$body")
  body=$(curl -s -c "$jar" -b "$jar" -H 'Content-Type: application/json' \
    ${csrf:+-H "X-CSRF-Token: $csrf"} -d '{"username":"alice","password":"wonderland"}' \
    "$base/api/login")
  local fresh
  fresh=$(sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p' <<<"$body")
  [[ -n $fresh ]] && csrf=$fresh
  cookie=$(awk '$6 ~ /^sid/ {printf "%s%s=%s", sep, $6, $7; sep="; "}' "$jar")
  curl -s -H "Cookie: $cookie" "$base/api/session" | grep -q '"authenticated":true' ||
    { echo "compare.sh: login failed on $base" >&2; exit 1; }
}

visits() { curl -s -H "Cookie: $cookie" "$base/api/session" | sed -n 's/.*"visits":\([0-9]*\).*/\1/p'; }

# Redis commands sent by clients per request, from MONITOR over 20 requests (script-internal
# calls are not counted).
redis_per_request() { # method path
  local n=20 out=$tmp/monitor
  stdbuf -oL redis-cli -p "$redis_port" monitor >"$out" 2>&1 &
  local mon=$!
  for _ in $(seq 100); do grep -q OK "$out" 2>/dev/null && break; sleep 0.02; done
  for _ in $(seq $n); do
    curl -s -o /dev/null -X "$1" -H "Cookie: $cookie" ${csrf:+-H "X-CSRF-Token: $csrf"} \
      -H 'Content-Type: application/json' "$base$2"
  done
  redis-cli -p "$redis_port" echo bench-marker >/dev/null
  for _ in $(seq 100); do grep -q bench-marker "$out" && break; sleep 0.02; done
  stop_pid "$mon"
  local sent
  sent=$(grep -v 'lua\]' "$out" | grep -v -i -e '"echo"' -e '"monitor"' -e '^OK' -c || true)
  awk -v s="$sent" -v n="$n" 'BEGIN { printf "%.2g", s / n }'
}

# One wrk measurement; prints "rps p50_ms p99_ms non2xx requests".
measure() { # method path with_session
  local method=$1 path=$2 c="" t=""
  if [[ $3 == yes ]]; then c=$cookie; t=$csrf; fi
  BENCH_METHOD=$method BENCH_COOKIE=$c BENCH_CSRF=$t timeout 60 wrk -t2 -c"$conns" -d"$warmup" \
    -s bench/macro/request.lua "$base$path" >"$tmp/warm" 2>&1
  BENCH_METHOD=$method BENCH_COOKIE=$c BENCH_CSRF=$t timeout 120 wrk -t2 -c"$conns" -d"$duration" \
    --latency -s bench/macro/request.lua "$base$path" >"$tmp/wrk" 2>&1
  local warm_requests
  warm_requests=$(sed -n 's/^RESULT requests=\([0-9]*\).*/\1/p' "$tmp/warm")
  sed -n 's/^RESULT requests=\([0-9]*\) rps=\([0-9.]*\) p50_us=\([0-9]*\) p99_us=\([0-9]*\) non2xx=\([0-9]*\).*/\2 \3 \4 \5 \1/p' "$tmp/wrk" |
    awk -v w="$warm_requests" '{ printf "%.0f %.2f %.2f %d %d\n", $1, $2 / 1000, $3 / 1000, $4, $5 + w }'
}

declare -A result samples
for run in $(seq "$runs"); do
for threads in $threads_list; do
  for store in ${stores//,/ }; do
    for kind in "${servers[@]}"; do
      start_server "$kind" "$store" "$threads"
      login
      for ep in healthz read write; do
        case $ep in
          healthz) m=GET p=/healthz s=no ;;
          read) m=GET p=/api/session s=yes ;;
          write) m=POST p=/api/increment s=yes ;;
        esac
        # Commands per request first, on an idle server (after a wrk run a slow server may
        # still be working through its backlog).
        cmds=-
        if [[ $store == redis && $ep != healthz ]]; then cmds=$(redis_per_request "$m" "$p"); fi
        before=0
        [[ $ep == write ]] && before=$(visits)
        read -r rps p50 p99 non2xx sent < <(measure "$m" "$p" "$s")
        lost=-
        if [[ $ep == write ]]; then
          sleep 1  # let a server with a backlog finish it
          after=$(visits)
          ok=$((sent - non2xx))
          # wrk does not count the requests in flight when it stops, though the server applies
          # them: the applied count may exceed the answered one by up to 2 × connections.
          lost=$(awk -v ok="$ok" -v d="$((after - before))" \
            'BEGIN { l = ok - d; if (l < 0) l = 0; printf "%.1f%%", ok ? 100 * l / ok : 0 }')
        fi
        samples[$threads,$store,$ep,$kind]+="$rps $p50 $p99 $non2xx $cmds ${lost%\%};"
        echo "  run $run: $kind threads=$threads store=$store $ep: $rps req/s p50 ${p50} ms p99 ${p99} ms non-2xx $non2xx redis/req $cmds lost $lost" >&2
      done
      stop_pid "$server_pid"
    done
  done
done
done

# The medians of the runs (non-2xx summed; Redis commands per request from the first run).
for key in "${!samples[@]}"; do
  result[$key]=$(tr ';' '\n' <<<"${samples[$key]}" | awk 'NF {
      n++; for (f = 1; f <= 6; f++) v[f, n] = $f; non += $4
    }
    function median(f,   i, j, t, a) {
      if (v[f, 1] == "-") return "-"
      for (i = 1; i <= n; i++) a[i] = v[f, i] + 0
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
      lost = median(6); if (lost != "-") lost = sprintf("%.1f%%", lost)
      printf "%.0f %.2f %.2f %d %s %s\n", median(1), median(2), median(3), non, v[5, 1], lost
    }')
done

echo
echo "sessionkit-demo (and ${#variants[@]} variant(s), ${#builds[@]} other build(s)) vs ${peers[*]##*/} — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores,"
echo "wrk -t2 -c$conns -d$duration (after $warmup warm-up); wrk, servers and redis share the cores;"
echo "medians of $runs run(s)."
echo "demo: $demo"
for v in "${variants[@]}"; do echo "variant ${v%%=*}: demo ${v#*=}"; done
for b in "${builds[@]}"; do echo "build ${b%%=*}: ${server_bin[${b%%=*}]}"; done
for threads in $threads_list; do
  echo
  echo "### demo --threads $threads (each peer is one Node process)"
  echo
  # Per server: req/s and p50 / p99; per peer also demo/peer; then the checks of every server.
  head="| store | request |" rule="| --- | --- |"
  for kind in "${servers[@]}"; do
    head+=" $kind req/s | $kind p50 / p99 ms |"
    rule+=" ---: | ---: |"
    if [[ -n ${server_dir[$kind]:-} ]]; then head+=" demo/$kind |"; rule+=" ---: |"; fi
  done
  head+=" non-2xx | Redis cmds/req | lost increments |"
  rule+=" ---: | ---: | ---: |"
  echo "$head"
  echo "$rule"
  for store in ${stores//,/ }; do
    for ep in healthz read write; do
      read -r drps _ <<<"${result[$threads,$store,$ep,demo]}"
      line="| $store | $ep |" non="" cmds="" lost=""
      for kind in "${servers[@]}"; do
        read -r rps p50 p99 n c l <<<"${result[$threads,$store,$ep,$kind]}"
        line+=" $rps | $p50 / $p99 |"
        if [[ -n ${server_dir[$kind]:-} ]]; then
          line+=" $(awk -v a="$drps" -v b="$rps" 'BEGIN { printf "%.2f×", b ? a / b : 0 }') |"
        fi
        non+="${non:+ / }$n" cmds+="${cmds:+ / }$c" lost+="${lost:+ / }$l"
      done
      echo "$line $non | $cmds | $lost |"
    done
  done
  echo
  echo "(non-2xx, Redis cmds/req and lost increments: ${servers[*]}, in that order)"
done
