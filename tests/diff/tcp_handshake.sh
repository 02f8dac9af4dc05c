#!/usr/bin/env bash
# Differential test of TCP's handshake: the segments of `curl http://10.0.0.2:8000/` against
# `python3 -m http.server`, captured on the client's interface, from the kernel (two network
# namespaces joined by a veth pair) and from vnet (the same topology as a simulated lab with
# --pcap), at MTU 1500 and 1400.  Compared per segment, in order, for the handshake (SYN,
# SYN-ACK, ACK) and the request: direction, flags, the raw window field, payload length, the
# option kinds in order and the MSS, window-scale and SACK-permitted values, and whether the
# timestamp echo is zero.  Timestamp values, sequence numbers and ports differ by design.
# Needs root.  The namespaces are deleted on exit, also on failure.
# Usage: tests/diff/tcp_handshake.sh PATH/TO/vnet
set -euo pipefail
cd "$(dirname "$0")/../.."
vnet=$(realpath "${1:?usage: tests/diff/tcp_handshake.sh PATH/TO/vnet}")
work=$(mktemp -d /tmp/vnet-tcpdiff.XXXXXX)
ns_c=vtd-c-$$
ns_s=vtd-s-$$
cleanup() {
  ip netns pids "$ns_s" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns pids "$ns_c" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$ns_c" 2>/dev/null || true
  ip netns del "$ns_s" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# One line per TCP segment of the first connection: dir flags window len kinds mss wscale
# sackOK ecr-zero.  tshark prints the fields; the direction comes from the source address.
normalize() {
  tshark -r "$1" -Y tcp -T fields -E separator='|' -E occurrence=a -E aggregator=',' \
    -e ip.src -e tcp.flags -e tcp.window_size_value -e tcp.len -e tcp.option_kind \
    -e tcp.options.mss_val -e tcp.options.wscale.shift -e tcp.options.timestamp.tsecr \
    2> /dev/null |
    awk -F'|' '{
      dir = ($1 == "10.0.0.1") ? "C>S" : "S>C";
      ecr = ($8 == "") ? "-" : (($8 == "0") ? "zero" : "set");
      printf "%s flags=%s win=%s len=%s opts=%s mss=%s wscale=%s ecr=%s\n", dir, $2, $3, $4,
        ($5 == "") ? "-" : $5, ($6 == "") ? "-" : $6, ($7 == "") ? "-" : $7, ecr;
    }'
}

kernel_capture() {  # MTU OUT
  local mtu=$1 out=$2
  ip netns add "$ns_c"
  ip netns add "$ns_s"
  ip link add vtd-c type veth peer name vtd-s
  ip link set vtd-c netns "$ns_c"
  ip link set vtd-s netns "$ns_s"
  for ns in "$ns_c" "$ns_s"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  ip -n "$ns_c" link set vtd-c mtu "$mtu" up
  ip -n "$ns_s" link set vtd-s mtu "$mtu" up
  # No offloads: the capture shows segments as they are on the wire.
  ip netns exec "$ns_c" ethtool -K vtd-c tso off gso off gro off > /dev/null 2>&1 || true
  ip netns exec "$ns_s" ethtool -K vtd-s tso off gso off gro off > /dev/null 2>&1 || true
  ip -n "$ns_c" addr add 10.0.0.1/24 dev vtd-c
  ip -n "$ns_s" addr add 10.0.0.2/24 dev vtd-s
  mkdir -p "$work/www"
  echo "hello" > "$work/www/index.html"
  (cd "$work/www" && exec ip netns exec "$ns_s" python3 -m http.server 8000 --bind 10.0.0.2) \
    > "$work/http.log" 2>&1 &
  ip netns exec "$ns_c" tshark -q -i vtd-c -w "$out" -f tcp > "$work/tshark.log" 2>&1 &
  local cap=$!
  for _ in $(seq 50); do
    ip netns exec "$ns_s" ss -ltn 2> /dev/null | grep -q 10.0.0.2:8000 && break
    sleep 0.1
  done
  sleep 1  # tshark starts capturing
  ip netns exec "$ns_c" curl -s -o /dev/null http://10.0.0.2:8000/
  sleep 1
  kill "$cap"
  wait "$cap" 2> /dev/null || true
  ip netns pids "$ns_s" | xargs -r kill 2> /dev/null || true
  sleep 0.2
  ip netns del "$ns_c"
  ip netns del "$ns_s"
}

vnet_capture() {  # MTU OUT
  local mtu=$1 out=$2
  cat > "$work/lab.yaml" << EOF
name: tcpdiff
topology:
  nodes:
    c: {kind: linux, exec: ["ip link set eth0 mtu $mtu", "ip addr add 10.0.0.1/24 dev eth0"]}
    s:
      kind: linux
      exec:
        - ip link set eth0 mtu $mtu
        - ip addr add 10.0.0.2/24 dev eth0
        - mkdir -p /srv/www && cd /srv/www && echo hello > index.html
        - cd /srv/www && python3 -m http.server 8000 --bind 10.0.0.2 &
  links:
    - endpoints: ["c:eth0", "s:eth0"]
      mtu: $mtu
checks:
  - node: c
    run: curl -s -o /dev/null http://10.0.0.2:8000/; sleep 1
EOF
  rm -rf "$work/pcap"
  "$vnet" lab run "$work/lab.yaml" --pcap "$work/pcap" > "$work/lab.log"
  cp "$work/pcap/c-eth0.pcap" "$out"
}

status=0
for mtu in 1500 1400; do
  kernel_capture "$mtu" "$work/kernel.pcap"
  vnet_capture "$mtu" "$work/vnet.pcap"
  normalize "$work/kernel.pcap" > "$work/kernel.txt"
  normalize "$work/vnet.pcap" > "$work/vnet.txt"
  # The handshake, the request and the response up to its body: the first seven segments
  # (after that the close races with the last data: Linux puts the FIN on a segment still
  # held by Nagle, as vnet does when the close comes at the same instant).
  if diff <(head -7 "$work/kernel.txt") <(head -7 "$work/vnet.txt") > "$work/diff.txt"; then
    echo "PASS tcp handshake at MTU $mtu: $(head -7 "$work/vnet.txt" | tr '\n' '|')"
  else
    echo "FAIL tcp handshake at MTU $mtu (< kernel, > vnet):"
    cat "$work/diff.txt"
    status=1
  fi
  if [[ -n "${VNET_TCPDIFF_SHOW:-}" ]]; then
    echo "-- kernel"; cat "$work/kernel.txt"; echo "-- vnet"; cat "$work/vnet.txt"
  fi
done
exit "$status"
