#!/usr/bin/env bash
# sessionctl at scale (issue 16): how long `import`, `stats`, `migrate` and `export` take for N
# sessions (default 1,000,000), and that a migration loses and duplicates nothing. Builds the
# release preset's sessionctl, writes an export of N generated sessions (60% bound to one of
# N/10 users, a 150-250 byte payload each, deadlines spread over the next 12 h), imports it into
# a SQLite file (?synchronous=normal: no fsync per session), then migrates SQLite to a private Redis and to a private PostgreSQL
# (bench/macro/servers.sh), the PostgreSQL one killed with SIGKILL at about a third and resumed
# from its cursor file. After each migration both stores are exported and their session lines
# compared sorted (one line per record, the same bytes for the same record: a checksum per
# record). Prints one table of timings.
# Usage: bench/migrate.sh [N]      Needs: redis-server and PostgreSQL (install-deps --test).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/macro/servers.sh
source bench/macro/servers.sh
n=${1:-1000000}
cmake --preset release -DSESSIONKIT_BUILD_TESTS=OFF >/dev/null
cmake --build --preset release -j "$(nproc)" --target sessionctl >/dev/null
ctl=build/release/bin/sessionctl
dir=$(mktemp -d)
trap 'stop_redis; stop_postgres; rm -rf "$dir"' EXIT
start_redis "$dir"
start_postgres "$dir"
sqlite="sqlite://$dir/sessions.db"
# The bulk load without an fsync per session (the migrations read it).
sqlite_load="$sqlite?synchronous=normal"

rows=()
row() { # WHAT START END: a table row with the time and the rate
  awk -v w="$1" -v a="$2" -v b="$3" -v n="$n" \
    'BEGIN { printf "| %s | %.1f s | %d/s |", w, b - a, n / (b - a) }'
}
# Runs a step, timed; `what` names it in the table. The command's stdout goes to $dir/out.
step() { # WHAT COMMAND...
  local what=$1 start end
  shift
  start=$(date +%s.%N)
  "$@" >"$dir/out"
  end=$(date +%s.%N)
  rows+=("$(row "$what" "$start" "$end")")
  echo "${rows[-1]}" >&2
}
# The session lines of an export of URL, sorted (the checksum input).
sorted_export() { # URL FILE
  "$ctl" --store "$1" export --progress never -o "$2.raw" >/dev/null 2>&1
  sed '1d;$d' "$2.raw" | LC_ALL=C sort >"$2"
  rm -f "$2.raw"
}
same_sessions() { # URL-A URL-B LABEL
  sorted_export "$1" "$dir/a.sorted"
  sorted_export "$2" "$dir/b.sorted"
  local a b
  a=$(sha256sum <"$dir/a.sorted" | cut -c1-16)
  b=$(sha256sum <"$dir/b.sorted" | cut -c1-16)
  echo "$3: $(wc -l <"$dir/a.sorted") sessions in the source, $(wc -l <"$dir/b.sorted") in the" \
    "target; sha256 of the sorted records $a / $b" >&2
  [[ $a == "$b" ]] || { echo "$3: the stores differ" >&2; exit 1; }
}

echo "generating $n sessions" >&2
python3 - "$n" >"$dir/gen.jsonl" <<'PY'
import json, os, random, sys, time
n = int(sys.argv[1]); rnd = random.Random(16); now = int(time.time() * 1000)
out = sys.stdout
out.write(json.dumps({"sessionkit_export": 1, "store": "generated"}) + "\n")
for i in range(n):
    created = now - rnd.randrange(0, 3_600_000)
    rec = {"v": 1, "created": created, "access": created,
           "expires": now + rnd.randrange(600_000, 43_200_000), "absolute": created + 43_200_000,
           "data": {"visits": rnd.randrange(1, 500), "theme": rnd.choice(["dark", "light"]),
                    "cart": [{"sku": "SKU-%d" % rnd.randrange(10000), "qty": rnd.randrange(1, 4)}
                             for _ in range(rnd.randrange(1, 4))]}}
    if rnd.random() < 0.6:
        rec["user"] = "user-%d" % rnd.randrange(max(1, n // 10))
        rec["ua"] = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"
        rec["ip"] = "198.51.100.%d" % rnd.randrange(256)
    out.write(json.dumps({"key": os.urandom(32).hex(), "record": rec}, separators=(",", ":")) + "\n")
out.write(json.dumps({"end": True, "sessions": n}) + "\n")
PY

flags=(--progress never --json)
step "import into SQLite (?synchronous=normal)" "$ctl" --store "$sqlite_load" import -i "$dir/gen.jsonl" "${flags[@]}"
step "stats, SQLite" "$ctl" --store "$sqlite" stats --json
step "export, SQLite" "$ctl" --store "$sqlite" export -o "$dir/sqlite.jsonl" --progress never
step "migrate SQLite → Redis" "$ctl" --store "$sqlite" migrate --to "$redis_url" "${flags[@]}"
step "stats, Redis" "$ctl" --store "$redis_url" stats --json
same_sessions "$sqlite" "$redis_url" "SQLite → Redis"

# PostgreSQL: killed at about a third, then resumed from the cursor file.
cursor="$dir/pg.cursor"
start=$(date +%s.%N)
"$ctl" --store "$sqlite" migrate --to "$pg_url" --cursor-file "$cursor" --progress never \
  >/dev/null 2>&1 &
pid=$!
while :; do
  read=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["read"])' \
    "$cursor" 2>/dev/null || echo 0)
  ((read >= n / 3)) && break
  kill -0 "$pid" 2>/dev/null || { echo "the migration ended before the kill" >&2; exit 1; }
  sleep 0.2
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
echo "killed the PostgreSQL migration with SIGKILL after $read sessions" >&2
"$ctl" --store "$sqlite" migrate --to "$pg_url" --cursor-file "$cursor" "${flags[@]}" >"$dir/resumed"
end=$(date +%s.%N)
rows+=("$(row "migrate SQLite → PostgreSQL, kill -9 at 1/3, resumed" "$start" "$end")")
echo "resumed run: $(tr -d '\n ' <"$dir/resumed")" >&2
step "stats, PostgreSQL" "$ctl" --store "$pg_url" stats --json
same_sessions "$sqlite" "$pg_url" "SQLite → PostgreSQL"

echo
echo "$n sessions ($(date -u +%F), $(nproc) cores, sessionctl $(git rev-parse --short HEAD)):"
echo
echo "| step | time | sessions/s |"
echo "|---|---:|---:|"
printf '%s\n' "${rows[@]}"
