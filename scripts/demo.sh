#!/usr/bin/env bash
# Installs what is missing, builds the release preset and starts sessionkit-demo on
# http://127.0.0.1:8080 with the embedded default store (SQLite file ./data/sessions.db).
# Extra arguments are passed to the demo (see build/release/bin/sessionkit-demo --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/release/bin/sessionkit-demo "$@"
