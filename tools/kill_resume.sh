#!/usr/bin/env bash
# Kill-and-resume soak for training (issue 6): trains a small pix2pix run straight through,
# then the same run again while SIGKILLing it at random moments (KILLS times, default 20),
# resuming each time with --continue, and checks that
#   - the checkpoint on disk always loads (`img2img convert --net G` succeeds after every kill),
#   - training never goes back more than one checkpoint interval (--save-latest-freq iterations),
#   - the finished run's weights and optimizer state equal the uninterrupted run's, byte for byte.
#
#   tools/kill_resume.sh [KILLS]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
kills=${1:-20}
swift build -c release --product img2img >/dev/null
BIN=$(swift build -c release --show-bin-path)/img2img
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
freq=3
args=(train pix2pix --dataroot datasets/earth-day2night --checkpoints-dir "$work/runs" --netG resnet_2blocks
      --ngf 8 --ndf 8 --norm instance --no-dropout --preprocess resize_and_crop --load-size 72 --crop-size 64
      --batch-size 2 --n-epochs 50 --n-epochs-decay 50 --save-latest-freq $freq --seed 5 --threads 2 --quiet)
start=$(date +%s)
"$BIN" "${args[@]}" --name straight >/dev/null
echo "uninterrupted run: $(( $(date +%s) - start )) s"

iteration() {  # the iteration stored in a training checkpoint
    python3 -c "import json,struct,sys;f=open(sys.argv[1],'rb');n=struct.unpack('<Q',f.read(8))[0];m=json.loads(f.read(n))['__metadata__'];print(json.loads(m['img2img.training'])['progress']['iteration'])" "$1"
}

done_killing=0; n=0; resumes=0; last=0
latest="$work/runs/killed/latest.safetensors"
while :; do
    extra=()
    [ -f "$latest" ] && extra=(--continue)
    "$BIN" "${args[@]}" --name killed "${extra[@]}" >/dev/null 2>&1 &
    pid=$!
    if [ "$n" -lt "$kills" ]; then
        sleep "0.$(( RANDOM % 9 + 1 ))$(( RANDOM % 10 ))"
        if kill -9 "$pid" 2>/dev/null; then n=$((n + 1)); fi
    fi
    status=0; wait "$pid" || status=$?
    resumes=$((resumes + 1))
    if [ -f "$latest" ]; then
        "$BIN" convert --model "$latest" --net G --output "$work/check.safetensors" >/dev/null \
            || { echo "FAIL: checkpoint does not load after kill $n"; exit 1; }
        it=$(iteration "$latest")
        if [ "$it" -lt "$last" ]; then echo "FAIL: went back from iteration $last to $it"; exit 1; fi
        last=$it
    fi
    [ "$status" -eq 0 ] && break
done
cmp "$work/runs/straight/latest_net_G.safetensors" "$work/runs/killed/latest_net_G.safetensors" \
    || { echo "FAIL: resumed weights differ from the uninterrupted run"; exit 1; }
cmp "$work/runs/straight/latest.safetensors" "$work/runs/killed/latest.safetensors" \
    || { echo "FAIL: resumed training state differs from the uninterrupted run"; exit 1; }
echo "kill_resume: $n SIGKILLs, $resumes starts, checkpoint always loaded, final state identical to the uninterrupted run ($(( $(date +%s) - start )) s)"
