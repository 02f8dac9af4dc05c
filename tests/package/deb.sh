#!/usr/bin/env bash
# The Debian package (root): builds it with `cpack -G DEB` in BUILD, checks its contents and
# metadata, then installs it with `dpkg -i` in a throwaway root: an overlay of / (writes go to a
# tmpfs) in a private mount namespace, chrooted, so the machine itself is never changed.  There
# the installed `vnet` runs a lab from the installed examples, `vnetd --version` and the man
# pages answer, and systemd's unit file is in place.  Everything goes when the namespace ends.
# Usage: tests/package/deb.sh BUILD
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(realpath "${1:?usage: tests/package/deb.sh BUILD}")
fail() { echo "package: $*"; exit 1; }
(cd "$build" && cpack -G DEB > cpack.log 2>&1) || { cat "$build/cpack.log"; fail "cpack failed"; }
deb=$(ls "$build"/vnet_*_amd64.deb | head -1)
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/vnet ./usr/bin/vnetd ./usr/lib/systemd/system/vnetd@.service \
  ./usr/share/man/man1/vnet.1.gz ./usr/share/man/man8/vnetd.8.gz \
  ./usr/share/doc/vnet/README.md ./usr/share/doc/vnet/OPERATIONS.md \
  ./usr/share/doc/vnet/examples/seed001-multinic.yaml; do
  grep -qxF "$f" <<< "$contents" || fail "$f is not in the package"
done
depends=$(dpkg-deb -f "$deb" Depends)
for d in iproute2 libyaml-cpp libfmt libspdlog; do
  grep -q "$d" <<< "$depends" || fail "Depends lacks $d: $depends"
done
size=$(stat -c %s "$deb")
((size < 40000000)) || fail "the package is $size bytes (not stripped?)"

work=$(mktemp -d)
trap 'rm -rf "$work" "$work.out"' EXIT

# In a new mount namespace: a tmpfs for the overlay's upper layer, the overlay of / as the new
# root with /proc, /dev and /tmp of its own, then dpkg -i and the checks inside it.
unshare --mount --propagation private bash -euo pipefail -c '
  work=$1
  mount -t tmpfs tmpfs "$work"
  mkdir -p "$work/upper" "$work/work" "$work/root"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/work" "$work/root"
  mount -t proc proc "$work/root/proc"
  mount --rbind /dev "$work/root/dev"
  mount -t tmpfs tmpfs "$work/root/tmp"
  cp "$2" "$work/root/tmp/vnet.deb"
  chroot "$work/root" /bin/bash -euo pipefail -c "
    ! dpkg -s vnet > /dev/null 2>&1 || { echo package: vnet is installed already; exit 1; }
    dpkg -i /tmp/vnet.deb > /tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }
    dpkg -s vnet | grep -q \"^Status: install ok installed\"
    command -v vnet | grep -qx /usr/bin/vnet
    vnetd --version | grep -q \"^vnetd \"
    test -s /usr/share/man/man8/vnetd.8.gz
    grep -q \"^ExecStart=/usr/bin/vnetd --name %i\" /usr/lib/systemd/system/vnetd@.service
    grep -q \"^Restart=always\" /usr/lib/systemd/system/vnetd@.service
    cd /tmp && vnet lab run /usr/share/doc/vnet/examples/seed001-multinic.yaml > /tmp/lab.log 2>&1 ||
      { cat /tmp/lab.log; exit 1; }
    tail -1 /tmp/lab.log
  "
' _ "$work" "$deb" > "$work.out" 2>&1 || { cat "$work.out"; fail "install or run in the throwaway root failed"; }
command -v vnet > /dev/null && [[ $(command -v vnet) == /usr/bin/vnet ]] && fail "the machine's / was changed"
echo "package: $(basename "$deb") ($((size / 1024)) KiB) installed with dpkg -i in a throwaway root; vnet lab run: $(tail -1 "$work.out")"
