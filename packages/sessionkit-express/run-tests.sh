#!/usr/bin/env bash
# The package's tests against a real sessiond: SESSIOND=path/to/sessiond run-tests.sh
# Installs node_modules with `npm ci` (the committed lock file, no install scripts) when missing
# or not matching it. Needs node >= 18 and npm (scripts/install-deps.sh --test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [[ -z ${SESSIOND:-} || ! -x $SESSIOND ]]; then
  echo "sessionkit-express tests: SESSIOND must name the sessiond binary" >&2
  exit 2
fi
wanted=$(node -p "require('./package-lock.json').packages['node_modules/express-session'].version")
have=$(node -p "try { require('./node_modules/express-session/package.json').version } catch { '' }")
if [[ $have != "$wanted" ]]; then
  if [[ -z ${NODE_EXTRA_CA_CERTS:-} && -r /etc/ssl/certs/ca-certificates.crt ]]; then
    export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
  fi
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn
fi
# Every test file by name: node 18 and node 22 read a directory argument differently.
# (test/support.js is their helper, not a test file.)
exec node --test test/store.test.js test/express-session-suite.test.js test/lifecycle.test.js
