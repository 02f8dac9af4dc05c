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
