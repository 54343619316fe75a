#!/usr/bin/env bash
# Installs the system packages img2img needs (Debian/Ubuntu), only those that are missing.
#   tools/setup.sh          the codecs (README command 1)
#   tools/setup.sh --tests  also Open MPI, for the data-parallel training tests (README command 2);
#                           img2img itself builds and runs without it (libmpi is loaded at run time)
set -euo pipefail
# liblapack-dev: the headers and link names FID's statistics use; libopenblas0-pthread takes over
# libblas.so.3 and liblapack.so.3 through Debian's alternatives (same API, optimized and threaded:
# `img2img fid` on 1,000 + 1,000 images took 153 s with the reference BLAS, 105 s with OpenBLAS).
PKGS="libpng-dev libjpeg-dev pkg-config zlib1g-dev liblapack-dev libopenblas0-pthread"
[ "${1:-}" = "--tests" ] && PKGS="$PKGS openmpi-bin libopenmpi-dev"
missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing:$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6 first (swift.org)" >&2; exit 1; }
# The tests' pretrained FID parity check needs the FID Inception weights (about 92 MB, outside git).
# Best effort: without them that one test skips and names the reason.
if [ "${1:-}" = "--tests" ]; then
    "$(dirname "$0")/../models/download_fid_weights.sh" \
        || echo "warning: FID Inception weights not fetched; FIDInceptionTests.testPretrainedFeaturesMatchPytorchFID will skip" >&2
fi
