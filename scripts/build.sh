#!/usr/bin/env bash
# Configures and builds one CMake preset (debug, release, asan, tsan).
# Usage: scripts/build.sh PRESET [--target T ...] [-- extra cmake configure arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-debug}
shift || true
targets=()
while (($#)); do
  case $1 in
    --target) targets+=(--target "$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
cmake --preset "$preset" "$@" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" "${targets[@]}"
