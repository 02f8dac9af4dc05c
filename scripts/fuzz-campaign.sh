#!/usr/bin/env bash
# A long libFuzzer campaign: every target (or the ones named) for a time or a number of
# executions each, in the same clang ASan+UBSan tree as CI (build-asan).  Afterwards:
#   * the inputs that found new coverage are merged (minimised) into fuzz/corpus/NAME, which CI
#     replays on every run;
#   * each crash, leak or timeout input is kept in fuzz/regressions/NAME/, which CI replays too,
#     so a crash found once stays a regression test.  The script exits 1 if there was any.
# Usage: scripts/fuzz-campaign.sh [--time SECONDS | --runs N] [TARGET...]
#   e.g. scripts/fuzz-campaign.sh --runs 10000000            (every target, 10 M executions)
#        scripts/fuzz-campaign.sh --time 600 wire_fuzz nf_fuzz
# Default: --time 60.  TARGET is a name such as wire_fuzz (see fuzz/*_fuzz.cc).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=(-max_total_time=60)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --time) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "fuzz-campaign: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
CC=clang CXX=clang++ scripts/build.sh build-asan -DVNET_FUZZ=ON -DVNET_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1"
cmake --build build-asan --target fuzzers
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in build-asan/fuzz/*_fuzz; do targets+=("$(basename "$f")"); done
fi
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1
failed=0
printf '%-14s %12s %8s %8s %s\n' target executions corpus+ crashes log
for name in "${targets[@]}"; do
  bin="build-asan/fuzz/$name"
  [[ -x "$bin" ]] || { echo "fuzz-campaign: no target $name" >&2; exit 2; }
  short=${name%_fuzz}
  work="build-asan/campaign/$short"
  crashes="$work/crashes"
  mkdir -p "$work/new" "$crashes" "fuzz/corpus/$short"
  dirs=("$work/new" "fuzz/corpus/$short")
  [[ -d "fuzz/regressions/$short" ]] && dirs+=("fuzz/regressions/$short")
  log="$work/run.log"
  rc=0
  # -fork=1 keeps going after a crash (each in a child), so one bug does not end the campaign.
  "$bin" "${limit[@]}" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="$crashes/" -print_final_stats=1 "${dirs[@]}" > "$log" 2>&1 || rc=$?
  before=$(find "fuzz/corpus/$short" -type f | wc -l)
  "$bin" -merge=1 "fuzz/corpus/$short" "$work/new" > "$work/merge.log" 2>&1
  after=$(find "fuzz/corpus/$short" -type f | wc -l)
  # In fork mode the children's executions are summed in the "#N" status lines.
  execs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  found=$(find "$crashes" -type f | wc -l)
  if [[ $found -gt 0 ]]; then
    mkdir -p "fuzz/regressions/$short"
    cp "$crashes"/* "fuzz/regressions/$short/"
    failed=1
  fi
  if [[ $rc -ne 0 && $found -eq 0 ]]; then
    tail -20 "$log"
    failed=1
  fi
  printf '%-14s %12s %8s %8s %s\n' "$name" "${execs:-?}" "$((after - before))" "$found" "$log"
done
if [[ $failed -ne 0 ]]; then
  echo "fuzz-campaign: crashes kept in fuzz/regressions/ (replayed by scripts/test.sh); fix them"
  exit 1
fi
