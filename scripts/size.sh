#!/usr/bin/env bash
# Prints the playground bundle's size, raw and gzipped (what a browser downloads).
set -euo pipefail
cd "$(dirname "$0")/.."
for f in www/pkg/zoolab_web_bg.wasm www/pkg/zoolab_web.js; do
  [ -f "$f" ] || { echo "size: $f is missing; run 'make web' first" >&2; exit 1; }
  raw=$(wc -c <"$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  printf 'size: %-28s %8d bytes raw, %8d bytes gzipped (%d KiB)\n' "$(basename "$f")" "$raw" "$gz" $((gz / 1024))
done
