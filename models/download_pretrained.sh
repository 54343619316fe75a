#!/usr/bin/env bash
# Downloads one of the paper code's published pretrained generators (.pth) into
# models/pretrained/NAME.pth; img2img reads them directly (no Python, no conversion):
#
#   models/download_pretrained.sh horse2zebra
#   img2img translate --model models/pretrained/horse2zebra.pth --input photos --output zebras
#
# CycleGAN: apple2orange orange2apple summer2winter_yosemite winter2summer_yosemite horse2zebra
#   zebra2horse monet2photo style_monet style_cezanne style_ukiyoe style_vangogh sat2map map2sat
#   cityscapes_photo2label cityscapes_label2photo facades_photo2label facades_label2photo
#   iphone2dslr_flower
# pix2pix: facades_label2photo sat2map map2sat edges2shoes edges2handbags day2night
#   (pass --pix2pix; those are U-Net generators with batch norm)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
kind=cyclegan
if [ "${1:-}" = "--pix2pix" ]; then kind=pix2pix; shift; fi
NAME=${1:?usage: $0 [--pix2pix] NAME}
mkdir -p "$HERE/pretrained"
if [ "$kind" = cyclegan ]; then
    URL=http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/$NAME.pth
else
    URL=http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/$NAME.pth
fi
out="$HERE/pretrained/$NAME.pth"
if command -v curl >/dev/null; then curl -fL --retry 3 -o "$out.part" "$URL"; else wget -O "$out.part" "$URL"; fi
mv "$out.part" "$out"
echo "saved $out"
