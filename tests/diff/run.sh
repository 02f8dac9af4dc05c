#!/usr/bin/env bash
# The differential test as CI runs it: two seeds of 60 random configurations (40 route queries
# each), the kernel's VXLAN fed vnet's VXLAN frames, plus the seed documents' command files
# replayed line by line, and the TCP handshake compared segment by segment.  Needs root.
# Usage: tests/diff/run.sh PATH/TO/vnet
set -euo pipefail
cd "$(dirname "$0")/../.."
vnet=${1:?usage: tests/diff/run.sh PATH/TO/vnet}
python3 tests/diff/kernel_diff.py --cleanup-stale --seed 1 --vnet "$vnet"
python3 tests/diff/kernel_diff.py --seed 2 --vnet "$vnet"
bash tests/diff/vxlan_accept.sh "$vnet"
for f in examples/*.vnet; do
  python3 tests/diff/kernel_diff.py --replay "$f" --vnet "$vnet"
done
bash tests/diff/tcp_handshake.sh "$vnet"
