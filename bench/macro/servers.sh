# Sourced by the bench/macro scripts: private database servers on free loopback ports.
# Each start_* function waits until the server answers and sets <name>_url; the caller stops
# what it started (stop_redis, stop_postgres), by pid or through pg_ctl on its own directory.

# A loopback port nothing listens on a moment ago.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 20000))
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  echo "no free loopback port" >&2
  return 1
}

# redis-server without persistence, files in DIR; sets redis_pid, redis_port, redis_url.
start_redis() { # DIR
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$1" \
    --logfile "$1/redis.log" >/dev/null 2>&1 &
  redis_pid=$!
  for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break; sleep 0.05; done
  redis_url="redis://127.0.0.1:$redis_port"
}
stop_redis() {
  if [[ -n ${redis_pid:-} ]]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  redis_pid=
  return 0
}

# Runs a command as the unprivileged account when root (PostgreSQL refuses to run as root).
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u nobody -- "$@"; else "$@"; fi; }
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

# A PostgreSQL cluster in DIR/pg (trust auth, user postgres); sets pg_dir, pg_url.
start_postgres() { # DIR
  local port
  port=$(free_port)
  pg_dir=$1/pg
  mkdir -p "$pg_dir" && chmod 700 "$pg_dir"
  if [[ $(id -u) -eq 0 ]]; then chown nobody "$1" "$pg_dir"; fi
  as_pg "$pg_bin/initdb" -D "$pg_dir" -A trust -U postgres >/dev/null
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir" -w -l "$pg_dir/log" \
    -o "-p $port -k $pg_dir -h 127.0.0.1" start >/dev/null
  pg_url="postgresql://postgres@127.0.0.1:$port/postgres"
}
stop_postgres() {
  if [[ -n ${pg_dir:-} ]]; then as_pg "$pg_bin/pg_ctl" -D "$pg_dir" -m fast -w stop >/dev/null 2>&1 || true; fi
  pg_dir=
  return 0
}
