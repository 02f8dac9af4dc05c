#!/usr/bin/env bash
# The main job: install dependencies, build vnet, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
echo "== vnet lab run examples/seed001-multinic.yaml"
build/src/cli/vnet lab run examples/seed001-multinic.yaml
echo
echo "== why eth3's address does not answer at first: vnet trace, last hop"
build/src/cli/vnet trace examples/seed001-multinic.yaml client -- ping -c 1 -W 1 110.100.1.2 \
  | tail -6 || true
echo
echo "== vnet lab run examples/seed000-ipip.yaml (two datacenters over IPIP, the seed's MASQUERADE)"
build/src/cli/vnet lab run examples/seed000-ipip.yaml
echo
echo "== a picture of one ping's path across the tunnel (Graphviz; the README shows it)"
build/src/cli/vnet trace examples/seed000-ipip.yaml hostA --svg docs/images/seed000-ping.svg \
  -- ping -c 1 172.16.2.20 > /dev/null
echo
echo "== the tunnel and NAT steps of one ping from test2 to a host in DC A: vnet trace"
build/src/cli/vnet trace examples/seed000-ipip.yaml test2 -- ping -c 1 192.168.177.20 \
  | grep -E "encap|decap|MASQUERADE|source 192" || true
echo
echo "== vnet lab run examples/tcp-lossy.yaml (curl, httpd and TCP over lossy links through NAT)"
build/src/cli/vnet lab run examples/tcp-lossy.yaml
echo
echo "== the handshake of one curl, as vnet trace shows it on the client"
build/src/cli/vnet trace examples/tcp-lossy.yaml client -- curl -s 203.0.113.10 \
  | grep -E "^-- client|tcp " | head -8 || true
echo
echo "== vnet lab run examples/seed003-lvs-tun.yaml (LVS-TUN: ipvsadm rr over IPIP, replies straight to the client)"
build/src/cli/vnet lab run examples/seed003-lvs-tun.yaml
echo
echo "== what the director decided for one curl: vnet trace"
build/src/cli/vnet trace examples/seed003-lvs-tun.yaml client -- curl -s 192.168.73.120 \
  | grep -E "^-- lvs|ipvs|encap" | head -8 || true
echo
echo "== vnet lab run examples/seed004-peering.yaml (VPC peering: vpc 6289 pings vpc 6774 over GRE)"
build/src/cli/vnet lab run examples/seed004-peering.yaml
echo
echo "== the vSwitch's decisions for the seed's example: vnet trace"
build/src/cli/vnet trace examples/seed004-peering.yaml vm1 -- ping -c 1 172.16.0.47 \
  | grep -E "^-- host|vpc  |encap|decap" | head -12 || true
echo
echo "== vnet lab run examples/seed004-migration.yaml (a VM migrates while a 10 ms ping runs)"
build/src/cli/vnet lab run examples/seed004-migration.yaml
