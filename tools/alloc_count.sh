#!/usr/bin/env bash
# What a steady-state step allocates: runs img2img-bench (release) with tools/malloc_count.c preloaded
# and prints, per case, the fresh tensor buffers (BufferPool misses) and the malloc calls and bytes of
# one timed call, after the warm-up calls.
#
#   tools/alloc_count.sh [CASE ...]      (default: the network forward passes and training iterations)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
cases=${*:-resnet9_fwd unet256_fwd patchgan_fwd cyclegan_iter pix2pix_iter}
swift build -c release --product img2img-bench >&2
bin="$(swift build -c release --show-bin-path)/img2img-bench"
lib=.build/malloc_count.so
cc=$(command -v clang || command -v cc)
"$cc" -O2 -shared -fPIC tools/malloc_count.c -o "$lib"
LD_PRELOAD="$PWD/$lib" "$bin" --only "$(echo $cases | tr ' ' ',')" --repeats 3 --warmup 2
