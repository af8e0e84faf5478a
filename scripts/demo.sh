#!/usr/bin/env bash
# Installs what is missing, builds the release preset and starts sessionkit-demo on
# http://127.0.0.1:8080 with the embedded default store (SQLite file ./data/sessions.db).
# Without SESSION_SECRET it keeps a random development secret in ./data/dev-secret.
# Extra arguments are passed to the demo (see build/release/bin/sessionkit-demo --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release --target sessionkit-demo -- -DSESSIONKIT_BUILD_TESTS=OFF
# Development convenience: without SESSION_SECRET, keep one random secret in ./data so that
# sessions in the SQLite file stay valid across restarts of the demo.
# The secret is passed as a file, never on a command line other local users can read.
if [[ -z ${SESSION_SECRET:-} && -z ${SESSION_SECRET_FILE:-} ]]; then
  (umask 077 && mkdir -p data)
  if [[ ! -s data/dev-secret ]]; then
    (umask 077 && head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_' >data/dev-secret)
  fi
  export SESSION_SECRET_FILE=data/dev-secret
fi
exec build/release/bin/sessionkit-demo "$@"
