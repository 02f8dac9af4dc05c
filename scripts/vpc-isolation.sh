#!/usr/bin/env bash
# The VPC isolation property test (tests/unit/vpc/vpc_isolation_test.cc) at a large size: random
# layouts of hosts, overlapping VPCs and peerings, and probes whose delivery is compared with the
# model.  Builds nothing: run scripts/build.sh (or ninja vpc_test) first.
# Usage: scripts/vpc-isolation.sh [PROBES] [TEST_BINARY]
#   PROBES       default 1000000 (a new layout every 200); VNET_VPC_SEED picks the first seed
#   TEST_BINARY  default build/tests/unit/vpc/vpc_test
# Prints the test's totals and "leaks: N"; exits non-zero unless the test passed.
set -euo pipefail
cd "$(dirname "$0")/.."
probes=${1:-1000000}
bin=${2:-build/tests/unit/vpc/vpc_test}
if [[ ! -x "$bin" ]]; then
  echo "vpc-isolation: $bin is not built (ninja -C build vpc_test)" >&2
  exit 2
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s.%N)
status=0
VNET_VPC_PROBES=$probes "$bin" --gtest_filter='VpcIsolation.RandomLayouts' > "$out" 2>&1 || status=$?
end=$(date +%s.%N)
sed -n '/^vpc isolation:/,/^\[/p' "$out" | grep -v '^\['
grep -q '^vpc isolation:' "$out" || cat "$out"
leaks=$(sed -n 's/^vpc isolation: .* leaks \([0-9]*\) .*/\1/p' "$out")
echo "leaks: ${leaks:-unknown}"
printf 'time: %.1f s\n' "$(echo "$end - $start" | bc)"
exit "$status"
