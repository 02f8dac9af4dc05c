#!/usr/bin/env bash
# Does the Linux kernel's VXLAN accept what vnet emits?  A vnet lab sends an ARP request and a
# ping into VNI 42; the VXLAN frames of its pcap are replayed, with only the outer destination
# MAC rewritten, into a network namespace whose kernel VXLAN device (id 42, dstport 4789) must
# count them, learn vnet's inner MAC against vnet's VTEP address, and answer the echo request
# (Icmp InEchos in that namespace's /proc/net/snmp).  Needs root; namespaces are deleted on exit.
# Usage: tests/diff/vxlan_accept.sh PATH/TO/vnet
set -euo pipefail
cd "$(dirname "$0")/../.."
vnet=$(realpath "${1:?usage: tests/diff/vxlan_accept.sh PATH/TO/vnet}")
k=vnetvx-k$$
i=vnetvx-i$$
work=$(mktemp -d)
cleanup() {
  ip netns del "$k" 2> /dev/null || true
  ip netns del "$i" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/lab.yaml" << 'LAB'
name: vxaccept
topology:
  nodes:
    vtep:
      kind: vnet
      exec:
        - ip addr add 192.0.2.1/24 dev eth0
        - ip link add vxlan0 type vxlan id 42 remote 192.0.2.2 local 192.0.2.1 dstport 4789 dev eth0
        - ip link set vxlan0 address 02:00:00:00:0a:01
        - ip link set vxlan0 up
        - ip addr add 10.10.0.1/24 dev vxlan0
    peer:
      kind: linux
      exec: ["ip addr add 192.0.2.2/24 dev eth0"]
  links:
    - endpoints: ["vtep:eth0", "peer:eth0"]
checks:
  - name: ARP for 10.10.0.2 goes out in VXLAN (nobody answers in this lab)
    node: vtep
    run: arping -c 1 -w 1 -I vxlan0 10.10.0.2
    expect: failure
  - node: vtep
    run: ip neigh add 10.10.0.2 lladdr 02:00:00:00:0a:02 dev vxlan0
  - name: a ping to the static neighbour goes out in VXLAN
    node: vtep
    run: ping -c 1 -W 1 10.10.0.2
    expect: failure
LAB
mkdir "$work/pcap"
"$vnet" lab run "$work/lab.yaml" --pcap "$work/pcap" > "$work/lab.log" || true

ip netns add "$k"
ip netns add "$i"
ip link add vxk-und netns "$k" type veth peer name vxk-inj netns "$i"
ip -n "$k" link set lo up
ip -n "$k" link set vxk-und up
ip -n "$k" addr add 192.0.2.2/24 dev vxk-und
ip -n "$k" link add vxlan0 type vxlan id 42 local 192.0.2.2 dstport 4789 dev vxk-und
ip -n "$k" link set vxlan0 address 02:00:00:00:0a:02
ip -n "$k" link set vxlan0 up
ip -n "$k" addr add 10.10.0.2/24 dev vxlan0
ip -n "$i" link set vxk-inj up
und_mac=$(ip -n "$k" -j link show vxk-und | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')

sent=$(ip netns exec "$i" python3 - "$work/pcap/vtep-eth0.pcap" "$und_mac" << 'PY'
import socket, struct, sys
path, mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
data = open(path, "rb").read()
off, sent = 24, 0
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("vxk-inj", 0))
while off + 16 <= len(data):
    incl = struct.unpack_from("<I", data, off + 8)[0]
    frame = data[off + 16:off + 16 + incl]
    off += 16 + incl
    # IPv4, UDP, destination port 4789: the VXLAN frames vnet sent.
    if len(frame) > 42 and frame[12:14] == b"\x08\x00" and frame[23] == 17 and \
            struct.unpack_from("!H", frame, 36)[0] == 4789:
        s.send(mac + frame[6:])
        sent += 1
print(sent)
PY
)
sleep 0.5
rx=$(ip -n "$k" -j -s link show vxlan0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])')
echos=$(ip netns exec "$k" awk '/^Icmp:/ { if (!h) { for (n = 1; n <= NF; n++) col[$n] = n; h = 1 } else print $col["InEchos"] }' /proc/net/snmp)
fdb=$(ip netns exec "$k" bridge fdb show dev vxlan0)
echo "vnet sent $sent VXLAN frames; kernel vxlan0 received $rx, answered $echos echo request(s)"
echo "kernel fdb: $(tr '\n' ';' <<< "$fdb")"
if ((sent >= 2 && rx == sent && echos >= 1)) && grep -q "02:00:00:00:0a:01 dst 192.0.2.1" <<< "$fdb"; then
  echo "PASS the kernel's VXLAN accepts vnet's VXLAN frames"
else
  cat "$work/lab.log"
  echo "FAIL the kernel's VXLAN did not accept every frame"
  exit 1
fi
