#!/usr/bin/env bash
# The control plane's faults with real processes (root), on the seed004-etcd lab (a real etcd on
# unix sockets under the lab's state directory, an agent in every host's vnetd):
#   1. etcd killed with kill -9: forwarding goes on (vm1 keeps reaching vm2), every agent says
#      the store is away and keeps what it has; etcd restarted on its data: an update written
#      then reaches the hosts, which reconnected on their own;
#   2. host2's vnetd (its agent) killed with kill -9 while the store changes, then restarted
#      with its command line: it converges to the store (the changes made while it was dead,
#      its port) and forwards again;
#   3. malformed values put with etcdctl: refused, named in `agent log`, counted in `agent
#      status`, the last good value kept, and vnetd still running.
# Usage: tests/real/etcd-faults.sh PATH/TO/vnet   (vnetd from $VNET_VNETD, as tests/real/run.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
vnet=$(realpath "${1:?usage: tests/real/etcd-faults.sh PATH/TO/vnet}")
export VNET_VNETD=${VNET_VNETD:-$(realpath "$(dirname "$vnet")/../vnetd/vnetd")}
lab=examples/seed004-etcd.yaml
state=/run/vnet/labs/seed004-etcd
ep=unix://$state/etcd/localhost:2379
cleanup() { "$vnet" lab down "$lab" > /dev/null 2>&1 || true; }
trap cleanup EXIT
fail() {
  echo "FAIL etcd faults: $*"
  for h in host1 host2 host3; do
    echo "--- $h"; node "$h" agent status 2>&1 || true; tail -5 "$state/$h.log" 2>/dev/null || true
  done
  exit 1
}
node() { "$vnet" -n "seed004-etcd-$1" "${@:2}"; }
vm1() { ip netns exec seed004-etcd-vm1 "$@"; }
# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" > /dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
has_route() { node "$1" vpc route show | grep -q "^$2 "; }
no_route() { ! node "$1" vpc route show | grep -q "^$2 "; }
ctl() { (cd "$state/etcd" && ETCDCTL_API=3 etcdctl --endpoints unix://localhost:2379 "$@"); }

"$vnet" lab up "$lab" --real > /dev/null || fail "the lab did not come up"
vm1 ping -c 2 -i 0.2 -W 2 172.16.0.47 > /dev/null || fail "vm1 does not reach vm2"

# 1. etcd away.
etcd_pid=$(pgrep -f -- "--data-dir $state/etcd/data" | head -1)
mapfile -d '' etcd_argv < "/proc/$etcd_pid/cmdline"
kill -9 "$etcd_pid"
wait_for 10 sh -c "'$vnet' -n seed004-etcd-host1 agent status | grep -q 'disconnected from'" ||
  fail "host1's agent did not notice etcd's death"
loss=$(vm1 ping -q -c 50 -i 0.02 -W 1 172.16.0.47 | grep -o '[0-9.]*% packet loss')
[[ "$loss" == "0% packet loss" ]] || fail "forwarding while etcd is down: $loss"
node host1 vpc route show | grep -q "^172.16.0.47 host 10.10.1.10 vpc 0" ||
  fail "host1 lost its state while etcd was down"
# A killed etcd leaves its socket files, and etcd does not bind over them.
rm -f "$state/etcd/localhost:2379" "$state/etcd/localhost:2380"
# setsid -f: a new session in a forked child.  A backgrounded plain setsid left a "Terminated"
# report on this script's stderr when `lab down` stopped the process.
(cd "$state/etcd" && setsid -f "${etcd_argv[@]}" >> "$state/etcd/etcd.log" 2>&1 < /dev/null)
wait_for 20 "$vnet" vpc --etcd "$ep" route add 172.16.9.9 host 10.10.2.20 vpc 0 ||
  fail "cannot write once etcd is back"
wait_for 10 has_route host1 172.16.9.9 || fail "host1 did not get the update after the outage"
wait_for 10 has_route host2 172.16.9.9 || fail "host2 did not get the update after the outage"
node host1 agent status | grep -qE "reconnects [1-9]" || fail "host1's agent did not reconnect"
echo "  etcd kill -9: 50 pings, $loss during the outage; the update written after the restart reached host1 and host2"

# 2. kill -9 of an agent (host2's vnetd), with changes made while it is dead.
ns=seed004-etcd-host2
# The oldest such process is the supervisor (--restart); its node process dies with it.
pid=$(pgrep -o -f -- "vnetd --name $ns ")
mapfile -d '' vnetd_argv < "/proc/$pid/cmdline"
kill -9 "$pid"
"$vnet" vpc --etcd "$ep" route del 172.16.9.9 vpc 0 || fail "route del"
"$vnet" vpc --etcd "$ep" route add 172.16.9.10 host 10.10.1.9 vpc 0 || fail "route add"
# The same command line: its journal (--journal) restores what the lab's exec lines made.
setsid -f ip netns exec "$ns" "${vnetd_argv[@]}" >> "$state/host2.log" 2>&1 < /dev/null
wait_for 10 node host2 ip link show lo || fail "host2's vnetd did not restart"
wait_for 10 has_route host2 172.16.9.10 || fail "host2 did not converge (missing 172.16.9.10)"
no_route host2 172.16.9.9 || fail "host2 did not converge (172.16.9.9 still there)"
node host2 vpc port show | grep -q "^vm2 vm 172.16.0.47 vpc 0" || fail "host2 lost vm2's port"
wait_for 10 vm1 ping -c 1 -W 1 172.16.0.47 || fail "no forwarding to vm2 after host2's restart"
echo "  agent kill -9: host2's vnetd restarted and converged ($(node host2 agent status | sed -n 2p | xargs))"

# 3. malformed values.
ctl put /vnet/v1/vpc/0/route/172.16.9.10 '{"host":"nope"}' > /dev/null
ctl put /vnet/v1/vpc/0/neigh/172.16.9.11 'not json' > /dev/null
ctl put /vnet/v1/vpc/0/route/not-an-ip '{"host":"10.10.1.9"}' > /dev/null
refused() { node "$1" agent -j status | grep -q '"refused":3'; }
wait_for 10 refused host1 || fail "host1 did not count 3 refused values: $(node host1 agent -j status)"
log=$(node host1 agent log)
for key in route/172.16.9.10 neigh/172.16.9.11 route/not-an-ip; do
  grep -q "refused /vnet/v1/vpc/0/$key" <<< "$log" || fail "agent log does not name $key: $log"
done
has_route host1 "172.16.9.10 host 10.10.1.9" || fail "host1 did not keep the last good value"
for h in host1 host2 host3; do
  pgrep -f -- "vnetd --name seed004-etcd-$h " > /dev/null || fail "vnetd of $h died"
done
vm1 ping -c 2 -i 0.2 -W 2 172.16.0.47 > /dev/null || fail "no forwarding after malformed values"
echo "  malformed values: 3 refused, named in the log, last good value kept, no vnetd died"
"$vnet" lab down "$lab" > /dev/null
pgrep -f -- "--data-dir $state/etcd/data" > /dev/null && fail "etcd left running after down"
echo "etcd faults: outage, agent kill -9 and malformed values survived"
