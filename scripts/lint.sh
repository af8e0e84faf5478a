#!/usr/bin/env bash
# clang-tidy 14 with the checks in .clang-tidy over the library, the stores, the demo and the
# examples (every translation unit in src/, apps/ and examples/, and the project headers they
# include); any finding fails the run (exit 1) and is listed at the end. CI runs it (.ci/run). Tests are not linted: 36 more files (GoogleTest,
# Asio) would about double the cost in a CI run whose budget is tight; so the two installed
# headers only tests include, stores/reference.h and testing/store_conformance.h, are not either.
# Configures its own build dir, build/lint (the debug preset with compile_commands.json; tests,
# benchmarks and fuzzers off, the demo on); it compiles nothing.
# Cost: about 10-12 CPU-minutes (the demo's and the Redis store's Asio/Beast headers are most of
# it). Measured 2026-12-03 on an idle 2-core machine: 5m22s wall, 10m29s user+sys; configuring
# takes 2 s.
# Usage: scripts/lint.sh [REGEX ...]   (only the files whose path matches; default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --lint
cmake --preset debug -B build/lint -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DSESSIONKIT_BUILD_TESTS=OFF -DSESSIONKIT_BUILD_BENCH=OFF -DSESSIONKIT_BUILD_FUZZ=OFF \
  -DSESSIONKIT_BUILD_DEMO=ON >/dev/null
files=("$@")
((${#files[@]})) || files=("^$PWD/(src|apps|examples)/")
log=build/lint/clang-tidy.log
# -Wno-unknown-warning-option: the flags are g++'s (-Wno-restrict is unknown to clang).
# The filters drop clang's per-file "N warnings generated." (system headers, never shown) and
# the colour codes run-clang-tidy-14 always asks for.
status=0
run-clang-tidy-14 -quiet -j "$(nproc)" -p build/lint -extra-arg=-Wno-unknown-warning-option \
  "${files[@]}" 2>&1 | sed -u -e 's/\x1b\[[0-9;]*m//g' -e '/^[0-9]* warnings\? generated\.$/d' |
  tee "$log" || status=$?
# A header's finding is reported once per file that includes it: listed once.
findings=$(grep -E '^/.*:[0-9]+:[0-9]+: (warning|error): .*\[[a-z0-9.,-]+\]$' "$log" |
  sort -u || true)
if [[ -n $findings ]]; then
  echo "lint: $(wc -l <<<"$findings") finding(s):"
  echo "$findings"
  exit 1
fi
if ((status != 0)); then
  echo "lint: clang-tidy failed (exit $status), see above" >&2
  exit 1
fi
echo "lint: no findings"
