#!/usr/bin/env bash
# Lab scenario tests (simulator, no root needed):
#   1. every lab in examples/ deploys and passes its checks;
#   2. `vnet trace` output for one delivered and one dropped packet matches tests/lab/golden;
#   3. a lab whose exec line fails reports file, line, node and the tool's error;
#   4. the pcaps of lab runs decode in tshark with no malformed packets or expert errors, and the
#      tunnel labs' pcaps show IPIP with the seed's outer addresses, GRE with its key, VXLAN VNIs.
# Usage: tests/lab/run.sh PATH/TO/vnet        (VNET_UPDATE_GOLDEN=1 rewrites the goldens)
set -euo pipefail
cd "$(dirname "$0")/../.."
vnet=${1:?usage: tests/lab/run.sh PATH/TO/vnet}
passed=0
failed=0
ok() { echo "PASS $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }

for lab in examples/*.yaml; do
  if "$vnet" lab run "$lab" > "/tmp/vnet-lab-$$.log" 2>&1; then
    ok "lab $lab ($(tail -1 "/tmp/vnet-lab-$$.log"))"
  else
    cat "/tmp/vnet-lab-$$.log"
    bad "lab $lab"
  fi
done

golden() {  # name node probe...
  local name=$1 node=$2
  shift 2
  local out
  out=$("$vnet" trace tests/lab/trace-lab.yaml "$node" -- "$@" 2>&1 || true)
  if [[ "${VNET_UPDATE_GOLDEN:-0}" == 1 ]]; then printf '%s\n' "$out" > "tests/lab/golden/$name.txt"; fi
  if diff <(printf '%s\n' "$out") "tests/lab/golden/$name.txt" > "/tmp/vnet-golden-$$.diff"; then
    ok "trace golden $name"
  else
    cat "/tmp/vnet-golden-$$.diff"
    bad "trace golden $name"
  fi
}
golden trace-delivered h1 ping -c 1 198.51.100.20
golden trace-dropped h2 ping -c 1 -W 1 -I 203.0.113.5 198.51.100.1

# Seed 004: every vSwitch decision of the seed's peering example, hop by hop (proxy ARP,
# route_table miss, subnet_route to the peer VPC, GRE with key 6774, decapsulation, neigh_table).
vpc_trace=$("$vnet" trace examples/seed004-peering.yaml vm1 -- ping -c 1 172.16.0.47 2>&1 || true)
if [[ "${VNET_UPDATE_GOLDEN:-0}" == 1 ]]; then printf '%s\n' "$vpc_trace" > tests/lab/golden/trace-vpc-peering.txt; fi
if diff <(printf '%s\n' "$vpc_trace") tests/lab/golden/trace-vpc-peering.txt > "/tmp/vnet-golden-$$.diff"; then
  ok "trace golden trace-vpc-peering"
else
  cat "/tmp/vnet-golden-$$.diff"; bad "trace golden trace-vpc-peering"
fi

# Seed 001: the asymmetric ping's drop is explained by rp_filter on the server.
seed_trace=$("$vnet" trace examples/seed001-multinic.yaml client -- ping -c 1 -W 1 110.100.1.2 2>&1 || true)
if grep -q "drop      IP_RPFILTER (rp_filter 1: 103.100.1.201 is not reachable back through eth3)" <<< "$seed_trace" &&
   grep -q "^-- server --" <<< "$seed_trace"; then
  ok "seed 001: vnet trace names rp_filter on the server"
else
  printf '%s\n' "$seed_trace" | tail -20
  bad "seed 001 trace"
fi

# vnet lab lint: the examples are clean; a 1400-byte link under a 1480-byte tunnel is found.
for lab in examples/*.yaml; do
  if "$vnet" lab lint "$lab" > /dev/null; then ok "lint $lab: clean"; else "$vnet" lab lint "$lab"; bad "lint $lab"; fi
done
if "$vnet" lab run tests/lab/vpc-mtu.yaml > "/tmp/vnet-lab-$$.log" 2>&1; then ok "lab tests/lab/vpc-mtu.yaml ($(tail -1 "/tmp/vnet-lab-$$.log"))"; else
  cat "/tmp/vnet-lab-$$.log"; bad "lab tests/lab/vpc-mtu.yaml"; fi
vpc_lint=$("$vnet" lab lint tests/lab/vpc-mtu.yaml 2>&1) && vpc_lint_rc=0 || vpc_lint_rc=$?
if [[ "${VNET_UPDATE_GOLDEN:-0}" == 1 ]]; then printf '%s\n' "$vpc_lint" > tests/lab/golden/lint-vpc-mtu.txt; fi
if ((vpc_lint_rc == 1)) && diff <(printf '%s\n' "$vpc_lint") tests/lab/golden/lint-vpc-mtu.txt; then
  ok "lint finds the VM whose MTU leaves no room for keyed GRE (exit 1, golden output)"
else
  bad "lint vpc-mtu"
fi
lint_out=$("$vnet" lab lint tests/lab/lint-mtu.yaml 2>&1) && lint_rc=0 || lint_rc=$?
if [[ "${VNET_UPDATE_GOLDEN:-0}" == 1 ]]; then printf '%s\n' "$lint_out" > tests/lab/golden/lint-mtu.txt; fi
if ((lint_rc == 1)) && diff <(printf '%s\n' "$lint_out") tests/lab/golden/lint-mtu.txt; then
  ok "lint finds the tunnel MTU mismatch (exit 1, golden output)"
else
  bad "lint of tests/lab/lint-mtu.yaml (exit $lint_rc)"
fi

expected='vnet: deploy failed: tests/lab/broken-exec.yaml:10:11: node a: exec `ip route add 300.0.0.0/8 dev eth0` failed: Error: any valid prefix is expected rather than "300.0.0.0/8".'
actual=$("$vnet" lab run tests/lab/broken-exec.yaml 2>&1 || true)
if [[ "$actual" == "$expected" ]]; then ok "deploy error names file, line, node and error"; else
  echo "expected: $expected"; echo "actual:   $actual"; bad "deploy error"; fi

# tshark_clean DIR: every pcap in DIR decodes with no malformed packet, expert warning/error or
# bad checksum.  Prints the number of files.
tshark_clean() {
  local n=0 problems=0 f out
  for f in "$1"/*.pcap; do
    n=$((n + 1))
    out=$(tshark -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE \
      -o gre.check_checksum:TRUE -r "$f" -V 2>&1)
    if grep -Eq 'Malformed|Expert Info \(Error|Expert Info \(Warning|Bad checksum|\[incorrect' <<< "$out"; then
      echo "tshark complains about $f:" >&2
      grep -E 'Malformed|Expert Info|incorrect' <<< "$out" | head -5 >&2
      problems=$((problems + 1))
    fi
  done
  echo "$n"
  ((n > 0 && problems == 0))
}

if command -v tshark > /dev/null; then
  pcaps=$(mktemp -d)
  trap 'rm -rf "$pcaps" /tmp/vnet-lab-$$.log /tmp/vnet-golden-$$.diff' EXIT
  for lab in seed001-multinic seed000-ipip seed000-gre vxlan-overlay seed003-lvs-tun lvs-nat \
    seed004-vpc0 seed004-vpc seed004-peering; do
    mkdir -p "$pcaps/$lab"
    "$vnet" lab run "examples/$lab.yaml" --pcap "$pcaps/$lab" > /dev/null
    if n=$(tshark_clean "$pcaps/$lab"); then ok "tshark decodes the $n pcaps of $lab cleanly"; else bad "pcaps of $lab"; fi
  done
  # The public link carries IPIP between the gateways' public addresses, and only that.
  outer=$(tshark -r "$pcaps/seed000-ipip/test1-eth0.pcap" -Y 'ip.proto == 4' -T fields -e ip.src -e ip.dst 2> /dev/null \
    | awk '{split($1, s, ","); split($2, d, ","); print s[1] " " d[1]}' | sort -u)
  if [[ "$outer" == $'122.128.111.219 58.64.177.151\n58.64.177.151 122.128.111.219' ]]; then
    ok "seed 000: IPIP on the public link, outer 58.64.177.151 <-> 122.128.111.219 ($(tshark -r "$pcaps/seed000-ipip/test1-eth0.pcap" -Y 'ip.proto == 4' 2> /dev/null | wc -l) packets)"
  else
    echo "$outer"; bad "seed 000 outer addresses"
  fi
  keys=$(tshark -r "$pcaps/seed000-gre/test1-eth0.pcap" -Y gre -T fields -e gre.key 2> /dev/null | sort -u)
  if [[ "$keys" == "0x00001891" ]]; then ok "seed 000 GRE: every GRE packet carries key 6289 (tshark: $keys)"; else
    echo "keys: $keys"; bad "seed 000 GRE keys"; fi
  # Seed 003: the web servers answer the client themselves.  No TCP segment from the VIP
  # crosses the director's port; on the client's port they come from two MACs (web1, web2),
  # and the director's port carries IPIP from 192.168.73.100 to the two web servers only.
  p3=$pcaps/seed003-lvs-tun
  via_lvs=$(tshark -r "$p3/lvs-ens33.pcap" -Y 'ip.src == 192.168.73.120 && tcp && !icmp' 2> /dev/null | wc -l)
  to_client=$(tshark -r "$p3/client-ens33.pcap" -Y 'ip.src == 192.168.73.120 && tcp && !icmp' -T fields -e eth.src 2> /dev/null | sort -u | wc -l)
  lvs_mac=$(tshark -r "$p3/lvs-ens33.pcap" -Y 'arp.opcode == 2 && arp.src.proto_ipv4 == 192.168.73.120' -T fields -e eth.src 2> /dev/null | sort -u)
  from_lvs=$(tshark -r "$p3/client-ens33.pcap" -Y "ip.src == 192.168.73.120 && tcp && !icmp && eth.src == ${lvs_mac:-00:00:00:00:00:00}" 2> /dev/null | wc -l)
  tunnels=$(tshark -r "$p3/lvs-ens33.pcap" -Y 'ip.proto == 4' -T fields -e ip.src -e ip.dst 2> /dev/null \
    | awk '{split($1, s, ","); split($2, d, ","); print s[1] " " d[1]}' | sort -u | tr '\n' ';')
  if ((via_lvs == 0 && to_client == 2 && from_lvs == 0)) && [[ -n "$lvs_mac" && "$tunnels" == "192.168.73.100 192.168.73.110;192.168.73.100 192.168.73.111;" ]]; then
    ok "seed 003: replies go from web1/web2 straight to the client (0 through the director $lvs_mac); IPIP $tunnels"
  else
    echo "via_lvs=$via_lvs to_client=$to_client from_lvs=$from_lvs lvs_mac=$lvs_mac tunnels=$tunnels"; bad "seed 003 pcap"
  fi
  # LVS-NAT: the client only ever sees the VIP; the servers' LAN only the real servers.
  nat_client=$(tshark -r "$pcaps/lvs-nat/client-eth0.pcap" -Y 'tcp' -T fields -e ip.src -e ip.dst 2> /dev/null | tr '\t' '\n' | sort -u | tr '\n' ' ')
  if [[ "$nat_client" == "203.0.113.10 203.0.113.100 " ]]; then ok "LVS-NAT: the client's link carries only VIP <-> client TCP"; else
    echo "nat_client=$nat_client"; bad "LVS-NAT client link"; fi
  vnis=$(tshark -r "$pcaps/vxlan-overlay/vtep1-eth0.pcap" -Y vxlan -T fields -e vxlan.vni 2> /dev/null | sort -u | tr '\n' ' ')
  if [[ "$vnis" == "42 43 " ]]; then ok "VXLAN: tshark decodes VNIs $vnis"; else echo "vnis: $vnis"; bad "VXLAN VNIs"; fi
  # Seed 004: the vSwitch answers the VMs' ARP itself, so the underlay carries only the hosts'
  # own ARP; GRE carries the VPC id as its key (the destination VPC's across a peering).
  p4=$pcaps/seed004-vpc0
  under_arp=$(tshark -r "$p4/host1-eth0.pcap" -Y arp -T fields -e arp.dst.proto_ipv4 2> /dev/null | sort -u | tr '\n' ' ')
  proxy=$(tshark -r "$p4/vm1-eth0.pcap" -Y 'arp.opcode == 2' -T fields -e arp.src.hw_mac -e eth.src 2> /dev/null | sort -u | tr '\t\n' ' ;')
  keys0=$(tshark -r "$p4/host1-eth0.pcap" -Y gre -T fields -e gre.key 2> /dev/null | sort -u | tr '\n' ' ')
  if [[ "$under_arp" == "10.10.1.10 10.10.1.9 " && "$proxy" == "ee:ff:ff:ff:ff:ff ee:ff:ff:ff:ff:ff;" && "$keys0" == "0x00000000 " ]]; then
    ok "seed 004 VPC0: the VM's ARP is answered by the vSwitch (ee:ff:ff:ff:ff:ff), the underlay only resolves the hosts; GRE key 0"
  else
    echo "under_arp=$under_arp proxy=$proxy keys=$keys0"; bad "seed 004 VPC0 pcap"
  fi
  keys=$(tshark -r "$pcaps/seed004-vpc/host1-eth0.pcap" -Y gre -T fields -e gre.key 2> /dev/null | sort -u | tr '\n' ' ')
  bcast=$(tshark -r "$pcaps/seed004-vpc/host1-eth0.pcap" -Y 'eth.dst == ff:ff:ff:ff:ff:ff && !(arp.dst.proto_ipv4 == 10.10.1.10 || arp.dst.proto_ipv4 == 10.10.1.9)' 2> /dev/null | wc -l)
  if [[ "$keys" == "0x00000064 0x000000c8 " ]] && ((bcast == 0)); then
    ok "seed 004 VPCs: GRE keys 100 and 200 on the underlay, no VM broadcast left the host"
  else
    echo "keys=$keys bcast=$bcast"; bad "seed 004 VPC pcap"
  fi
  peer=$(tshark -r "$pcaps/seed004-peering/host86-eth0.pcap" -Y gre -T fields -e gre.key -e ip.dst 2> /dev/null | sort -u | tr '\t\n' ' ;')
  if [[ "$peer" == "0x00001891 10.174.233.86,10.0.1.141;0x00001a76 10.174.233.87,172.16.0.47;" ]]; then
    ok "seed 004 peering: VM1 -> VM2 leaves with key 6774 (the destination VPC), the replies with 6289"
  else
    echo "peer=$peer"; bad "seed 004 peering pcap"
  fi
else
  echo "SKIP pcap check: tshark is not installed"
fi
# Pictures: `vnet lab graph` and `vnet trace --svg` through Graphviz, parsed as SVG (XML).
if command -v dot > /dev/null; then
  gdir=$(mktemp -d)
  # The ping fails (rp_filter drops it): trace exits 1 and still draws.
  "$vnet" trace examples/seed001-multinic.yaml client --svg "$gdir/t.svg" -- ping -c 1 -W 1 110.100.1.2 > /dev/null 2>&1 || true
  if "$vnet" lab graph examples/seed000-ipip.yaml -o "$gdir/g.svg" > /dev/null &&
     /usr/bin/python3 - "$gdir/g.svg" "$gdir/t.svg" << 'PY'
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
def texts(path):
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
g = texts(sys.argv[1])
for want in ["hostA", "test1", "test2", "ipip0 ipip", "58.64.177.151/24"]:
    assert want in g, (want, g)
t = texts(sys.argv[2])
assert any(x.startswith("DROP IP_RPFILTER") for x in t), t
assert "seed001-multinic: client# ping -c 1 -W 1 110.100.1.2" in t, t
PY
  then
    ok "pictures: lab graph and trace --svg render through Graphviz (nodes, addresses, tunnel, the rp_filter drop)"
  else
    bad "pictures"
  fi
  rm -rf "$gdir"
else
  echo "SKIP pictures: Graphviz's dot is not installed"
fi
echo "lab: $passed passed, $failed failed"
((failed == 0))
