#!/usr/bin/env bash
# Installs the Debian 12 packages sessionkit needs, and only those that are missing.
# Idempotent; needs root (or sudo).
# Usage: scripts/install-deps.sh [--test] [--browser] [--bench] [--fuzz] [--profile] [--lint]
#   --test   also the packages the test suite needs (implies --browser: the suite includes
#            the browser tests, label browser; and python3-jwt with python3-cryptography,
#            Debian's PyJWT, for the JWT interoperability test, label interop).
#   --browser  also chromium, nodejs and npm (tests/browser: Playwright drives Debian's Chromium).
#            nodejs / npm are skipped when a node / npm command is already there (NodeSource's
#            nodejs bundles npm and conflicts with Debian's npm package).
#   --bench  also the packages the benchmarks need.
#   --fuzz   also clang-14 and its libFuzzer runtime (scripts/fuzz.sh).
#   --profile  also valgrind, perf and python3 (bench/macro/profile.sh and breakdown.sh).
#   --lint   also clang-tidy-14 and its run-clang-tidy-14 (scripts/lint.sh).
set -euo pipefail

packages=(
  ca-certificates g++ cmake ninja-build pkg-config git
  libboost1.81-dev libssl-dev libsodium-dev libzstd-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libsqlite3-dev libhiredis-dev libpq-dev libcpp-httplib-dev libtomlplusplus-dev
)
browser=0
for arg in "$@"; do
  case $arg in
    --test)
      packages+=(libgtest-dev libgmock-dev curl redis-server redis-tools openssl postgresql
        python3 python3-jwt python3-cryptography)
      browser=1 ;;
    --browser) browser=1 ;;
    --fuzz) packages+=(clang-14 libclang-rt-14-dev) ;;
    --bench) packages+=(libbenchmark-dev wrk curl) ;;
    --profile) packages+=(valgrind linux-perf python3 wrk curl) ;;
    --lint) packages+=(clang-tidy-14) ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done
if ((browser)); then
  packages+=(chromium openssl)
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
