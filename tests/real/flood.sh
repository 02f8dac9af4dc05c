#!/usr/bin/env bash
# Floods into a vnetd (root), bounded in count and time, in the robustness lab's own namespaces
# (h1 -- r -- h2; r is a vnetd).  r gets MASQUERADE out of eth1, nf_conntrack_max 2048, and
# 10.0.0.1/8 on eth0 so that random 10/8 sources are its neighbours.  h1 then writes, with a
# raw packet socket, twice, 40,000 SYNs and 40,000 UDP datagrams from random 100.64/10 sources to h2,
# 30,000 ICMP echo requests to r from random 10/8 sources, and 20,000 first fragments to r,
# while a ping runs from h1 to h2 every 10 ms.  After it:
#   - conntrack holds at most nf_conntrack_max entries and `conntrack -S` counts early drops;
#   - the neighbour table holds at most gc_thresh3 (1024) entries besides permanent ones, and
#     NEIGH_CREATEFAIL counted the replies that found it full;
#   - reassembly held at most 4 MiB (the metric vnet_reassembly_bytes, and FRAG_FAILED drops);
#   - vnetd's resident memory grew by less than 32 MiB in the first flood (buffers, tables
#     filling) and by less than 4 MiB in a second, identical one (flat); the ping lost under 10 %.
# Usage: tests/real/flood.sh PATH/TO/vnet     (VNET_VNETD names vnetd)
set -euo pipefail
cd "$(dirname "$0")/../.."
vnet=$(realpath "${1:?usage: tests/real/flood.sh PATH/TO/vnet}")
lab=tests/real/robustness.yaml
ns=vnrobust-r
state=${VNET_RUN_DIR:-/run/vnet}/labs/vnrobust
trap '"$vnet" lab down "$lab" > /dev/null 2>&1 || true' EXIT
fail() { echo "flood: $*"; exit 1; }
"$vnet" lab up "$lab" --real > /dev/null
for line in "ip addr add 10.0.0.1/8 dev eth0" "ip route add 100.64.0.0/10 via 198.51.100.2" \
  "sysctl -qw net.netfilter.nf_conntrack_max=2048" \
  "iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE"; do
  "$vnet" -n "$ns" $line > /dev/null || fail "$line"
done
ip netns exec vnrobust-h1 ping -c 2 -i 0.2 -W 2 203.0.113.2 > /dev/null || fail "no forwarding at start"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$(cat "$state/r.pid")/status"; }
rss_before=$(rss)
pid_before=$(cat "$state/r.pid")  # vnetd runs under --restart: a crash would be hidden by it

