#!/usr/bin/env bash
# The bundled model's row of docs/evaluation.md's table: FID and KID of models/earth-night2day on the
# 8 held-out test tiles of datasets/earth-day2night (night -> day), and of the paper code's pix2pix
# trained on the same data for the same 3,000 iterations, measured by `img2img fid` alike.
#
#   tools/earth_fid_table.sh [PAPER_FAKE_B_DIR]
#
# PAPER_FAKE_B_DIR: the paper code's test.py output images (*_fake_B.png) of a run trained with
#   python3 train.py --dataroot datasets/earth-day2night --name earth_night2day_paper --model pix2pix \
#       --direction BtoA --netG resnet_6blocks --ngf 16 --ndf 32 --norm instance --no_dropout \
#       --preprocess crop --load_size 256 --crop_size 128 --batch_size 4 --n_epochs 250 \
#       --n_epochs_decay 250 --save_epoch_freq 100 --display_id -1 --gpu_ids -1
#   python3 test.py --dataroot datasets/earth-day2night --name earth_night2day_paper --model pix2pix \
#       --direction BtoA --netG resnet_6blocks --ngf 16 --norm instance --no_dropout \
#       --preprocess none --num_test 8 --gpu_ids -1
# (junyanz/pytorch-CycleGAN-and-pix2pix, torch 2.15.0 CPU; the same options as the bundled model's
# recipe in models/earth-night2day/README.md). Needs python3 with Pillow to cut the test pairs' day
# halves, the FID weights (models/download_fid_weights.sh) and a release build.
#
# With 8 images a side, FID's covariances have rank 7 of 2048: the values compare the two models on
# the same images, not with published FIDs. KID (unbiased) is the better-founded of the two here.
set -euo pipefail
cd "$(dirname "$0")/.."
paper=${1:-}
bin=.build/release/img2img
[ -x "$bin" ] || swift build -c release --product img2img
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/real_day" <<'PY'
import glob, os, sys
from PIL import Image
out = sys.argv[1]
os.makedirs(out)
for f in sorted(glob.glob("datasets/earth-day2night/test/*.jpg")):
    im = Image.open(f).convert("RGB"); w, h = im.size
    im.crop((0, 0, w // 2, h)).save(os.path.join(out, os.path.basename(f)[:-4] + ".png"))
PY
"$bin" translate --model models/earth-night2day/G.safetensors --input datasets/samples/earth-night \
    --output "$work/ours" --format png >/dev/null
echo "| model | FID | KID |"
echo "|---|---|---|"
row() {
    "$bin" fid "$2" "$work/real_day" --json | python3 -c "import json,sys; o=json.load(sys.stdin); print(f\"| $1 | {o['fid']:.1f} | {o['kid_mean']:.4f} |\")"
}
row "img2img, models/earth-night2day" "$work/ours"
if [ -n "$paper" ]; then
    mkdir -p "$work/paper"
    cp "$paper"/*fake_B*.png "$work/paper/"
    row "paper code pix2pix, same data and iterations" "$work/paper"
fi
