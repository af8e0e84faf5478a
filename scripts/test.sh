#!/usr/bin/env bash
# Installs what is missing, builds a preset (default: debug) and runs the whole test suite.
# Usage: scripts/test.sh [PRESET]   (PRESET: debug, release, asan, tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-debug}
scripts/install-deps.sh --test
scripts/build.sh "$preset" -- -DSESSIONKIT_BUILD_TESTS=ON
ctest --preset "$preset" -j "$(nproc)"
