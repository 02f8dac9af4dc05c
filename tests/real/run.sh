#!/usr/bin/env bash
# Real-mode tests (root): the seed labs and the VXLAN interop lab built in network namespaces
# with vnetd and run with the real tools (`vnet lab run FILE --real`), vnetd's robustness and
# Prometheus metrics and floods (robustness.sh, metrics.sh, flood.sh), the control plane's faults on a real etcd
# (etcd-faults.sh), and
# then a check that nothing is left behind: no namespace, no veth or bridge in the root
# namespace, no vnetd process.
# Usage: tests/real/run.sh PATH/TO/vnet [PATH/TO/vnetd]
set -euo pipefail
cd "$(dirname "$0")/../.."
vnet=$(realpath "${1:?usage: tests/real/run.sh PATH/TO/vnet [PATH/TO/vnetd]}")
export VNET_VNETD=$(realpath "${2:-$(dirname "$vnet")/../vnetd/vnetd}")
labs=(examples/seed000-ipip.yaml examples/seed000-gre.yaml examples/seed001-multinic.yaml
  examples/seed002-multihoming.yaml tests/real/vxlan-interop.yaml
  examples/seed003-lvs-tun.yaml examples/lvs-dr.yaml examples/lvs-nat.yaml examples/lvs-wrr.yaml
  examples/lvs-maglev.yaml examples/seed004-physical.yaml examples/seed004-vpc0.yaml
  examples/seed004-vpc.yaml examples/seed004-peering.yaml examples/seed004-migration.yaml
  examples/seed004-etcd.yaml)
passed=0
failed=0
ok() { echo "PASS $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
cleanup() {
  for lab in "${labs[@]}"; do "$vnet" lab down "$lab" > /dev/null 2>&1 || true; done
}
trap cleanup EXIT

netns_before=$(ip netns list | sort)
etc_before=$(find /etc/iproute2 -type f -exec md5sum {} + | sort)
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

# TCP across the seed 000 tunnel: real curl from DC A to an HTTP server in DC B, and iperf3.
tcp_lab=examples/seed000-ipip.yaml
if "$vnet" lab up "$tcp_lab" --real > /dev/null; then
  "$vnet" lab exec "$tcp_lab" hostB -- sh -c \
    'cd /tmp && python3 -m http.server 8080 --bind 172.16.2.20 > /dev/null 2>&1 &'
  "$vnet" lab exec "$tcp_lab" hostB -- iperf3 -s -D --logfile /dev/null
  sleep 1
  page=$("$vnet" lab exec "$tcp_lab" hostA -- curl -sS -m 10 -o /dev/null -w '%{http_code} %{size_download}' http://172.16.2.20:8080/ || true)
  perf=$("$vnet" lab exec "$tcp_lab" hostA -- iperf3 -c 172.16.2.20 -t 2 -f m 2>&1 | grep receiver || true)
  if [[ "$page" == 200* && -n "$perf" ]]; then
    ok "seed 000 over IPIP: curl HTTP $page bytes; iperf3 $(awk '{print $7, $8}' <<< "$perf")"
  else
    echo "curl: $page"; echo "iperf3: $perf"; bad "TCP across the seed 000 tunnel"
  fi
  # Live tracing in a vnetd gives the same records as `vnet trace`.
  "$vnet" -n seed000-ipip-test1 trace on
  "$vnet" lab exec "$tcp_lab" hostA -- ping -c 1 -W 2 172.16.2.20 > /dev/null || true
  "$vnet" -n seed000-ipip-test1 trace off
  live=$("$vnet" -n seed000-ipip-test1 trace show)
  if grep -q "encap     ipip0 ipip: outer 58.64.177.151 -> 122.128.111.219" <<< "$live" &&
     grep -q "decap     ipip0 ipip: outer 122.128.111.219 -> 58.64.177.151" <<< "$live"; then
    ok "vnet -n test1 trace: live encap and decap records ($(wc -l <<< "$live") records)"
  else
    echo "$live" | tail -20; bad "live trace"
  fi
  "$vnet" lab down "$tcp_lab" > /dev/null
else
  bad "seed 000 up for the TCP test"
fi

if bash tests/real/robustness.sh "$vnet"; then ok "vnetd robustness"; else bad "vnetd robustness"; fi
if out=$(bash tests/real/metrics.sh "$vnet" 2>&1); then ok "$out"; else echo "$out"; bad "vnetd metrics"; fi
if out=$(bash tests/real/flood.sh "$vnet" 2>&1); then ok "$out"; else echo "$out"; bad "vnetd floods"; fi
if bash tests/real/etcd-faults.sh "$vnet"; then
  ok "control plane faults on a real etcd (outage, agent kill -9, malformed values)"
else
  bad "control plane faults"
fi

# `vnet lab down` after vnet itself was killed -9 halfway through `up`.
"$vnet" lab up examples/seed000-gre.yaml --real > /dev/null 2>&1 &
up_pid=$!
sleep 1.5
kill -9 "$up_pid" 2> /dev/null || true
wait "$up_pid" 2> /dev/null || true
made=$(ip netns list | grep -c '^seed000-gre-' || true)
"$vnet" lab down examples/seed000-gre.yaml > /dev/null
if [[ $(ip netns list | grep -c '^seed000-gre-' || true) == 0 ]] && ! pgrep -f -- '--name seed000-gre-' > /dev/null; then
  ok "down after kill -9 of vnet during up ($made namespaces had been made) leaves nothing"
else
  bad "down after kill -9 of vnet"
fi

# Nothing left behind.
cleanup
sleep 0.2
leftover_ns=$(comm -13 <(echo "$netns_before") <(ip netns list | sort) || true)
leftover_links=$(comm -13 <(echo "$links_before") <(ip -o link show | awk -F': ' '{print $2}' | sort) || true)
# Running vnetd processes (a zombie whose parent, a killed `vnet`, was reparented is dead and
# waits for init to reap it).
leftover_procs=$(ps -eo pid,stat,comm | awk '$3 == "vnetd" && $2 !~ /^Z/' || true)
leftover_procs+=$(pgrep -af -- '--data-dir /run/vnet/labs/' || true)
etc_changed=$(diff <(echo "$etc_before") <(find /etc/iproute2 -type f -exec md5sum {} + | sort) || true)
leftover_etc=$(ls /etc/netns 2> /dev/null | grep -E '^(seed00|vxlan-interop|vnrobust)' || true)
if [[ -z "$leftover_ns$leftover_links$leftover_procs$etc_changed$leftover_etc" ]]; then
  ok "nothing left behind (namespaces, root-namespace links, vnetd processes, /etc/netns copies; the host's /etc/iproute2 unchanged)"
else
  echo "/etc/iproute2 changes: $etc_changed"; echo "/etc/netns: $leftover_etc"
  echo "namespaces: $leftover_ns"; echo "links: $leftover_links"; echo "processes: $leftover_procs"
  bad "leftovers"
fi
echo "real: $passed passed, $failed failed"
((failed == 0))
