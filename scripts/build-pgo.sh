#!/usr/bin/env bash
# A profile-guided (PGO) release build of sessionkit-demo and sessiond in build/pgo:
#   1. configure build/pgo as the release preset with g++'s -fprofile-generate (counters updated
#      atomically: the servers are multi-threaded) and build the two programs;
#   2. train them: bench/macro/cpu_per_request.sh drives the demo (healthz, read, write) on the
#      memory store and on a private Redis, bench/macro/sessiond.sh drives sessiond on both; the
#      programs write their profiles when they exit;
#   3. reconfigure the same directory with -fprofile-use and build again.
# The same directory for both builds is required: g++ finds a profile by its object file's path.
# Warnings are not errors in this build: -fprofile-use adds some that depend on the training.
# Usage: scripts/build-pgo.sh [SECONDS]   (per request kind in the training; default 3)
# Needs: the packages of scripts/install-deps.sh --bench, and redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
dir=build/pgo
profiles=$PWD/$dir/profiles
targets=(--target sessionkit-demo --target sessiond)
common=(-DCMAKE_BUILD_TYPE=Release -DSESSIONKIT_WARNINGS_AS_ERRORS=OFF -DSESSIONKIT_BUILD_TESTS=OFF)

rm -rf "$profiles"
cmake --preset release -B "$dir" "${common[@]}" \
  -DCMAKE_CXX_FLAGS="-fprofile-generate -fprofile-update=atomic -fprofile-dir=$profiles" \
  -DCMAKE_EXE_LINKER_FLAGS="-fprofile-generate" >/dev/null
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"

echo "== training (${seconds}s per request kind)"
for store in memory redis; do
  bash bench/macro/cpu_per_request.sh --rounds 1 --duration "$seconds" --store "$store" \
    --demo "$dir/bin/sessionkit-demo" | tail -4
done
bash bench/macro/sessiond.sh --runs 1 --duration "${seconds}s" --sessiond "$dir/bin/sessiond" |
  tail -12
[[ -n $(find "$profiles" -name '*.gcda' -print -quit) ]] ||
  { echo "build-pgo.sh: the training wrote no profile" >&2; exit 1; }

cmake --preset release -B "$dir" "${common[@]}" \
  -DCMAKE_CXX_FLAGS="-fprofile-use -fprofile-partial-training -fprofile-dir=$profiles" \
  -DCMAKE_EXE_LINKER_FLAGS="" >/dev/null
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
echo "build-pgo.sh: $dir/bin/sessionkit-demo and $dir/bin/sessiond"
