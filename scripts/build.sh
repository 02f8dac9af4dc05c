#!/usr/bin/env bash
# Configures and builds one build tree.  Usage: scripts/build.sh [DIR] [cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
jobs=${VNET_JOBS:-$(nproc)}
if [[ ! -f "$dir/build.ninja" ]]; then
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
fi
# VNET_BUILD_TARGET: one target instead of all (the fuzz tree builds only `fuzzers`).
cmake --build "$dir" -j "$jobs" ${VNET_BUILD_TARGET:+--target "$VNET_BUILD_TARGET"}
