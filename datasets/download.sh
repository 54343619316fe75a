#!/usr/bin/env bash
# Downloads one of the paper code's datasets and lays it out as img2img (and the paper code) expect:
#   unpaired (CycleGAN):  datasets/NAME/{trainA,trainB,testA,testB}/
#   paired (pix2pix):     datasets/NAME/{train,val,test}/  with A|B side-by-side images
#
#   datasets/download.sh horse2zebra
#   datasets/download.sh facades            # paired version (pix2pix); facades_unpaired for CycleGAN
#
# Needs curl (or wget), unzip and tar, and internet access to the authors' server.
set -euo pipefail
NAME=${1:-}
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=http://efrosgans.eecs.berkeley.edu

UNPAIRED="apple2orange summer2winter_yosemite horse2zebra monet2photo cezanne2photo ukiyoe2photo vangogh2photo maps_unpaired cityscapes_unpaired facades_unpaired iphone2dslr_flower ae_photos grumpifycat"
PAIRED="facades maps edges2shoes edges2handbags night2day"

usage() {
    echo "usage: $0 NAME" >&2
    echo "  unpaired (CycleGAN): $UNPAIRED" >&2
    echo "  paired (pix2pix):    $PAIRED cityscapes" >&2
    exit 2
}
[ -n "$NAME" ] || usage

fetch() {  # url file
    if command -v curl >/dev/null; then curl -fL --retry 3 -o "$2" "$1"; else wget -O "$2" "$1"; fi
}

case " $UNPAIRED " in
*" $NAME "*)
    remote=${NAME%_unpaired}
    zip="$HERE/$remote.zip"
    fetch "$BASE/cyclegan/datasets/$remote.zip" "$zip"
    tmp=$(mktemp -d "$HERE/.unzip.XXXXXX")
    unzip -q "$zip" -d "$tmp"
    rm -rf "${HERE:?}/$NAME"
    mv "$tmp/$remote" "$HERE/$NAME"
    rmdir "$tmp"; rm -f "$zip"
    echo "unpaired dataset in $HERE/$NAME: $(ls "$HERE/$NAME" | tr '\n' ' ')"
    exit 0 ;;
esac

case " $PAIRED " in
*" $NAME "*)
    tgz="$HERE/$NAME.tar.gz"
    fetch "$BASE/pix2pix/datasets/$NAME.tar.gz" "$tgz"
    tar -xzf "$tgz" -C "$HERE"
    rm -f "$tgz"
    echo "paired dataset in $HERE/$NAME: $(ls "$HERE/$NAME" | tr '\n' ' ')"
    exit 0 ;;
esac

if [ "$NAME" = cityscapes ]; then
    cat >&2 <<'MSG'
Cityscapes cannot be redistributed: download gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip
from cityscapes-dataset.com yourself, unzip both, then pair label maps with photos:
  img2img combine --fold-A gtFine/train --fold-B leftImg8bit/train --fold-AB datasets/cityscapes/train
MSG
    exit 1
fi
usage
