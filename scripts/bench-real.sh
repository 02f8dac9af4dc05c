#!/usr/bin/env bash
# vnetd against its peers on real interfaces, in one run (root; builds with scripts/build.sh
# first if needed).  Every path joins the same two hosts, h1 and h2, over veths in the labs' own
# network namespaces:
#   kernel   h1 -- r -- h2, r a Linux namespace routing (the reference: ratios are to this row);
#   bridge   h1 -- br -- h2, br a Linux bridge (one subnet);
#   ovs      h1 -- ovs -- h2, Open vSwitch's userspace datapath (datapath_type=netdev, AF_PACKET
#            system ports, NORMAL switching), when ovs-vswitchd is installed; the hosts' tx
#            offloads are off, as OVS without userspace-tso needs;
#   vnetd    h1 -- r -- h2, r a vnet node (vnetd: recvmmsg receive, GSO kept whole);
#   ring     the same with vnetd --rx ring (TPACKET_V3, 1 ms block timeout);
#   cut      the same with vnetd --offloads cut (every GSO frame segmented on receive);
#   gre      h1 -- g1 == GRE key 7 == g2 -- h2, g1 and g2 vnet nodes.
# Each path is measured RUNS times (default 3) and the medians are printed:
#   TCP      iperf3, one stream, SECONDS long (offloads as the veths have them by default);
#   UDP      iperf3 -u -l 64 -b 0: 64-byte datagrams as fast as the sender can, counted received;
#   RTT      ping -c 200 -i 0.005 (the mean, ms), and what the path adds to the kernel's.
# Usage: scripts/bench-real.sh [SECONDS] [RUNS] [PATH...]      (default 5 s, 3 runs, all paths)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
runs=${2:-3}
shift $(($# > 2 ? 2 : $#))
paths=("$@")
((${#paths[@]})) || paths=(kernel bridge ovs vnetd ring cut gre)
vnet=$(realpath build/src/cli/vnet)
vnetd=$(realpath build/src/vnetd/vnetd)
[[ -x "$vnet" && -x "$vnetd" ]] || scripts/build.sh build > /dev/null
work=$(mktemp -d)
labs=()
ovs_pids=()
cleanup() {
  for p in "${ovs_pids[@]}"; do kill "$p" 2> /dev/null || true; done
  for l in "${labs[@]}"; do "$vnet" lab down "$l" > /dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# vnetd with extra options: a wrapper that execs it (the lab finds it by its command line).
for variant in ring:--rx=ring cut:--offloads=cut; do
  mkdir -p "$work/${variant%%:*}"
  printf '#!/bin/sh\nexec %s %s "$@"\n' "$vnetd" "${variant#*:}" > "$work/${variant%%:*}/vnetd"
  chmod +x "$work/${variant%%:*}/vnetd"
done

hosts() {  # the two hosts, h2 running an iperf3 server; $1: h2's address, $2: extra commands
  cat << EOF2
    h1:
      kind: linux
      exec: ["ip addr add 10.1.0.2/24 dev eth0", "ip route add default via 10.1.0.1"${2:-}]
    h2:
      kind: linux
      exec: ["ip addr add $1/24 dev eth0", "ip route add default via ${1%.*}.1",
             "iperf3 -s -D --logfile /dev/null"${2:-}]
EOF2
}
routed() {  # $1: lab name, $2: the router's kind
  cat << EOF2
name: $1
topology:
  nodes:
$(hosts 10.2.0.2)
    r:
      kind: $2
      exec: ["ip addr add 10.1.0.1/24 dev eth0", "ip addr add 10.2.0.1/24 dev eth1",
             "sysctl -w net.ipv4.ip_forward=1"]
  links:
    - endpoints: ["h1:eth0", "r:eth0"]
    - endpoints: ["r:eth1", "h2:eth0"]
EOF2
}
switched() {  # $1: lab name, $2: the switch's kind, $3: extra host commands
  cat << EOF2
name: $1
topology:
  nodes:
$(hosts 10.1.0.3 "$3")
    sw:
      kind: $2
  links:
    - endpoints: ["h1:eth0", "sw:eth0"]
    - endpoints: ["sw:eth1", "h2:eth0"]
EOF2
}
routed bench-kernel linux > "$work/kernel.yaml"
routed bench-vnetd vnet > "$work/vnetd.yaml"
routed bench-ring vnet > "$work/ring.yaml"
routed bench-cut vnet > "$work/cut.yaml"
switched bench-bridge bridge "" > "$work/bridge.yaml"
switched bench-ovs linux ', "ethtool -K eth0 tx off"' > "$work/ovs.yaml"
cat > "$work/gre.yaml" << EOF2
name: bench-gre
topology:
  nodes:
$(hosts 10.2.0.2)
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

# Open vSwitch in the switch's namespace, with its database, sockets and logs in $work/ovs.
start_ovs() {
  local ns=bench-ovs-sw d=$work/ovs
  mkdir -p "$d"
  export OVS_RUNDIR=$d OVS_DBDIR=$d OVS_LOGDIR=$d OVS_SYSCONFDIR=$d
  ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  ip netns exec $ns ovsdb-server "$d/conf.db" --remote="punix:$d/db.sock" \
    --pidfile="$d/ovsdb.pid" --unixctl="$d/ovsdb.ctl" --log-file="$d/ovsdb.log" -vconsole:off --detach
  ovs_pids+=("$(cat "$d/ovsdb.pid")")
  ip netns exec $ns ovs-vsctl --db="unix:$d/db.sock" --no-wait init
  ip netns exec $ns ovs-vswitchd "unix:$d/db.sock" --pidfile="$d/vswitchd.pid" \
    --unixctl="$d/vswitchd.ctl" --log-file="$d/vswitchd.log" -vconsole:off --detach
  ovs_pids+=("$(cat "$d/vswitchd.pid")")
  ip netns exec $ns ovs-vsctl --db="unix:$d/db.sock" add-br br0 \
    -- set bridge br0 datapath_type=netdev -- add-port br0 eth0 -- add-port br0 eth1
  ip netns exec $ns ip link set br0 up
}
stop_ovs() {
  for p in "${ovs_pids[@]}"; do kill "$p" 2> /dev/null || true; done
  ovs_pids=()
}

median() { python3 -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
declare -A tcp udp rtt
measured=()
for path in "${paths[@]}"; do
  if [[ $path == ovs ]] && ! command -v ovs-vswitchd > /dev/null; then
    echo "ovs: skipped (ovs-vswitchd not installed: apt-get install openvswitch-switch)" >&2
    continue
  fi
  lab="$work/$path.yaml"
  [[ -f $lab ]] || { echo "unknown path $path" >&2; exit 2; }
  labs+=("$lab")
  case $path in
    ring | cut) export VNET_VNETD=$work/$path/vnetd ;;
    *) export VNET_VNETD=$vnetd ;;
  esac
  name=$(awk '/^name:/ {print $2}' "$lab")
  dst=10.2.0.2
  [[ $path == bridge || $path == ovs ]] && dst=10.1.0.3
  "$vnet" lab up "$lab" --real > /dev/null
  [[ $path == ovs ]] && start_ovs
  ns=$name-h1
  ip netns exec "$ns" ping -c 3 -i 0.2 -W 2 "$dst" > /dev/null
  t=() u=() r=()
  for ((i = 0; i < runs; i++)); do
    t+=("$(ip netns exec "$ns" iperf3 -c "$dst" -t "$secs" -J |
      python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))')")
    u+=("$(ip netns exec "$ns" iperf3 -c "$dst" -u -l 64 -b 0 -t "$secs" -J |
      python3 -c 'import json,sys; s = json.load(sys.stdin)["end"]["sum"]; print("%.0f" % ((s["packets"] - s["lost_packets"]) / s["seconds"]))')")
    r+=("$(ip netns exec "$ns" ping -q -c 200 -i 0.005 "$dst" |
      awk -F/ '/^rtt/ {print $5}')")
  done
  tcp[$path]=$(median "${t[@]}")
  udp[$path]=$(median "${u[@]}")
  rtt[$path]=$(median "${r[@]}")
  echo "$path: TCP ${t[*]} Gbit/s; UDP ${u[*]} packets/s; RTT ${r[*]} ms" >&2
  [[ $path == ovs ]] && stop_ovs
  "$vnet" lab down "$lab" > /dev/null
  measured+=("$path")
done

ref=kernel
[[ -n ${tcp[kernel]:-} ]] || ref=${measured[0]}
label() {
  case $1 in
    kernel) echo "kernel routing between namespaces" ;;
    bridge) echo "kernel bridge" ;;
    ovs) echo "Open vSwitch, userspace datapath (netdev)" ;;
    vnetd) echo "one vnetd router" ;;
    ring) echo "one vnetd router, --rx ring" ;;
    cut) echo "one vnetd router, --offloads cut" ;;
    gre) echo "vnetd-to-vnetd GRE tunnel (key)" ;;
  esac
}
echo "medians of $runs runs of ${secs} s; ratios to $(label "$ref")"
echo
echo "| path | TCP Gbit/s | ratio | UDP 64 B packets/s | ratio | ping RTT ms | added ms |"
echo "|---|---|---|---|---|---|---|"
for path in "${measured[@]}"; do
  python3 - "$(label "$path")" "${tcp[$path]}" "${tcp[$ref]}" "${udp[$path]}" "${udp[$ref]}" \
    "${rtt[$path]}" "${rtt[$ref]}" << 'EOF2'
import sys
label, t, tr, u, ur, r, rr = sys.argv[1], *map(float, sys.argv[2:])
print(f"| {label} | {t:.2f} | {t / tr:.2f} | {u:,.0f} | {u / ur:.2f} | {r:.3f} | {r - rr:+.3f} |")
EOF2
done
