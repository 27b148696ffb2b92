#!/usr/bin/env bash
# Runs cargo for the wasm32 target with whichever toolchain this machine has:
# rustup's when it has the wasm32 target, else Debian's rustc-web with build-std.
#   scripts/wasm-cargo.sh build --profile wasm-release -p zoolab-web
#   scripts/wasm-cargo.sh test -p zoolab-web --lib
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/wasm}"
sub="$1"; shift
if [ "$(scripts/ensure-tools.sh mode)" = rustup ]; then
  exec cargo "$sub" --target wasm32-unknown-unknown "$@"
else
  export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
  # WASM_STD_FEATURES: features of the standard library built with it (build-web.sh
  # asks for optimize_for_size: smaller sorts and formatting in the bundle).
  exec /usr/bin/cargo "$sub" --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort \
    ${WASM_STD_FEATURES:+-Zbuild-std-features=$WASM_STD_FEATURES} "$@"
fi
