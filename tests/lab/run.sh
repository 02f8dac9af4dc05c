#!/usr/bin/env bash
# Lab scenario tests (simulator, no root needed):
#   1. every lab in examples/ deploys and passes its checks;
#   2. `vnet trace` output for one delivered and one dropped packet matches tests/lab/golden;
#   3. a lab whose exec line fails reports file, line, node and the tool's error;
#   4. the pcaps of a lab run decode in tshark with no malformed packets or expert errors.
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

# Seed 001: the asymmetric ping's drop is explained by rp_filter on the server.
seed_trace=$("$vnet" trace examples/seed001-multinic.yaml client -- ping -c 1 -W 1 110.100.1.2 2>&1 || true)
if grep -q "drop      IP_RPFILTER (rp_filter 1: 103.100.1.201 is not reachable back through eth3)" <<< "$seed_trace" &&
   grep -q "^-- server --" <<< "$seed_trace"; then
  ok "seed 001: vnet trace names rp_filter on the server"
else
  printf '%s\n' "$seed_trace" | tail -20
  bad "seed 001 trace"
fi

expected='vnet: deploy failed: tests/lab/broken-exec.yaml:10:11: node a: exec `ip route add 300.0.0.0/8 dev eth0` failed: Error: any valid prefix is expected rather than "300.0.0.0/8".'
actual=$("$vnet" lab run tests/lab/broken-exec.yaml 2>&1 || true)
if [[ "$actual" == "$expected" ]]; then ok "deploy error names file, line, node and error"; else
  echo "expected: $expected"; echo "actual:   $actual"; bad "deploy error"; fi

if command -v tshark > /dev/null; then
  pcaps=$(mktemp -d)
  trap 'rm -rf "$pcaps" /tmp/vnet-lab-$$.log /tmp/vnet-golden-$$.diff' EXIT
  "$vnet" lab run examples/seed001-multinic.yaml --pcap "$pcaps" > /dev/null
  n=0
  problems=0
  for f in "$pcaps"/*.pcap; do
    n=$((n + 1))
    out=$(tshark -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE -r "$f" -V 2>&1)
    if grep -Eq 'Malformed|Expert Info \(Error|Expert Info \(Warning|Bad checksum|\[incorrect' <<< "$out"; then
      echo "tshark complains about $f:"
      grep -E 'Malformed|Expert Info|incorrect' <<< "$out" | head -5
      problems=$((problems + 1))
    fi
  done
  frames=$(cat "$pcaps"/*.pcap | wc -c)
  if ((n > 0 && problems == 0)); then ok "tshark decodes $n pcaps ($frames bytes) cleanly"; else bad "pcaps ($problems of $n)"; fi
else
  echo "SKIP pcap check: tshark is not installed"
fi
echo "lab: $passed passed, $failed failed"
((failed == 0))
