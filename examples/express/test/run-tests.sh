#!/usr/bin/env bash
# The Express example's test (test/app.test.js) against a real sessiond on a real Redis:
#   SESSIOND=path/to/sessiond examples/express/test/run-tests.sh
# Installs node_modules with `npm ci` (the committed lock files, no install scripts) when missing
# or not matching them: in examples/express, and in packages/sessionkit-express, which the example
# links to (a file: dependency) and whose require('express-session') resolves from its own folder.
# Needs node >= 18, npm and redis-server (scripts/install-deps.sh); exits 77 (skipped) without
# redis-server.
set -euo pipefail
example=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
package=$(cd "$example/../../packages/sessionkit-express" && pwd)
if [[ -z ${SESSIOND:-} || ! -x $SESSIOND ]]; then
  echo "express example test: SESSIOND must name the sessiond binary" >&2
  exit 2
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "express example test: redis-server is not installed: skipped" >&2
  exit 77
fi
if [[ -z ${NODE_EXTRA_CA_CERTS:-} && -r /etc/ssl/certs/ca-certificates.crt ]]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

# npm ci in $1 unless its node_modules has the lock file's express-session (and, for the example,
# the link to the package).
install() {
  local dir=$1 wanted have
  wanted=$(cd "$dir" && node -p "require('./package-lock.json').packages['node_modules/express-session'].version")
  have=$(cd "$dir" && node -p "try { require('./node_modules/express-session/package.json').version } catch { '' }")
  if [[ $have != "$wanted" || ( $dir == "$example" && ! -e $dir/node_modules/sessionkit-express/index.js ) ]]; then
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn)
  fi
}
install "$package"
install "$example"

cd "$example"
exec node --test test/app.test.js
