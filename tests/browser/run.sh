#!/usr/bin/env bash
# Browser tests: Playwright (playwright-core from npm, pinned in package-lock.json) drives
# Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) against the real sessionkit-demo and
# sessionctl console.
# Usage: [SESSIONCTL=SESSIONCTL_BINARY] tests/browser/run.sh DEMO_BINARY [SCREENSHOT_DIR] [TEST_FILE...]
#   SESSIONCTL: the sessionctl binary, for console.test.mjs (default: next to DEMO_BINARY).
#   SCREENSHOT_DIR defaults to build/browser-screenshots (relative to the repository root).
#   TEST_FILE: run only these (default: every *.test.mjs here).
# Needs node (>= 18), npm, chromium and openssl: scripts/install-deps.sh --browser.
# Installs node_modules with `npm ci` (npm packages only, no install scripts, no browser
# download) when missing or not matching the lock file. Exits non-zero when a test fails.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -lt 1 ]]; then
  echo "usage: $0 DEMO_BINARY [SCREENSHOT_DIR] [TEST_FILE...]" >&2
  exit 2
fi
demo=$(realpath "$1")
shift
if [[ ! -x $demo ]]; then
  echo "browser tests: $demo is not an executable (build the sessionkit-demo target)" >&2
  exit 2
fi
sessionctl=${SESSIONCTL:-$(dirname "$demo")/sessionctl}
if [[ -x $sessionctl ]]; then sessionctl=$(realpath "$sessionctl"); fi
shots=${BROWSER_SCREENSHOTS:-build/browser-screenshots}
if [[ $# -gt 0 && $1 != *.mjs ]]; then
  shots=$(realpath -m "$1")  # relative to the caller's directory
  shift
fi
for tool in node npm openssl "${CHROMIUM:-/usr/bin/chromium}"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "browser tests: $tool not found: run scripts/install-deps.sh --browser" >&2
    exit 1
  fi
done

cd "$here"
wanted=$(node -p "require('./package-lock.json').packages['node_modules/playwright-core'].version")
have=$(node -p "try { require('./node_modules/playwright-core/package.json').version } catch { '' }")
if [[ $have != "$wanted" ]]; then
  echo "browser tests: npm ci (playwright-core $wanted)"
  # --ignore-scripts: no package may run an install step (playwright-core has none; it never
  # downloads a browser itself, we use Debian's).
  # Node trusts its own bundled roots only; add the system's store too, so that a registry
  # reached through a proxy whose CA the machine trusts (/etc/ssl/certs) works.
  if [[ -z ${NODE_EXTRA_CA_CERTS:-} && -r /etc/ssl/certs/ca-certificates.crt ]]; then
    export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
  fi
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn
fi

if [[ $# -eq 0 ]]; then set -- *.test.mjs; fi
export SESSIONKIT_DEMO=$demo SESSIONCTL=$sessionctl BROWSER_SCREENSHOTS=$shots
echo "browser tests: $(node --version), $("${CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null), screenshots in $shots"
exec node --test --test-reporter=spec "$@"
