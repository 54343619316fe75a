#!/usr/bin/env bash
# Translate soak with faults (issue 16): a folder of IMAGES good images and about BROKEN % broken
# files (truncated PNGs, empty .jpg files, text named .png, a JPEG signature followed by junk,
# PNGs declaring 100000 x 100000 pixels; tools/make_soak_images.py) is translated once cleanly
# (the reference), then again while being SIGKILLed at random moments KILLS times, restarted
# after each kill, and finally run to the end. It checks that
#   - every good image is translated, and equal byte for byte to the clean run's output,
#   - exactly once: an output, once it exists, is never replaced (same inode to the end),
#   - every broken file is named on stderr by the final run, and nothing else is,
#   - no temporary file is left, and the final run's exit status is 3.
#
#   tools/translate_soak.sh [IMAGES] [KILLS] [BROKEN]   defaults: 2000 images, 20 kills, 5 %
#   SIZE=48 CONFIG=release tools/translate_soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
images=${1:-2000}
kills=${2:-20}
broken=${3:-5}
size=${SIZE:-48}
config=${CONFIG:-release}
if [ -z "${BIN:-}" ]; then  # BIN=path/to/img2img skips the build
    swift build -c "$config" --product img2img >/dev/null
    BIN=$(swift build -c "$config" --show-bin-path)/img2img
fi
work=${OUT:-$(mktemp -d)}
mkdir -p "$work"
echo "work folder: $work"

python3 tools/make_soak_images.py single "$work/in" "$images" "$size" "$broken"
python3 tools/make_soak_images.py aligned "$work/pairs" 4 32
"$BIN" train pix2pix --dataroot "$work/pairs" --name g --checkpoints-dir "$work/runs" --netG resnet_2blocks --ngf 8 \
    --ndf 4 --preprocess none --n-epochs 1 --n-epochs-decay 1 --quiet >/dev/null 2>&1
model="$work/runs/g/latest_net_G.safetensors"
args=(translate --model "$model" --input "$work/in" --threads 1 --quiet)
nbroken=$(wc -l <"$work/in.broken")

set +e
"$BIN" "${args[@]}" --output "$work/ref" >/dev/null 2>"$work/ref.err"
status=$?
set -e
[ "$status" = 3 ] || { echo "clean run: exit status $status, expected 3"; exit 1; }

# The soak: KILLS times, kill at a random moment once the run has written a random 10-110 more
# outputs (or, one time in four, 0.05-0.5 s after start, which often falls in the start-up or
# the folder scan); then run to the end.
mkdir -p "$work/out"
count() { find "$work/out" -maxdepth 1 -type f ! -name '.*' | wc -l; }
declare -A inode
n=0; runs=0
record() {  # remembers each output's inode the first time it is seen; fails if one changed
    while read -r ino f; do
        if [ -z "${inode[$f]:-}" ]; then inode[$f]=$ino
        elif [ "${inode[$f]}" != "$ino" ]; then echo "$f was written twice"; exit 1; fi
    done < <(find "$work/out" -type f ! -name '.*' -printf '%i %P\n' 2>/dev/null)
}
while [ "$n" -lt "$kills" ]; do
    "$BIN" "${args[@]}" --output "$work/out" >/dev/null 2>&1 &
    pid=$!
    runs=$((runs + 1))
    if [ $((RANDOM % 4)) = 0 ]; then
        sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.05 + (r % 450) / 1000 }')"
    else
        target=$(( $(count) + 10 + RANDOM % 101 ))
        while kill -0 "$pid" 2>/dev/null && [ "$(count)" -lt "$target" ]; do sleep 0.01; done
        sleep "0.0$((RANDOM % 10))"
    fi
    if kill -9 "$pid" 2>/dev/null; then n=$((n + 1)); fi
    wait "$pid" 2>/dev/null || true
    record
    if [ "$(find "$work/out" -type f ! -name '.*' | wc -l)" -ge "$images" ] && [ "$n" -lt "$kills" ]; then
        echo "the folder was finished after $n kills: use more images or a larger SIZE"; exit 1
    fi
done
done_before=$(find "$work/out" -type f ! -name '.*' | wc -l)
set +e
"$BIN" "${args[@]}" --output "$work/out" >"$work/final.out" 2>"$work/final.err"
status=$?
set -e
runs=$((runs + 1))
record

fail=0
[ "$status" = 3 ] || { echo "final run: exit status $status, expected 3"; fail=1; }
outputs=$(find "$work/out" -type f ! -name '.*' | wc -l)
[ "$outputs" = "$images" ] || { echo "$outputs outputs for $images good images"; fail=1; }
diff -r "$work/ref" "$work/out" >/dev/null || { echo "outputs differ from the clean run"; fail=1; }
temps=$(find "$work/out" -name '.*.tmp-*' | wc -l)
[ "$temps" = 0 ] || { echo "$temps temporary files left"; fail=1; }
named=0
while read -r b; do
    if grep -q "$b" "$work/final.err"; then named=$((named + 1)); else echo "$b not named"; fail=1; fi
done <"$work/in.broken"
lines=$(grep -c '^img2img: ' "$work/final.err" || true)
[ "$lines" = "$nbroken" ] || { echo "$lines files named on stderr, $nbroken broken"; fail=1; }
echo "images: $images good + $nbroken broken; runs: $runs ($n SIGKILLed); outputs before the final run: $done_before;"
echo "checked: $outputs outputs equal to the clean run's, each written once; $named/$nbroken broken files named;"
echo "temporary files left: $temps; final exit status: $status"
[ "$fail" = 0 ] || { echo "FAILED (files in $work)"; exit 1; }
[ -n "${OUT:-}" ] || rm -rf "$work"
echo OK
