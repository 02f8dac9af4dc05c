#!/usr/bin/env bash
# vnetd survives malformed frames and a kill -9 (root):
#   1. h1 -> r (vnetd) -> h2 forwards;
#   2. malformed frames written on h1's side of the link (truncated headers, bad IHL, bad IPv4
#      and UDP checksums, total length past the frame, bogus GRE flags, runt frames, random
#      bytes) are dropped and counted under their reasons, and forwarding goes on;
#   3. after kill -9 of vnetd and a restart with the lab's commands replayed (--exec-file),
#      forwarding resumes.
# Usage: tests/real/robustness.sh PATH/TO/vnet     (VNET_VNETD names vnetd)
set -euo pipefail
cd "$(dirname "$0")/../.."
vnet=$(realpath "${1:?usage: tests/real/robustness.sh PATH/TO/vnet}")
vnetd=${VNET_VNETD:-$(dirname "$vnet")/../vnetd/vnetd}
lab=tests/real/robustness.yaml
ns=vnrobust-r
state=${VNET_RUN_DIR:-/run/vnet}/labs/vnrobust
trap '"$vnet" lab down "$lab" > /dev/null 2>&1 || true' EXIT
fail() { echo "robustness: $*"; exit 1; }

"$vnet" lab up "$lab" --real > /dev/null
ip netns exec vnrobust-h1 ping -c 2 -i 0.2 -W 2 203.0.113.2 > /dev/null || fail "no forwarding at start"

mac=$(ip -n "$ns" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
ip netns exec vnrobust-h1 python3 - "$mac" << 'PY'
import os, random, socket, struct, sys
dst = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
src = open("/sys/class/net/eth0/address").read().strip()
src = bytes.fromhex(src.replace(":", ""))
eth = dst + src + b"\x08\x00"

def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return (~t) & 0xffff

def ip(proto, payload, ihl=5, total=None, bad_csum=False, src="198.51.100.2", dst="198.51.100.1"):
    total = total if total is not None else 20 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    c = csum(h) ^ (0xffff if bad_csum else 0)
    return h[:10] + struct.pack("!H", c) + h[12:] + payload

frames = [
    eth + b"\x45\x00",                                     # truncated IPv4 header
    eth + ip(1, b"\x08\x00\x00\x00\x00\x01\x00\x01", ihl=3),  # IHL below 5
    eth + ip(1, b"\x08\x00\xf7\xfe\x00\x01\x00\x00", bad_csum=True),  # bad header checksum
    eth + ip(1, b"\x08\x00\xf7\xfe\x00\x01\x00\x00", total=1400),     # length past the frame
    eth + ip(17, struct.pack("!HHHH", 1234, 4789, 16, 0x1234) + b"\0" * 8),  # bad UDP checksum
    eth + ip(47, b"\x00\x01\x08\x00" + b"\0" * 20),        # GRE version 1
    eth + ip(47, b"\x40\x00\x08\x00" + b"\0" * 20),        # GRE routing bit
    eth + ip(47, b"\x20"),                                 # GRE header cut short
    dst + src + b"\x08\x06" + b"\x00" * 10,                # truncated ARP
]
random.seed(42)
for _ in range(2000):
    frames.append(eth + os.urandom(random.randint(0, 200)))
for f in frames:
    s.send(f)
print(len(frames), "frames injected")
PY
sleep 0.5
pgrep -f -- "--name $ns" > /dev/null || fail "vnetd died on malformed frames"
ip netns exec vnrobust-h1 ping -c 2 -i 0.2 -W 2 203.0.113.2 > /dev/null || fail "no forwarding after malformed frames"
stats=$("$vnet" -n "$ns" stats)
echo "$stats" | grep -E "drop " | sed 's/^/  /'
for reason in IP_INHDR IP_CSUM TUNNEL_INVALID_HDR UDP_CSUM; do
  grep -q "drop $reason" <<< "$stats" || fail "no $reason drops counted"
done

pid=$(pgrep -f -- "--name $ns" | head -1)
kill -9 "$pid"
sleep 0.3
if ip netns exec vnrobust-h1 ping -c 1 -W 1 203.0.113.2 > /dev/null 2>&1; then
  fail "forwarding without vnetd?"
fi
setsid ip netns exec "$ns" "$vnetd" --name "$ns" --exec-file "$state/r.exec" \
  --pidfile "$state/r.pid" >> "$state/r.log" 2>&1 < /dev/null &
for _ in $(seq 50); do
  "$vnet" -n "$ns" ip link show lo > /dev/null 2>&1 && break
  sleep 0.1
done
ip netns exec vnrobust-h1 ping -c 2 -i 0.2 -W 2 203.0.113.2 > /dev/null || fail "no forwarding after the restart"
echo "robustness: malformed frames dropped and counted, forwarding resumed after kill -9 and restart"
