#!/usr/bin/env python3
"""Writes Tests/ModelTests/Fixtures/fid_inception.safetensors: pytorch-fid's pool3 features of 4 images, with
random weights and (when the converted weights exist) with the real ones.

    PYTHONPATH=DIR python3 tools/make_fid_fixtures.py [--weights FILE]

Pinned: torch 2.15.0 (CPU), pytorch-fid 0.3.0, torchvision 0.29.2 (`pip install --no-deps --target DIR
pytorch-fid==0.3.0 torchvision==0.29.2`). --weights: the file tools/fid_weights.py writes (default
~/.cache/img2img/fid/pt_inception-2015-12-05.safetensors); without it only the random-weight features are written.

The network is pytorch-fid's InceptionV3([3], resize_input=False, normalize_input=True) (use_fid_inception,
so FIDInceptionA/C/E_1/E_2), eval mode, with its weight download replaced by a state dict given here. Its
input is the images as pytorch-fid sees them: uint8 pixels / 255 (ToTensor), then 2x - 1.

Random weights are not stored: both sides compute them from the tensor's name (Tests/ModelTests/
FIDInceptionTests.swift repeats `hashed_weights`). For the tensor `name` and its element i in PyTorch's layout
(conv weights [OC,C,KH,KW], row-major):
    seed = FNV-1a 64 of the UTF-8 name;  z = splitmix64 output for the state seed + i * 0x9E3779B97F4A7C15
    u = (z >> 40) / 2^24                 (exact in float32, in [0, 1))
    conv.weight      (2u - 1) * a,  a = float32(sqrt(6 / (C*KH*KW)))   (He-uniform: activations keep their scale)
    bn.weight        0.5 + u          bn.bias  (2u - 1) * 0.2
    bn.running_mean  (2u - 1) * 0.1   bn.running_var  0.5 + u
every product and sum in float32 (IEEE, so numpy and Swift give the same bits). The fc layer, which pool3
never reaches, gets zeros. Every block runs with these weights (the features below depend on each).

Stored (F32 unless said): `images` U8 [4,299,299,3] (NHWC, the inputs), `features_random` [4,2048],
`features_pretrained` [4,2048] (if --weights), `features_random_f64_gap` [1]: max |float32 - float64| of the
random-weight features in torch (the float32 noise a parity test must allow).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

TORCH, PYTORCH_FID, TORCHVISION = "2.15.0", "0.3.0", "0.29.2"
assert torch.__version__.startswith(TORCH), f"fixtures are pinned to torch {TORCH}, found {torch.__version__}"
import pytorch_fid  # noqa: E402
import torchvision  # noqa: E402
from pytorch_fid import inception as fid_inception  # noqa: E402

assert pytorch_fid.__version__ == PYTORCH_FID, f"pytorch-fid {PYTORCH_FID} expected, found {pytorch_fid.__version__}"
assert torchvision.__version__.startswith(TORCHVISION), f"torchvision {TORCHVISION} expected"
torch.set_num_threads(1)  # deterministic reduction order, and the machine is shared

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "Tests", "ModelTests", "Fixtures", "fid_inception.safetensors"))
DEFAULT_WEIGHTS = os.path.join(os.path.expanduser("~"), ".cache", "img2img", "fid", "pt_inception-2015-12-05.safetensors")
M64 = (1 << 64) - 1
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def uniform(name, n):
    """u_i in [0, 1) for i < n: SplitMix64 (state seed + i * golden, one step), top 24 bits."""
    with np.errstate(over="ignore"):
        z = np.uint64(fnv1a64(name)) + np.arange(n, dtype=np.uint64) * GOLDEN + GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)


def hashed_weights(shapes):
    """name -> shape to name -> tensor by the scheme in the docstring."""
    out = {}
    for name, shape in shapes.items():
        n = int(np.prod(shape))
        u = uniform(name, n)
        two_u_1 = np.float32(2) * u - np.float32(1)
        if name.endswith("conv.weight"):
            a = np.float32(np.sqrt(6.0 / (shape[1] * shape[2] * shape[3])))
            v = two_u_1 * a
        elif name.endswith("bn.weight") or name.endswith("bn.running_var"):
            v = np.float32(0.5) + u
        elif name.endswith("bn.bias"):
            v = two_u_1 * np.float32(0.2)
        elif name.endswith("bn.running_mean"):
            v = two_u_1 * np.float32(0.1)
        else:
            raise ValueError(name)
        out[name] = torch.from_numpy(v.astype(np.float32).reshape(shape))
    return out


def network(state_dict):
    """pytorch-fid's InceptionV3 for pool3 with `state_dict` loaded strictly (fc zeros)."""
    full = dict(state_dict)
    full["fc.weight"] = torch.zeros(1008, 2048)
    full["fc.bias"] = torch.zeros(1008)
    fid_inception.load_state_dict_from_url = lambda *a, **k: full
    return fid_inception.InceptionV3([3], resize_input=False, normalize_input=True).eval()


