#!/usr/bin/env bash
# vnetd's Prometheus metrics (root): the robustness lab (h1 -- r -- h2) with r's vnetd started
# with --metrics 127.0.0.1:9477 (in r's namespace: its own loopback).  After pings through r:
#   1. GET /metrics inside r's namespace is parsed by the Prometheus client library's parser
#      (python3-prometheus-client): the interface counters saw the pings, every drop reason has
#      its counter, the tables are sized, and the AF_PACKET ports are there;
#   2. `vnet -n NODE stats --prometheus` (the control socket) parses to the same families;
#   3. other paths answer 404, and a bad --metrics value stops vnetd with a message.
# Usage: tests/real/metrics.sh PATH/TO/vnet     (VNET_VNETD names vnetd)
set -euo pipefail
cd "$(dirname "$0")/../.."
vnet=$(realpath "${1:?usage: tests/real/metrics.sh PATH/TO/vnet}")
vnetd=$(realpath "${VNET_VNETD:-$(dirname "$vnet")/../vnetd/vnetd}")
py=/usr/bin/python3
lab=tests/real/robustness.yaml
ns=vnrobust-r
work=$(mktemp -d)
trap '"$vnet" lab down "$lab" > /dev/null 2>&1 || true; rm -rf "$work"' EXIT
fail() { echo "metrics: $*"; exit 1; }
$py -c 'import prometheus_client' 2> /dev/null || fail "python3-prometheus-client is not installed"

printf '#!/bin/sh\nexec %s --metrics 127.0.0.1:9477 "$@"\n' "$vnetd" > "$work/vnetd"
chmod +x "$work/vnetd"
VNET_VNETD=$work/vnetd "$vnet" lab up "$lab" --real > /dev/null
ip netns exec vnrobust-h1 ping -c 5 -i 0.05 -W 2 203.0.113.2 > /dev/null || fail "no forwarding"

# Scrapes (or reads stdin), parses, and prints "family samples" lines and the checks' values.
cat > "$work/parse.py" << 'PY'
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode() if len(sys.argv) > 1 else sys.stdin.read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
def value(name, **labels):
    for f in fams.values():
        for s in f.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None
assert value("vnet_interface_rx_packets_total", node="vnrobust-r", interface="eth0") >= 5
assert value("vnet_interface_tx_packets_total", node="vnrobust-r", interface="eth1") >= 5
assert value("vnet_interface_up", interface="eth1") == 1
drops = [s for s in fams["vnet_drops"].samples]
assert len(drops) >= 50 and all(s.labels["reason"] for s in drops), len(drops)
assert value("vnet_routes", table="main") >= 2
assert value("vnet_routes", table="local") >= 2
assert value("vnet_port_tx_frames_total", interface="eth1") >= 5
assert fams["vnet_drops"].type == "counter" and fams["vnet_routes"].type == "gauge"
print(" ".join(sorted(fams)))
PY
http=$(ip netns exec "$ns" $py "$work/parse.py" http://127.0.0.1:9477/metrics) || fail "GET /metrics did not parse or check"
ctl=$("$vnet" -n "$ns" stats --prometheus | $py "$work/parse.py") || fail "stats --prometheus did not parse or check"
[[ "$http" == "$ctl" ]] || fail "the HTTP and control-socket families differ: $http / $ctl"
code=$(ip netns exec "$ns" $py -c '
import urllib.request, urllib.error
try:
    urllib.request.urlopen("http://127.0.0.1:9477/nope", timeout=5)
    print(200)
except urllib.error.HTTPError as e:
    print(e.code)')
[[ $code == 404 ]] || fail "GET /nope answered $code"
if msg=$(ip netns exec vnrobust-h1 "$vnetd" --name vnmetrics-bad --socket "$work/bad.sock" --metrics 127.0.0.1:99999 2>&1); then
  fail "vnetd started with --metrics 127.0.0.1:99999"
fi
grep -q -- "--metrics 127.0.0.1:99999: expected IPv4ADDRESS:PORT" <<< "$msg" || fail "bad --metrics: $msg"
echo "metrics: $(wc -w <<< "$http") families parsed from GET /metrics and from stats --prometheus"
