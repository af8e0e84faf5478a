#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, builds a consumer project under tests/install
# against it with find_package(sessionkit), and runs it.
# Usage: check.sh BUILD_DIR SOURCE_DIR CXX_FLAGS LD_FLAGS [CONSUMER]
#   CONSUMER: consumer (default: a session round trip through the installed stores) or
#   store_consumer (its own store passing the installed conformance suite). The executable has
#   the directory's name and prints "<CONSUMER>: ok" on success.
set -euo pipefail
build=$1 src=$2 cxxflags=${3:-} ldflags=${4:-} consumer=${5:-consumer}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/tests/install/$consumer" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_CXX_FLAGS="$cxxflags" \
  -DCMAKE_EXE_LINKER_FLAGS="$ldflags" >"$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
"$tmp/build/$consumer"
