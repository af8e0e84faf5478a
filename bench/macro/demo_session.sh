# Sourced by the bench/macro scripts that drive sessionkit-demo alone (compare.sh has its own
# login, which also serves the peer).

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
