#!/usr/bin/env bash
# Data-parallel training on this machine (issue 13): one process with 2 threads and batch 2
# against `mpirun -np 2` with 1 thread and batch 1 per rank (the same 2 images per step), for
# pix2pix (U-Net-256) and CycleGAN (ResNet-9) at 256x256 on the bundled pairs. Prints seconds
# per step, images per second and, for mpirun, the allreduce's milliseconds per step, from the
# second epoch (the first warms up).
#   tools/mpi_bench.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
steps=${1:-6}
swift build -c release --product img2img >/dev/null
BIN=$(swift build -c release --show-bin-path)/img2img
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# CycleGAN's domains: the pairs' files split in two folders (their A|B halves are 512x256 images,
# cropped to 256x256 by the default preprocessing).
mkdir -p "$work/unpaired/trainA" "$work/unpaired/trainB"
i=0; for f in datasets/earth-day2night/train/*; do
    [ $((i % 2)) -eq 0 ] && cp "$f" "$work/unpaired/trainA/" || cp "$f" "$work/unpaired/trainB/"; i=$((i + 1)); done
echo "# $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg), $(mpirun --version | head -1)"
printf "%-10s %-28s %10s %10s %14s\n" model setup "s/step" "images/s" "allreduce ms"
for model in pix2pix cyclegan; do
    root=datasets/earth-day2night; [ $model = cyclegan ] && root=$work/unpaired
    common=(train $model --dataroot "$root" --checkpoints-dir "$work/runs" --n-epochs 2 --n-epochs-decay 0
            --max-dataset-size $((2 * steps)) --save-latest-epochs 0 --save-epoch-freq 0 --seed 1 --lr-policy step)
    one=$("$BIN" "${common[@]}" --name "$model-one" --batch-size 2 --threads 2 2>/dev/null | grep '^epoch 2/2')
    two=$(mpirun --oversubscribe --allow-run-as-root -np 2 "$BIN" "${common[@]}" --name "$model-two" --batch-size 1 \
          --threads 1 2>/dev/null | grep '^epoch 2/2')
    for line in "one process, 2 threads, b=2|$one" "mpirun -np 2, 1 thread, b=1|$two"; do
        setup=${line%%|*}; text=${line#*|}
        s=$(echo "$text" | sed -E 's/.*done in ([0-9.]+) s.*/\1/')
        ms=$(echo "$text" | sed -nE 's/.*allreduce ([0-9.]+) ms.*/\1/p')
        awk -v m=$model -v st="$setup" -v s="$s" -v n=$steps -v ms="${ms:--}" \
            'BEGIN { printf "%-10s %-28s %10.3f %10.2f %14s\n", m, st, s / n, 2 * n / s, ms }'
    done
done
