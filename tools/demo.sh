#!/usr/bin/env bash
# README command 1: install what is missing, build in release mode, and run the main job:
# translate the bundled sample folder (night views of the Earth) with the bundled
# night-to-day model into out/demo, with a page showing each input beside its output.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
tools/setup.sh
swift build -c release --product img2img
BIN=$(swift build -c release --show-bin-path)/img2img
OUT=${1:-out/demo}
"$BIN" translate --model models/earth-night2day/G.safetensors \
    --input datasets/samples/earth-night --output "$OUT" --html
echo "results: $OUT/  (open $OUT/index.html in a browser)"
