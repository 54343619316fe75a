#!/usr/bin/env bash
# README command 1: install what is missing, build in release mode, run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
tools/setup.sh
swift build -c release --product img2img
BIN=$(swift build -c release --show-bin-path)/img2img
OUT=${1:-out/demo}
"$BIN" augment --input datasets/samples/earth-day --output "$OUT" --preprocess resize_and_crop --load-size 286 --crop-size 256 --seed 1
echo "results: $OUT"
