#!/usr/bin/env bash
# Builds and runs every test: unit tests (CTest), lab scenarios in the simulator, the kernel
# differential test and the real-mode labs with vnetd (both need root), the same unit tests
# under ASan+UBSan, and a short run of every libFuzzer target.
# VNET_QUICK=1 skips the sanitizer and fuzz builds.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
stages=0
# Each stage's header says when it started, so the slow ones show in CI's log.
stage() { echo "== $* (at $((SECONDS / 60))m$((SECONDS % 60))s)"; }
# Every route cache hit is resolved again and compared (src/stack/node.h): a missed invalidation
# aborts the test that hit it.
export VNET_ROUTE_CACHE_VERIFY=1

stage "build (RelWithDebInfo)"
scripts/build.sh build
stage "lint (clang-format, clang-tidy)"
scripts/lint.sh build
stages=$((stages + 1))
stage "unit tests"
ctest --test-dir build --output-on-failure -j "$(nproc)"
stages=$((stages + 1))

stage "lab scenarios (simulator)"
tests/lab/run.sh build/src/cli/vnet
stages=$((stages + 1))

if [[ -f tests/diff/kernel_diff.py && -x tests/diff/run.sh ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    stage "differential test against the kernel"
    tests/diff/run.sh build/src/cli/vnet
    stages=$((stages + 1))
  else
    stage "differential test skipped: it needs root (network namespaces)"
  fi
fi

if [[ $(id -u) -eq 0 ]]; then
  stage "real-mode labs (network namespaces, vnetd), robustness, leftovers"
  tests/real/run.sh build/src/cli/vnet build/src/vnetd/vnetd
  stages=$((stages + 1))
else
  stage "real-mode labs skipped: they need root (network namespaces)"
fi

if [[ "${VNET_QUICK:-0}" != 1 ]]; then
  stage "ASan+UBSan build and unit tests"
  scripts/build.sh build-asan -DVNET_SANITIZE=ON -DVNET_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
  ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$PWD/scripts/lsan.supp" \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
  stages=$((stages + 1))

  stage "libFuzzer targets (clang), ${VNET_FUZZ_SECONDS:-15} s each"
  CC=clang CXX=clang++ VNET_BUILD_TARGET=fuzzers scripts/build.sh build-fuzz -DVNET_FUZZ=ON -DVNET_TESTS=OFF \
    -DVNET_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
  for f in build-fuzz/fuzz/*_fuzz; do
    name=$(basename "$f")
    corpus="fuzz/corpus/${name%_fuzz}"
    mkdir -p "build-fuzz/corpus-$name"
    dirs=("build-fuzz/corpus-$name")
    [[ -d "$corpus" ]] && dirs+=("$corpus")
    "$f" -max_total_time="${VNET_FUZZ_SECONDS:-15}" -print_final_stats=1 "${dirs[@]}" \
      > "build-fuzz/$name.log" 2>&1 || { tail -50 "build-fuzz/$name.log"; exit 1; }
    echo "$name: $(grep -Eo 'stat::number_of_executed_units: [0-9]+' "build-fuzz/$name.log" \
      | awk '{print $2}') runs, no crash"
  done
  stages=$((stages + 1))
fi
stage "all test stages passed"
echo "stages: $stages passed, 0 failed"
