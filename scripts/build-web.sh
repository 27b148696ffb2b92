#!/usr/bin/env bash
# Builds the playground: zoolab-web to wasm (release), wasm-bindgen into www/pkg,
# and prints the bundle's size raw and gzipped. Incremental: a second run with no
# change rebuilds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-tools.sh wasm >/dev/null
# With Debian's toolchain the standard library is built here too, so it can be made
# smaller: its size-optimised variant (small sorts instead of driftsort per element type,
# ...; -23 KB gz) and the immediate-abort panic strategy (no panic message formatting or
# locations; -21 KB gz). The page installs no panic hook, so a panic already showed no
# message in the browser (std's stderr is a no-op on wasm32-unknown-unknown): either way
# it traps ("unreachable"). For the same reason no caller locations are kept
# (-Zlocation-detail=none: file names and line numbers of #[track_caller] calls; -1.7 KB
# gz). rustup's prebuilt std (a laptop with the wasm32 target) gets none of these.
# opt-level "s" instead of "z" was measured 10% larger gzipped. BENCHMARKS.md has the figures.
if [ "$(scripts/ensure-tools.sh mode)" = debian ]; then
  export WASM_STD_FEATURES=optimize_for_size
  export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
fi
scripts/wasm-cargo.sh build -q --profile wasm-release -p zoolab-web
wasm="target/wasm/wasm32-unknown-unknown/wasm-release/zoolab_web.wasm"
out="www/pkg"
if [ ! -f "$out/zoolab_web_bg.wasm" ] || [ "$wasm" -nt "$out/zoolab_web_bg.wasm" ]; then
  # Names and producer sections only help stack traces; without them the bundle is ~30% smaller.
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section --out-dir "$out" "$wasm"
fi
scripts/size.sh
