#!/usr/bin/env bash
# Formatting (clang-format, every tracked C++ file) and static analysis (clang-tidy with the
# repo's .clang-tidy, every source under src/).  Needs a configured build dir for
# compile_commands.json.  Usage: scripts/lint.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mapfile -t files < <(git ls-files '*.cc' '*.h')
clang-format --dry-run --Werror "${files[@]}"
echo "clang-format: ${#files[@]} files clean"
mapfile -t sources < <(git ls-files 'src/*.cc')
printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -n 1 clang-tidy -p "$build" --quiet \
  > "$build/clang-tidy.log" 2>&1 || { grep -E "error:|warning:" "$build/clang-tidy.log"; exit 1; }
echo "clang-tidy: ${#sources[@]} sources clean"
