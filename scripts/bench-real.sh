#!/usr/bin/env bash
# Throughput of the same two-host topology three ways, in one run (root; builds with
# scripts/build.sh first if needed):
#   (a) kernel: h1 -- r -- h2 with r a Linux namespace routing (the peer);
#   (b) vnetd:  the same with r a vnet node (vnetd on AF_PACKET);
#   (c) GRE:    h1 -- g1 == GRE key 7 == g2 -- h2 with g1 and g2 vnet nodes.
# For each: iperf3 TCP throughput (one stream, offloads on as veths have them by default) and
# the UDP packet rate with 64-byte payloads (iperf3 -u -l 64 -b 0: as fast as the sender can;
# the rate counted at the receiver).  Prints a table with the ratios to (a).
# Usage: scripts/bench-real.sh [SECONDS]        (default 5 s per measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
vnet=$(realpath build/src/cli/vnet)
export VNET_VNETD=$(realpath build/src/vnetd/vnetd)
[[ -x "$vnet" && -x "$VNET_VNETD" ]] || scripts/build.sh build > /dev/null
work=$(mktemp -d)
labs=()
trap 'for l in "${labs[@]}"; do "$vnet" lab down "$l" > /dev/null 2>&1 || true; done; rm -rf "$work"' EXIT

hosts() {  # the two hosts, h2 running an iperf3 server
  cat << 'EOF2'
    h1:
      kind: linux
      exec: ["ip addr add 10.1.0.2/24 dev eth0", "ip route add default via 10.1.0.1"]
    h2:
      kind: linux
      exec: ["ip addr add 10.2.0.2/24 dev eth0", "ip route add default via 10.2.0.1",
             "iperf3 -s -D --logfile /dev/null"]
EOF2
}
for kind in linux vnet; do
  cat > "$work/routed-$kind.yaml" << EOF2
name: bench-$kind
topology:
  nodes:
$(hosts)
    r:
      kind: $kind
      exec: ["ip addr add 10.1.0.1/24 dev eth0", "ip addr add 10.2.0.1/24 dev eth1",
             "sysctl -w net.ipv4.ip_forward=1"]
  links:
    - endpoints: ["h1:eth0", "r:eth0"]
    - endpoints: ["r:eth1", "h2:eth0"]
EOF2
done
cat > "$work/gre.yaml" << EOF2
name: bench-gre
topology:
  nodes:
$(hosts)
    g1:
      kind: vnet
      exec: ["ip addr add 10.1.0.1/24 dev eth0", "ip addr add 192.0.2.1/24 dev eth1",
             "sysctl -w net.ipv4.ip_forward=1",
             "ip tunnel add gre1 mode gre remote 192.0.2.2 local 192.0.2.1 key 7",
             "ip link set gre1 up", "ip addr add 10.9.0.1 peer 10.9.0.2 dev gre1",
             "ip route add 10.2.0.0/24 dev gre1"]
    g2:
      kind: vnet
      exec: ["ip addr add 192.0.2.2/24 dev eth0", "ip addr add 10.2.0.1/24 dev eth1",
             "sysctl -w net.ipv4.ip_forward=1",
             "ip tunnel add gre1 mode gre remote 192.0.2.1 local 192.0.2.2 key 7",
             "ip link set gre1 up", "ip addr add 10.9.0.2 peer 10.9.0.1 dev gre1",
             "ip route add 10.1.0.0/24 dev gre1"]
  links:
    - endpoints: ["h1:eth0", "g1:eth0"]
    - endpoints: ["g1:eth1", "g2:eth0"]
    - endpoints: ["g2:eth1", "h2:eth0"]
EOF2

declare -A tcp udp
for case in routed-linux routed-vnet gre; do
  lab="$work/$case.yaml"
  labs+=("$lab")
  "$vnet" lab up "$lab" --real > /dev/null
  ns=$(awk '/^name:/ {print $2}' "$lab")-h1
  ip netns exec "$ns" ping -c 3 -i 0.2 -W 2 10.2.0.2 > /dev/null
  tcp[$case]=$(ip netns exec "$ns" iperf3 -c 10.2.0.2 -t "$secs" -J |
    python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))')
  udp[$case]=$(ip netns exec "$ns" iperf3 -c 10.2.0.2 -u -l 64 -b 0 -t "$secs" -J |
    python3 -c 'import json,sys; s = json.load(sys.stdin)["end"]["sum"]; print("%.0f" % ((s["packets"] - s["lost_packets"]) / s["seconds"]))')
  "$vnet" lab down "$lab" > /dev/null
done

ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
echo "| path | TCP Gbit/s | ratio | UDP 64-byte packets/s received | ratio |"
echo "|---|---|---|---|---|"
for case in routed-linux routed-vnet gre; do
  case $case in
    routed-linux) label="(a) kernel routing between namespaces" ;;
    routed-vnet) label="(b) one vnetd router" ;;
    gre) label="(c) vnetd-to-vnetd GRE tunnel (key)" ;;
  esac
  echo "| $label | ${tcp[$case]} | $(ratio "${tcp[$case]}" "${tcp[routed-linux]}") | ${udp[$case]} | $(ratio "${udp[$case]}" "${udp[routed-linux]}") |"
done
