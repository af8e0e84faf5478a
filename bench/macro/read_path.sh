#!/usr/bin/env bash
# Read-path load test: starts the release demo once per store, logs in as alice, and runs
#   wrk -t2 -c64 -d10s  GET /api/session  with the session cookie
# against it. Loopback only; stops only the processes it started.
# Usage: bench/macro/read_path.sh [STORE_URL ...]
#   (default: memory://, a temp sqlite file, and "redis" when redis-server is installed)
#   The word "redis" starts a private redis-server on a free loopback port for that run,
#   "postgres" a private PostgreSQL server (as user nobody when run as root).
# Needs: the release build (scripts/build.sh release), wrk and curl.
set -euo pipefail
cd "$(dirname "$0")/../.."
demo=build/release/bin/sessionkit-demo
[[ -x $demo ]] || { echo "build the release preset first: scripts/build.sh release" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
source bench/macro/servers.sh
source bench/macro/demo_session.sh
tmp=$(mktemp -d)
pid=
cleanup() {
  stop_postgres
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  stop_redis
  rm -rf "$tmp"
}
trap cleanup EXIT
stores=("$@")
if ((${#stores[@]} == 0)); then
  stores=(memory:// "sqlite://$tmp/sessions.db")
  command -v redis-server >/dev/null && stores+=(redis)
  [[ -n $pg_bin ]] && stores+=(postgres)
fi
threads=${THREADS:-$(nproc)}
for store in "${stores[@]}"; do
  if [[ $store == redis ]]; then start_redis "$tmp"; store=$redis_url; fi
  if [[ $store == postgres ]]; then start_postgres "$tmp"; store=$pg_url; fi
  "$demo" --listen 127.0.0.1:0 --store "$store" --secret "$demo_secret" --threads "$threads" \
    >"$tmp/demo.out" 2>"$tmp/demo.err" &
  pid=$!
  url=$(demo_url "$tmp/demo.out")
  demo_sign_in "$url" "$tmp/jar" || exit 1  # sets cookie
  echo "== store $store, demo --threads $threads: GET /api/session with a logged-in cookie"
  wrk -t2 -c64 -d3s -H "Cookie: $cookie" "$url/api/session" >/dev/null  # warm-up
  wrk -t2 -c64 -d10s --latency -H "Cookie: $cookie" "$url/api/session"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  stop_redis
  stop_postgres
done
