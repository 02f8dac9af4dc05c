#!/usr/bin/env bash
# Real-mode tests (root): the seed labs and the VXLAN interop lab built in network namespaces
# with vnetd and run with the real tools (`vnet lab run FILE --real`), vnetd's robustness, and
# then a check that nothing is left behind: no namespace, no veth or bridge in the root
# namespace, no vnetd process.
# Usage: tests/real/run.sh PATH/TO/vnet [PATH/TO/vnetd]
set -euo pipefail
cd "$(dirname "$0")/../.."
vnet=$(realpath "${1:?usage: tests/real/run.sh PATH/TO/vnet [PATH/TO/vnetd]}")
export VNET_VNETD=$(realpath "${2:-$(dirname "$vnet")/../vnetd/vnetd}")
labs=(examples/seed000-ipip.yaml examples/seed000-gre.yaml examples/seed001-multinic.yaml
  examples/seed002-multihoming.yaml tests/real/vxlan-interop.yaml)
passed=0
failed=0
ok() { echo "PASS $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
cleanup() {
  for lab in "${labs[@]}"; do "$vnet" lab down "$lab" > /dev/null 2>&1 || true; done
}
trap cleanup EXIT

netns_before=$(ip netns list | sort)
links_before=$(ip -o link show | awk -F': ' '{print $2}' | sort)

for lab in "${labs[@]}"; do
  log=$(mktemp)
  if "$vnet" lab run "$lab" --real > "$log" 2>&1; then
    ok "real lab $lab ($(tail -1 "$log"))"
  else
    cat "$log"
    bad "real lab $lab"
  fi
  rm -f "$log"
done

if bash tests/real/robustness.sh "$vnet"; then ok "vnetd robustness"; else bad "vnetd robustness"; fi

# Nothing left behind.
cleanup
sleep 0.2
leftover_ns=$(comm -13 <(echo "$netns_before") <(ip netns list | sort) || true)
leftover_links=$(comm -13 <(echo "$links_before") <(ip -o link show | awk -F': ' '{print $2}' | sort) || true)
leftover_procs=$(pgrep -a -x vnetd || true)
if [[ -z "$leftover_ns$leftover_links$leftover_procs" ]]; then
  ok "nothing left behind (namespaces, root-namespace links, vnetd processes)"
else
  echo "namespaces: $leftover_ns"; echo "links: $leftover_links"; echo "processes: $leftover_procs"
  bad "leftovers"
fi
echo "real: $passed passed, $failed failed"
((failed == 0))
