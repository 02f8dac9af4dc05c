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
  stage "Debian package (cpack, dpkg -i in a throwaway overlay root)"
  tests/package/deb.sh build
  stages=$((stages + 1))
else
  stage "real-mode labs and the package test skipped: they need root"
fi

if [[ "${VNET_QUICK:-0}" != 1 ]]; then
  # One clang tree serves both: ASan+UBSan with libFuzzer's coverage instrumentation, at -O1.
  # It builds the unit tests and the fuzz targets (one build instead of a gcc sanitizer tree
  # and a clang fuzz tree: six minutes less on two cores).  The gcc build above covers gcc.
  stage "ASan+UBSan build (clang, with the libFuzzer targets) and unit tests"
  CC=clang CXX=clang++ scripts/build.sh build-asan -DVNET_FUZZ=ON -DVNET_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1"
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$PWD/scripts/lsan.supp" \
    ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
  stages=$((stages + 1))

  stage "libFuzzer targets, ${VNET_FUZZ_SECONDS:-15} s each"
  for f in build-asan/fuzz/*_fuzz; do
    name=$(basename "$f")
    corpus="fuzz/corpus/${name%_fuzz}"
    mkdir -p "build-asan/corpus-$name"
    dirs=("build-asan/corpus-$name")
    [[ -d "$corpus" ]] && dirs+=("$corpus")
    # Inputs that once crashed (scripts/fuzz-campaign.sh keeps them): replayed on every run.
    [[ -d "fuzz/regressions/${name%_fuzz}" ]] && dirs+=("fuzz/regressions/${name%_fuzz}")
    "$f" -max_total_time="${VNET_FUZZ_SECONDS:-15}" -print_final_stats=1 "${dirs[@]}" \
      > "build-asan/$name.log" 2>&1 || { tail -50 "build-asan/$name.log"; exit 1; }
    echo "$name: $(grep -Eo 'stat::number_of_executed_units: [0-9]+' "build-asan/$name.log" \
      | awk '{print $2}') runs, no crash"
  done
  stages=$((stages + 1))
fi
stage "all test stages passed"
echo "stages: $stages passed, 0 failed"
