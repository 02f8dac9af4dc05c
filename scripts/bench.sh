#!/usr/bin/env bash
# The in-memory benchmarks of docs/PERFORMANCE.md in one command.  Builds the RelWithDebInfo
# tree, then runs:
#   * lpm_bench: the FIB's Poptrie against DPDK's rte_lpm on the same prefixes and keys;
#   * datapath_bench BM_Forward*: every forwarding path as a ratio to plain forwarding;
#   * lab_bench BM_ChainPing: packet-hops per second on the 1,000-router chain.
# Each prints its ratios at the end.  As root, DPDK's EAL gets 1024 hugepages of 2 MiB for the
# run when none are reserved (put back afterwards).
# Usage: scripts/bench.sh [--quick]   --quick: the BGP-shaped table only, shorter runs (about 2.5
# minutes instead of 15; most of lpm_bench's time is rte_lpm_add).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[[ "${1:-}" == --quick ]] && quick=1
scripts/build.sh build

hugepages=/proc/sys/vm/nr_hugepages
if [[ $(id -u) -eq 0 && -w $hugepages && $(cat $hugepages) -eq 0 ]]; then
  trap 'echo 0 > '"$hugepages" EXIT
  echo 1024 > "$hugepages"
fi

min_time=0.5
lpm_args=()
if [[ $quick == 1 ]]; then
  min_time=0.2
  lpm_args=(--benchmark_filter='bgp/(poptrie|rte_lpm)')
fi
echo "== lpm_bench"
build/bench/lpm_bench "${lpm_args[@]}" --benchmark_min_time="$min_time"
echo "== datapath_bench (BM_Forward*)"
build/bench/datapath_bench --benchmark_filter=BM_Forward --benchmark_min_time="$min_time"
echo "== lab_bench (BM_ChainPing)"
build/bench/lab_bench --benchmark_filter=ChainPing --benchmark_min_time=1
