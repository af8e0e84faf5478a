#!/usr/bin/env bash
# A scripted guessing attack against two demo instances on one private Redis (issue 17): how many
# guesses the sign-in throttle lets through per minute, per account and per address
# (bench/macro/guessing.py says what each scenario does).
# Usage: bench/macro/guessing.sh [SECONDS_PER_SCENARIO]   (default 60; DEMO_FLAGS adds flags)
# Needs: redis-server (scripts/install-deps.sh --test installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=bench/macro/servers.sh
source bench/macro/servers.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target sessionkit-demo
dir=$(mktemp -d)
trap 'stop_redis; rm -rf "$dir"' EXIT
start_redis "$dir"
python3 bench/macro/guessing.py build/release/bin/sessionkit-demo "$redis_url" "${1:-60}"
