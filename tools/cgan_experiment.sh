#!/usr/bin/env bash
# CGAN on Fashion-MNIST: label-conditional samples scored by a classifier (issue 12).
# Three D variants, trained with `img2img train cgan` for the same number of iterations:
#   concat          label planes concatenated to the image, no mismatched pairs (--mismatch-weight 0)
#   concat+mismatch the same D, real images with a wrong label as a third negative (0.5, GAN-CLS)
#   projection      projection D (batch norm, no spectral norm), mismatched pairs 0.5
#   projection+SN   projection D with spectral norm, mismatched pairs 0.5
# A small CNN trained on the real training set by img2img's engine (img2img-experiments classify)
# then scores how often each variant's samples are recognised as the label they were drawn for.
#
#   apt-get install dataset-fashion-mnist
#   tools/cgan_experiment.sh                 # writes docs/cgan-fashion-mnist.md and docs/cgan-fashion-*.png
# Environment: WORK (scratch folder, default /tmp/cgan-experiment), EPOCHS and PER_EPOCH (iterations =
# EPOCHS * PER_EPOCH / 64), SAMPLES (generated images per class), CLASSIFIER_EPOCHS, SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
IDX_GZ=${IDX_GZ:-/usr/share/datasets/fashion-mnist}
WORK=${WORK:-/tmp/cgan-experiment}
EPOCHS=${EPOCHS:-6}
PER_EPOCH=${PER_EPOCH:-12800}
BATCH=64
SAMPLES=${SAMPLES:-200}
CLASSIFIER_EPOCHS=${CLASSIFIER_EPOCHS:-2}
SEED=${SEED:-1}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  swift build -c release --product img2img
  swift build -c release --product img2img-experiments
fi
BIN=${BIN:-$(swift build -c release --show-bin-path)}

mkdir -p "$WORK/idx"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  [ -f "$WORK/idx/$f" ] || gunzip -c "$IDX_GZ/$f.gz" > "$WORK/idx/$f"
done
[ -d "$WORK/data/train" ] || "$BIN/img2img-experiments" fashion-mnist --idx "$WORK/idx" --output "$WORK/data"

ITERS=$(( EPOCHS * ((PER_EPOCH + BATCH - 1) / BATCH) ))
declare -A FLAGS=(
  [concat]="--netD basic --mismatch-weight 0"
  [concat-mismatch]="--netD basic --mismatch-weight 0.5"
  [projection]="--netD projection --mismatch-weight 0.5"
  [projection-sn]="--netD projection --spectral-norm --mismatch-weight 0.5"
)
VARIANTS=(concat concat-mismatch projection projection-sn)
GENERATED=()
for v in "${VARIANTS[@]}"; do
  start=$(date +%s)
  # a finished run is kept (delete $WORK/runs to train again)
  [ -f "$WORK/$v.time" ] && [ -f "$WORK/runs/$v/latest_net_G.safetensors" ] || {
  # shellcheck disable=SC2086
  "$BIN/img2img" train cgan --dataroot "$WORK/data/train" --name "$v" --checkpoints-dir "$WORK/runs" \
    --image-size 32 --output-nc 1 --batch-size $BATCH --n-epochs "$EPOCHS" --n-epochs-decay 0 \
    --lr-policy step --lr-decay-iters 1000 \
    --max-dataset-size "$PER_EPOCH" --save-epoch-freq 0 --print-freq 100 --seed "$SEED" --quiet ${FLAGS[$v]}
  echo "$v: $ITERS iterations in $(( $(date +%s) - start )) s" | tee "$WORK/$v.time"
  }
  rm -rf "$WORK/gen/$v"
  "$BIN/img2img" generate --model "$WORK/runs/$v/latest_net_G.safetensors" --all-labels --count "$SAMPLES" \
    --seed 7 --output "$WORK/gen/$v"
  "$BIN/img2img" generate --model "$WORK/runs/$v/latest_net_G.safetensors" --all-labels --count 10 \
    --seed 8 --grid --output "$WORK/grid/$v"
  cp "$WORK/grid/$v/grid.png" "docs/cgan-fashion-$v.png"
  GENERATED+=(--generated "$v=$WORK/gen/$v")
done

"$BIN/img2img-experiments" classify --idx "$WORK/idx" --epochs "$CLASSIFIER_EPOCHS" --seed "$SEED" \
  "${GENERATED[@]}" --output "$WORK/table.md" 2> >(tee "$WORK/classify.log" >&2)

{
  echo "# CGAN label accuracy on Fashion-MNIST"
  echo
  echo "Written by \`tools/cgan_experiment.sh\`. Fashion-MNIST (Debian's \`dataset-fashion-mnist\`), 28x28 padded"
  echo "to 32x32 gray. Each variant: \`img2img train cgan --image-size 32 --output-nc 1 --batch-size $BATCH\`,"
  echo "$ITERS iterations ($EPOCHS epochs of $PER_EPOCH random training images), vanilla GAN loss, constant"
  echo "learning rate 2e-4 (Adam, beta1 0.5), seed $SEED;"
  echo "then $SAMPLES samples per class from \`img2img generate\`. The numbers are the percentage of samples"
  echo "a small CNN (4 convs + linear, trained by \`img2img-experiments classify\` for $CLASSIFIER_EPOCHS epochs"
  echo "on the 60000 real training images) assigns to the label they were generated for; its first column"
  echo "is its accuracy on the 10000 real test images, the ceiling of the others."
  echo
  echo "- concat: label planes concatenated to the image (\`--netD basic --mismatch-weight 0\`, the old loss)"
  echo "- concat-mismatch: the same D, real images with a wrong label as a third negative (\`--mismatch-weight 0.5\`, GAN-CLS)"
  echo "- projection: projection D, batch norm as the DCGAN D's (\`--netD projection --mismatch-weight 0.5\`)"
  echo "- projection-sn: projection D with spectral norm (\`--netD projection --spectral-norm --mismatch-weight 0.5\`)"
  echo
  echo "The last row is the mean over classes of the per-pixel standard deviation of the images of one"
  echo "class ([-1, 1] units): how much the samples drawn for one label differ from each other (0: the"
  echo "generator ignores its noise); the first column is the real test images' own."
  echo
  cat "$WORK/table.md"
  echo
  echo "Training time on this machine (2 shared cores, release build):"
  echo
  for v in "${VARIANTS[@]}"; do echo "- $(cat "$WORK/$v.time")"; done
  echo
  echo "Sample grids (a row per class 0..9, the same noise in every row):"
  echo
  for v in "${VARIANTS[@]}"; do echo "- $v: ![$v](cgan-fashion-$v.png)"; done
} > docs/cgan-fashion-mnist.md
cat docs/cgan-fashion-mnist.md
