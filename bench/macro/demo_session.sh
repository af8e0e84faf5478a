# Sourced by the bench/macro scripts that drive sessionkit-demo alone (compare.sh has its own
# login, which also serves the peer).

demo_secret=bench-secret-bench-secret-bench-secret-0123

# Exits 2 unless DEMO is an executable and every TOOL is on PATH; HINT says how to get them.
demo_require() { # DEMO HINT TOOL...
  local demo=$1 hint=$2 tool
  shift 2
  [[ -x $demo ]] || { echo "no demo at $demo: scripts/build.sh release" >&2; exit 2; }
  for tool; do
    command -v "$tool" >/dev/null || { echo "$tool is missing ($hint)" >&2; exit 2; }
  done
}

# Starts DEMO (the store $DEMO_STORE, default memory://; --threads 1; more flags in $DEMO_FLAGS;
# logs in DIR/demo.out and DIR/demo.err), run by an optional WRAPPER command (e.g. valgrind and
# its options). Sets `pid` (set the caller's EXIT trap on it first) and `url`; exits 1 when the
# demo does not start.
demo_start() { # DEMO DIR [WRAPPER...]
  local demo=$1 dir=$2 flags
  shift 2
  read -ra flags <<<"${DEMO_FLAGS:-}"
  "$@" "$demo" --listen 127.0.0.1:0 --store "${DEMO_STORE:-memory://}" --secret "$demo_secret" \
    --threads 1 --anonymous-session-burst 0 "${flags[@]}" >"$dir/demo.out" 2>"$dir/demo.err" &
  pid=$!
  url=$(demo_url "$dir/demo.out")
  [[ -n $url ]] || { echo "the demo did not start" >&2; cat "$dir/demo.err" >&2; exit 1; }
}

# Waits until the demo that writes its log to FILE says where it listens; prints its base URL.
demo_url() { # FILE
  for _ in $(seq 300); do grep -q 'listening on' "$1" && break; sleep 0.1; done
  grep -o 'http://127.0.0.1:[0-9]*' "$1" | head -1
}

# Signs in as alice through the JSON API at URL, with cookie jar JAR. Sets `cookie` (a Cookie
# header value, "sid=...") and `token` (a CSRF token of the signed-in session); returns 1 when
# the login did not take.
demo_sign_in() { # URL JAR
  local url=$1 jar=$2 first
  rm -f "$jar"
  first=$(curl -s -c "$jar" -b "$jar" "$url/api/session" | sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p')
  curl -s -c "$jar" -b "$jar" -H 'Content-Type: application/json' -H "X-CSRF-Token: $first" \
    -d '{"username":"alice","password":"wonderland"}' "$url/api/login" >/dev/null
  cookie=$(awk '$6 == "sid" {print "sid=" $7}' "$jar")
  [[ -n $cookie ]] || { echo "login failed at $url" >&2; return 1; }
  local body
  body=$(curl -s -b "$cookie" "$url/api/session")
  grep -q '"authenticated":true' <<<"$body" || { echo "cookie not accepted at $url" >&2; return 1; }
  token=$(sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p' <<<"$body")
}
