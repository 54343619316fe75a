#!/usr/bin/env bash
# Flat memory over long runs (issue 16): trains pix2pix and CycleGAN for ITERS iterations each
# (small images, a tiny network) and translates a folder of IMAGES images, sampling the
# process's resident set (VmRSS) every SAMPLE seconds. For each job it prints the iterations or
# images, the RSS after warm-up (the first sample after WARMUP % of the run), the RSS at the end
# and the largest, and the growth from warm-up to the end; it fails when that growth is above
# LIMIT % (2 by default).
#
#   tools/memory_soak.sh [ITERS] [IMAGES]        defaults: 3000 iterations, 2000 images
#   SIZE=32 SAMPLE=1 WARMUP=20 LIMIT=2 CONFIG=release tools/memory_soak.sh
#   BIN=path/to/img2img OUT=dir tools/memory_soak.sh 20000 20000     (what the README reports)
#
# The samples go to $OUT (default: a temporary folder, kept when the script fails) as
# <job>.rss (seconds, kB per line).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
iters=${1:-3000}
images=${2:-2000}
size=${SIZE:-32}
sample=${SAMPLE:-1}
warmup=${WARMUP:-20}
limit=${LIMIT:-2}
config=${CONFIG:-release}
if [ -z "${BIN:-}" ]; then  # BIN=path/to/img2img skips the build
    swift build -c "$config" --product img2img >/dev/null
    BIN=$(swift build -c "$config" --show-bin-path)/img2img
fi
work=${OUT:-$(mktemp -d)}
mkdir -p "$work"
echo "work folder: $work"

# Data: 100 pairs / 100 unpaired images per side, so an epoch is 100 iterations at batch 1.
per_epoch=100
epochs=$(( (iters + per_epoch - 1) / per_epoch ))
python3 tools/make_soak_images.py aligned "$work/pairs" $per_epoch "$size"
python3 tools/make_soak_images.py unaligned "$work/unpaired" $per_epoch "$size"
python3 tools/make_soak_images.py single "$work/images" "$images" "$size" 0

# Runs the command in the background, samples its RSS; prints "warm end max samples".
measure() {
    local name=$1; shift
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    local pid=$! t=0
    : >"$work/$name.rss"
    while kill -0 "$pid" 2>/dev/null; do
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        [ -n "$rss" ] && echo "$t $rss" >>"$work/$name.rss"
        sleep "$sample"; t=$((t + sample))
    done
    wait "$pid" || { echo "$name failed: $(tail -3 "$work/$name.err")"; exit 1; }
}

failed=0
report() {  # name, what
    local name=$1 what=$2
    # warm: the mean of the first 5 samples after warm-up; last: the mean of the last 5 (one
    # sample alone moves by about 1 MB as the allocator takes and gives back pages)
    read -r n warm last max < <(awk -v w="$warmup" '{r[NR]=$2} END {
        i = int(NR * w / 100) + 1; if (i > NR) i = NR; m = 0
        for (k = i; k <= NR; k++) if (r[k] > m) m = r[k]
        k = (NR - i + 1 < 5) ? NR - i + 1 : 5; a = 0; b = 0
        for (j = 0; j < k; j++) { a += r[i + j]; b += r[NR - j] }
        printf "%d %d %d %d\n", NR, a / k, b / k, m }' "$work/$name.rss")
    growth=$(awk -v a="$warm" -v b="$last" 'BEGIN { printf "%.2f", (b - a) * 100 / a }')
    printf '%-10s %s, %d samples every %ss: RSS after warm-up %d kB, at the end %d kB (max %d kB), growth %s %%\n' \
        "$name" "$what" "$n" "$sample" "$warm" "$last" "$max" "$growth"
    if awk -v g="$growth" -v l="$limit" 'BEGIN { exit !(g > l) }'; then failed=1; fi
}

common=(--checkpoints-dir "$work/runs" --netG resnet_1blocks --ngf 4 --ndf 4 --preprocess none --batch-size 1
        --n-epochs "$epochs" --n-epochs-decay 0 --save-latest-epochs 0 --save-epoch-freq 0 --save-latest-freq 0
        --print-freq 50 --threads 2 --quiet)
measure pix2pix "$BIN" train pix2pix --dataroot "$work/pairs" --name p2p "${common[@]}"
report pix2pix "$((epochs * per_epoch)) iterations"
measure cyclegan "$BIN" train cyclegan --dataroot "$work/unpaired" --name cyc "${common[@]}"
report cyclegan "$((epochs * per_epoch)) iterations"
measure translate "$BIN" translate --model "$work/runs/p2p/latest_net_G.safetensors" --input "$work/images" \
    --output "$work/translated" --threads 2 --quiet
report translate "$(grep -o 'translated [0-9]* images' "$work/translate.out")"

if [ "$failed" = 1 ]; then echo "RSS grew by more than $limit % after warm-up (samples in $work)"; exit 1; fi
[ -n "${OUT:-}" ] || rm -rf "$work"
