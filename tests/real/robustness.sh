#!/usr/bin/env bash
# vnetd survives malformed frames and a kill -9 (root):
#   1. h1 -> r (vnetd) -> h2 forwards;
#   2. malformed frames written on h1's side of the link (truncated headers, bad IHL, bad IPv4
#      and UDP checksums, total length past the frame, bogus GRE flags, runt frames, random
#      bytes) are dropped and counted under their reasons, and forwarding goes on;
#   3. after kill -9 of vnetd's node process, its supervisor (--restart) starts it again and it
#      restores its journal (--journal): forwarding is back within 1 s (a 10 ms ping counts the
#      loss), with a route added after start;
#   4. a torn journal (cut short) is refused and the previous good one restored.
# Usage: tests/real/robustness.sh PATH/TO/vnet     (VNET_VNETD names vnetd)
set -euo pipefail
cd "$(dirname "$0")/../.."
vnet=$(realpath "${1:?usage: tests/real/robustness.sh PATH/TO/vnet}")
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

# 3. Crash recovery: kill -9 of the node's process (the pid in r.pid; vnetd runs with --restart
# and --journal under the lab).  Its supervisor starts it again and it restores the journal:
# the lab's exec lines and a route added afterwards through the control socket.  A ping every
# 10 ms measures the outage; it must be under 1 s.
"$vnet" -n "$ns" ip route add 192.0.2.0/25 via 203.0.113.2 > /dev/null
recover() {  # $1: what for; kills the worker during a 3 s ping and prints the pings lost
  local worker pings
  worker=$(cat "$state/r.pid")
  ip netns exec vnrobust-h1 ping -i 0.01 -c 300 -W 1 203.0.113.2 > "$state/recovery.ping" 2>&1 &
  pings=$!
  sleep 0.5
  kill -9 "$worker"
  wait "$pings" || true
  [[ $(cat "$state/r.pid") != "$worker" ]] || fail "$1: vnetd was not restarted"
  awk '/packets transmitted/ {print $1 - $4}' "$state/recovery.ping"
}
lost=$(recover "kill -9")
((lost * 10 < 1000)) || fail "kill -9: $lost of 300 pings lost (${lost}0 ms or more without forwarding)"
"$vnet" -n "$ns" ip route show 192.0.2.0/25 | grep -q "via 203.0.113.2" ||
  fail "kill -9: the route added after start was not restored"
# 4. A torn journal: the current file cut short as a write killed halfway would leave it.  The
# restart refuses it, says so, and restores the previous good one (without the last line).
"$vnet" -n "$ns" ip route add 192.0.2.128/25 via 203.0.113.2 > /dev/null
truncate -s -10 "$state/r.journal"
torn_lost=$(recover "torn journal")
grep -q "journal $state/r.journal refused" "$state/r.log" || fail "torn journal: no refusal logged"
"$vnet" -n "$ns" ip route show 192.0.2.0/25 | grep -q "via 203.0.113.2" ||
  fail "torn journal: the previous journal was not restored"
[[ -z $("$vnet" -n "$ns" ip route show 192.0.2.128/25) ]] ||
  fail "torn journal: the line of the torn write was restored"
echo "robustness: malformed frames dropped and counted; kill -9: $lost of 300 10-ms pings lost, journal restored; torn journal: previous one used ($torn_lost lost)"
