#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, CMake preset `fuzz`, with ASan+UBSan) and runs each on
# a scratch copy of its seed corpus (tests/fuzz/corpus/<target>/) for SECONDS (default 20).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET ...]
#   targets: cookie_fuzz signed_value_fuzz record_fuzz request_fuzz sealed_cookie_fuzz payload_fuzz
#            jwt_fuzz at_rest_fuzz api_fuzz resp_fuzz
#   (default: all)
# A crash, leak, sanitizer report or timeout fails the run and prints the reproducer's path
# (kept in build/fuzz/findings/). For long runs: scripts/fuzz.sh 3600 record_fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
scripts/install-deps.sh --fuzz
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
targets=("$@")
((${#targets[@]})) ||
  targets=(cookie_fuzz signed_value_fuzz record_fuzz request_fuzz sealed_cookie_fuzz payload_fuzz
    jwt_fuzz at_rest_fuzz api_fuzz resp_fuzz)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
findings=build/fuzz/findings
mkdir -p "$findings"
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  cp tests/fuzz/corpus/"$t"/* "$work/$t/"
  echo "== $t: ${seconds}s"
  if ! build/fuzz/bin/"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=16384 -print_final_stats=1 -artifact_prefix="$findings/$t-" "$work/$t" \
      2>"$work/$t.log"; then
    tail -60 "$work/$t.log"
    echo "fuzz: $t FAILED (reproducer in $findings/)" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb" "$work/$t.log"
done
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s each without a finding"