mac=$(ip -n "$ns" -j link show eth0 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
ip netns exec vnrobust-h1 ping -q -i 0.01 -c 1500 -W 1 203.0.113.2 > "$state/flood.ping" 2>&1 &
pinger=$!
start=$SECONDS
cat > "$state/flood.py" << 'PY'
import random, socket, struct, sys, time
dst = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
src = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
eth = dst + src + b"\x08\x00"
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return (~t) & 0xffff
def ip(proto, payload, s_ip, d_ip, frag=0, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, s_ip, d_ip)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
def l4sum(proto, s_ip, d_ip, seg):
    return csum(s_ip + d_ip + struct.pack("!BBH", 0, proto, len(seg)) + seg)
h2 = socket.inet_aton("203.0.113.2")
r = socket.inet_aton("10.0.0.1")
rnd = random.Random(5)
def cgnat(): return struct.pack("!I", (100 << 24) | (64 << 16) | rnd.getrandbits(22))
def ten(): return struct.pack("!I", (10 << 24) | (rnd.randrange(1, 255) << 16) | rnd.getrandbits(16))
sent = 0
for i in range(40000):  # SYNs
    a, sp = cgnat(), rnd.randrange(1024, 65535)
    tcp = struct.pack("!HHIIBBHHH", sp, 80, rnd.getrandbits(32), 0, 0x50, 0x02, 64240, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", l4sum(6, a, h2, tcp)) + tcp[18:]
    s.send(eth + ip(6, tcp, a, h2)); sent += 1
for i in range(40000):  # UDP
    a, sp = cgnat(), rnd.randrange(1024, 65535)
    u = struct.pack("!HHHH", sp, 53, 12, 0) + b"flds"
    u = u[:6] + struct.pack("!H", l4sum(17, a, h2, u)) + u[8:]
    s.send(eth + ip(17, u, a, h2)); sent += 1
for i in range(30000):  # ICMP echo to r from its 10/8 neighbours-to-be
    a = ten()
    icmp = struct.pack("!BBHHH", 8, 0, 0, i & 0xffff, 1) + b"x" * 8
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    s.send(eth + ip(1, icmp, a, r)); sent += 1
    if i % 3000 == 0: time.sleep(0.3)  # let resolutions fail, so the forced gc has work
for i in range(20000):  # first fragments that never complete
    s.send(eth + ip(17, b"\0" * 1200, ten(), r, frag=0x2000, ident=rnd.getrandbits(16))); sent += 1
print(sent, "flood packets")
PY
# Twice: the first fills the tables; the second must not grow vnetd's memory further.
ip netns exec vnrobust-h1 /usr/bin/python3 "$state/flood.py" "$mac" > /dev/null
rss_mid=$(rss)
ip netns exec vnrobust-h1 /usr/bin/python3 "$state/flood.py" "$mac" > /dev/null
flood_secs=$((SECONDS - start))
metrics=$("$vnet" -n "$ns" stats --prometheus)
wait "$pinger" || true
lost=$(grep -oE '[0-9.]+% packet loss' "$state/flood.ping" | cut -d% -f1)
rss_after=$(rss)
value() { awk -v k="$1" '$1 == k {print $2}' <<< "$metrics"; }
ct=$(value 'vnet_conntrack_entries{node="vnrobust-r"}')
ct_max=$(value 'vnet_conntrack_max{node="vnrobust-r"}')
neigh=$(awk '/^vnet_neighbours\{/ && !/PERMANENT/ {n += $2} END {print n + 0}' <<< "$metrics")
createfail=$(value 'vnet_drops_total{node="vnrobust-r",reason="NEIGH_CREATEFAIL"}')
fragfail=$(value 'vnet_drops_total{node="vnrobust-r",reason="FRAG_FAILED"}')
reasm=$(value 'vnet_reassembly_bytes{node="vnrobust-r"}')
early=$("$vnet" -n "$ns" conntrack -S | sed -n 's/.*early_drop=\([0-9]*\).*/\1/p')
echo "flood: 2 x 130000 packets in ${flood_secs}s; conntrack $ct/$ct_max, early drops $early;" \
  "neighbours $neigh (NEIGH_CREATEFAIL $createfail); reassembly $reasm bytes (FRAG_FAILED $fragfail);" \
  "RSS ${rss_before} -> ${rss_mid} -> ${rss_after} KiB; ping loss ${lost}%"
[[ $(cat "$state/r.pid") == "$pid_before" ]] && ! grep -q "restarting" "$state/r.log" ||
  fail "vnetd died during the flood (restarted by its supervisor)"
((ct <= ct_max && ct_max == 2048)) || fail "conntrack $ct over its max $ct_max"
((early > 0)) || fail "no early drops counted"
((neigh <= 1024)) || fail "neighbours $neigh over gc_thresh3"
((createfail > 0)) || fail "NEIGH_CREATEFAIL not counted"
((reasm <= 4194304)) || fail "reassembly holds $reasm bytes"
((fragfail > 0)) || fail "FRAG_FAILED not counted"
((rss_mid - rss_before < 32768)) || fail "RSS grew from $rss_before to $rss_mid KiB"
((rss_after - rss_mid < 4096)) || fail "RSS grew again in the second flood: $rss_mid -> $rss_after KiB"
/usr/bin/python3 -c "import sys; sys.exit(0 if float('$lost') < 10 else 1)" || fail "ping lost $lost%"
