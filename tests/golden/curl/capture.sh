#!/usr/bin/env bash
# Records what the real curl 7.88.1 prints for every case in cases.txt, against python3's
# http.server (port 8000) and Debian's Apache httpd (port 80) in two network namespaces joined
# by a veth pair.  The result is the golden data curl_golden_test compares vnet's curl with.
# Needs root, curl, python3 and apache2 (apt-get install apache2); touches only its own
# namespaces and, for the duration of the run, /var/www/html (restored afterwards).
# Usage: tests/golden/curl/capture.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cli=vgold-cli srv=vgold-srv
work=$(mktemp -d)
html=/var/www/html
cleanup() {
  ip netns pids "$srv" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns pids "$cli" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
  ip netns del "$srv" 2>/dev/null || true
  if [[ -d "$work/html.orig" ]]; then
    rm -rf "$html" && mv "$work/html.orig" "$html"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$cli"
ip netns add "$srv"
ip link add vgold0 netns "$cli" type veth peer name vgold1 netns "$srv"
ip -n "$cli" addr add 10.0.0.1/24 dev vgold0
ip -n "$srv" addr add 10.0.0.2/24 dev vgold1
for ns in "$cli" "$srv"; do ip -n "$ns" link set lo up; done
ip -n "$cli" link set vgold0 up
ip -n "$srv" link set vgold1 up
# 10.0.0.99 answers ARP nowhere: a static entry sends its SYNs into the void.
ip -n "$cli" neigh add 10.0.0.99 lladdr 02:00:00:00:00:99 dev vgold0
# The same files for both servers (the simulated lab in curl_golden_test.cc has them too).
make_site() {
  mkdir -p "$1/sub"
  echo "this is web1" > "$1/index.html"
  echo a > "$1/1"
  echo b > "$1/2"
}
make_site "$work/www"
[[ -d "$html" ]] && mv "$html" "$work/html.orig"
make_site "$html"
(cd "$work/www" && setsid ip netns exec "$srv" /usr/bin/python3 -m http.server 8000 \
  > /dev/null 2>&1 < /dev/null &)
ip netns exec "$srv" bash -c 'source /etc/apache2/envvars && mkdir -p "$APACHE_RUN_DIR" \
  "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR" && apache2 -k start' 2>/dev/null
sleep 1
while IFS=$'\t' read -r name command; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  set +e
  (cd /tmp && ip netns exec "$cli" bash -c "$command" > "$here/$name.out" 2> "$here/$name.err")
  echo $? > "$here/$name.rc"
  set -e
  echo "$name: exit $(cat "$here/$name.rc")"
done < "$here/cases.txt"
ip netns exec "$srv" bash -c 'source /etc/apache2/envvars && apache2 -k stop' 2>/dev/null || true
