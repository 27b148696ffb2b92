#!/usr/bin/env bash
# Prints the page's bundles' sizes, raw and gzipped (what a browser downloads): the
# playground's (zoolab_web*: what issue 8's goal of 400 KB gzipped is about) and live
# mode's (zoolab_live*: /#live only).
set -euo pipefail
cd "$(dirname "$0")/.."
for f in www/pkg/zoolab_web_bg.wasm www/pkg/zoolab_web.js www/pkg/zoolab_live_bg.wasm www/pkg/zoolab_live.js; do
  [ -f "$f" ] || { echo "size: $f is missing; run 'make web' first" >&2; exit 1; }
  raw=$(wc -c <"$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  printf 'size: %-28s %8d bytes raw, %8d bytes gzipped (%d KiB)\n' "$(basename "$f")" "$raw" "$gz" $((gz / 1024))
done
