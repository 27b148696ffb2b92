#!/usr/bin/env bash
# Installs what zoolab's builds and tests need, skipping whatever is already there.
#   scripts/ensure-tools.sh wasm      the wasm32 toolchain and wasm-bindgen-cli (exact pinned version)
#   scripts/ensure-tools.sh browser   Chromium and ChromeDriver (Debian packages)
#   scripts/ensure-tools.sh zookeeper Apache ZooKeeper 3.8 (Debian) and kazoo (PyPI)
# It prints one line per tool; on a second run it installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_updated=0
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ "$apt_updated" = 0 ]; then
    $sudo apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# The wasm-bindgen crate version the workspace is locked to; the CLI must match it exactly.
pinned_wasm_bindgen() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

# Which way this machine builds wasm: `rustup` when rustup has the target, else `debian`
# (Debian's rustc-web with the standard library's source and build-std; see docs/toolchain.md).
wasm_mode() {
  if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo rustup
  else
    echo debian
  fi
}

ensure_wasm() {
  local mode
  mode=$(wasm_mode)
  if [ "$mode" = debian ]; then
    if [ ! -x /usr/bin/rustc ] || [ ! -d /usr/lib/rustlib/src/rust/library ] || ! command -v rust-lld >/dev/null; then
      echo "tools: installing Debian's wasm-capable Rust (rustc-web, rust-web-src, lld)"
      apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22
    fi
  fi
  echo "tools: wasm toolchain: $mode"
  local want have
  want=$(pinned_wasm_bindgen)
  have=$( (wasm-bindgen --version 2>/dev/null || true) | awk '{print $2}')
  if [ "$have" != "$want" ]; then
    echo "tools: installing wasm-bindgen-cli $want (was: ${have:-none}); takes about two minutes"
    cargo install -q wasm-bindgen-cli --version "$want"
  fi
  echo "tools: wasm-bindgen $want"
}

ensure_browser() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "tools: installing chromium and chromedriver"
    apt_install chromium chromium-driver
  fi
  echo "tools: $(chromedriver --version | cut -d' ' -f1-2)"
}

ensure_zookeeper() {
  if ! ls /usr/share/java/zookeeper*.jar >/dev/null 2>&1; then
    echo "tools: installing Apache ZooKeeper (Debian)"
    apt_install zookeeper zookeeper-bin
  fi
  if ! python3 -c 'import kazoo' 2>/dev/null; then
    echo "tools: installing kazoo"
    python3 -m pip install -q 'kazoo==2.11.*'
  fi
  echo "tools: zookeeper and kazoo present"
}

for what in "$@"; do
  case "$what" in
    wasm) ensure_wasm ;;
    browser) ensure_browser ;;
    zookeeper) ensure_zookeeper ;;
    mode) wasm_mode ;;
    *) echo "ensure-tools: unknown tool set '$what' (wasm, browser, zookeeper, mode)" >&2; exit 2 ;;
  esac
done
