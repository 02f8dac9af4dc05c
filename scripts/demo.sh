#!/usr/bin/env bash
# The main job: install dependencies, build vnet, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
echo "== vnet node -f examples/seed002-multihoming.vnet"
build/src/cli/vnet node -f examples/seed002-multihoming.vnet
