#!/usr/bin/env bash
# Builds the playground: zoolab-web to wasm (release), wasm-bindgen into www/pkg,
# and prints the bundle's size raw and gzipped. Incremental: a second run with no
# change rebuilds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-tools.sh wasm >/dev/null
# With Debian's toolchain the standard library is built here too: its size-optimised
# variant (insertion/heap sorts instead of driftsort per type, ...) saves ~4% gzipped.
# rustup's prebuilt std (a laptop with the wasm32 target) ignores this.
WASM_STD_FEATURES=optimize_for_size scripts/wasm-cargo.sh build -q --profile wasm-release -p zoolab-web
wasm="target/wasm/wasm32-unknown-unknown/wasm-release/zoolab_web.wasm"
out="www/pkg"
if [ ! -f "$out/zoolab_web_bg.wasm" ] || [ "$wasm" -nt "$out/zoolab_web_bg.wasm" ]; then
  # Names and producer sections only help stack traces; without them the bundle is ~30% smaller.
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section --out-dir "$out" "$wasm"
fi
scripts/size.sh
