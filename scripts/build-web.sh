#!/usr/bin/env bash
# Builds the page's two bundles to wasm (release) and wasm-bindgen's JavaScript into
# www/pkg: the playground (zoolab-web, zoolab_web*) and live mode (zoolab-live,
# web/live/, zoolab_live*: www/index.html loads it for /#live only), then prints their
# sizes raw and gzipped. Incremental: a second run with no change rebuilds nothing.
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
# One cargo run for both: their common dependencies (yew, web-sys, the std) build once.
scripts/wasm-cargo.sh build -q --profile wasm-release -p zoolab-web -p zoolab-live
out="www/pkg"
for crate in zoolab_web zoolab_live; do
  wasm="target/wasm/wasm32-unknown-unknown/wasm-release/$crate.wasm"
  if [ ! -f "$out/${crate}_bg.wasm" ] || [ "$wasm" -nt "$out/${crate}_bg.wasm" ]; then
    # Names and producer sections only help stack traces; without them a bundle is ~30% smaller.
    wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section --out-dir "$out" "$wasm"
  fi
done
# The built-in scenarios' and exercises' texts are not in the playground's bundle: the
# page fetches them from here when one is opened (web/src/library.rs).
for kind in scenarios exercises; do
  rm -rf "$out/$kind"
  mkdir -p "$out/$kind"
  cp "$kind"/*.$([ $kind = scenarios ] && echo zk || echo toml) "$out/$kind/"
done
scripts/size.sh