def state_dict_shapes():
    fid_inception.load_state_dict_from_url = lambda *a, **k: None
    inc = fid_inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    inc.Mixed_5b = fid_inception.FIDInceptionA(192, pool_features=32)
    inc.Mixed_5c = fid_inception.FIDInceptionA(256, pool_features=64)
    inc.Mixed_5d = fid_inception.FIDInceptionA(288, pool_features=64)
    inc.Mixed_6b = fid_inception.FIDInceptionC(768, channels_7x7=128)
    inc.Mixed_6c = fid_inception.FIDInceptionC(768, channels_7x7=160)
    inc.Mixed_6d = fid_inception.FIDInceptionC(768, channels_7x7=160)
    inc.Mixed_6e = fid_inception.FIDInceptionC(768, channels_7x7=192)
    inc.Mixed_7b = fid_inception.FIDInceptionE_1(1280)
    inc.Mixed_7c = fid_inception.FIDInceptionE_2(2048)
    return {k: tuple(v.shape) for k, v in inc.state_dict().items()
            if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}


def images():
    """4 synthetic 299x299 RGB images (seeded): discs on a gradient, smooth noise, stripes, 1/f noise."""
    rng = np.random.default_rng(27)
    s = 299
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float64) / (s - 1)
    out = []
    a = np.stack([xx, yy, 1 - xx * yy], -1) * 0.8
    for _ in range(6):
        cx, cy, r = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.25)
        a[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.uniform(0, 1, 3)
    out.append(a)
    low = torch.from_numpy(rng.uniform(0, 1, (1, 3, 9, 9)))
    b = F.interpolate(low, size=(s, s), mode="bicubic", align_corners=True)[0].permute(1, 2, 0).numpy()
    out.append(b + rng.normal(0, 0.04, (s, s, 3)))
    t = np.sin(2 * np.pi * (7 * xx + 3 * yy))[..., None] * np.array([0.5, 0.3, 0.1])
    out.append(0.5 + t + 0.25 * (np.floor(xx * 12) % 2 == np.floor(yy * 12) % 2)[..., None])
    f = np.fft.fftfreq(s)
    amp = 1 / np.maximum(np.hypot(f[:, None], f[None, :]), 1 / s)
    d = np.stack([np.real(np.fft.ifft2(amp * np.exp(2j * np.pi * rng.uniform(0, 1, (s, s))))) for _ in range(3)], -1)
    out.append(0.5 + 0.2 * d / d.std())
    return np.stack([np.clip(np.round(x * 255), 0, 255).astype(np.uint8) for x in out])


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", (name, e["dtype"])
        lo, hi = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[lo:hi], dtype="<f4").copy().reshape(e["shape"]))
    return out


def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        arr = tensors[name]
        dtype = {np.dtype(np.uint8): "U8", np.dtype(np.float32): "F32"}[arr.dtype]
        b = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=DEFAULT_WEIGHTS)
    args = ap.parse_args()
    u8 = images()
    x = torch.from_numpy(u8).permute(0, 3, 1, 2).float().div(255)  # pytorch-fid's ToTensor

    net = network(hashed_weights(state_dict_shapes()))
    with torch.no_grad():
        fr = net(x)[0].reshape(len(u8), 2048)
        fr64 = net.double()(x.double())[0].reshape(len(u8), 2048)
    gap = (fr.double() - fr64).abs().max().item()
    print(f"random weights: features in [{fr.min():.4g}, {fr.max():.4g}], mean {fr.mean():.4g}, "
          f"std {fr.std():.4g}; float32 vs float64 max |diff| {gap:.3g}")
    tensors = {"images": u8, "features_random": fr.numpy(), "features_random_f64_gap": np.array([gap], np.float32)}
    meta = {"torch": torch.__version__, "pytorch_fid": pytorch_fid.__version__, "torchvision": torchvision.__version__,
            "command": "python3 tools/make_fid_fixtures.py", "weights_random": "hashed_weights (see the script)"}
    if os.path.exists(args.weights):
        net = network(read_safetensors(args.weights))
        with torch.no_grad():
            fp = net(x)[0].reshape(len(u8), 2048)
        print(f"pretrained: features in [{fp.min():.4g}, {fp.max():.4g}], mean {fp.mean():.4g}")
        tensors["features_pretrained"] = fp.numpy()
        meta["weights_pretrained"] = os.path.basename(args.weights)
    else:
        print(f"{args.weights} absent: no pretrained features (run models/download_fid_weights.sh)", file=sys.stderr)
    write_safetensors(OUT, tensors, meta)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
