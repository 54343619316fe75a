#!/usr/bin/env python3
"""Writes Tests/TrainingTests/Fixtures/fid_parity/: 24 image files and pytorch-fid's pool3 features of them
with the real weights, through pytorch-fid's whole path (file -> PIL .convert('RGB') -> ToTensor ->
InceptionV3([3]) with its default resize_input=True (bilinear F.interpolate to 299) and normalize_input=True).

    python3 tools/make_fid_parity_fixtures.py [--weights FILE]

Pinned as tools/make_fid_fixtures.py: torch 2.15.0 (CPU), pytorch-fid 0.3.0, torchvision 0.29.2, Pillow 13.0.0.
--weights: pytorch-fid's state dict as safetensors (default ~/.cache/img2img/fid/pt_inception-2015-12-05.safetensors,
which img2img writes on first use after models/download_fid_weights.sh).

The images (PNG, so both sides decode the same pixels):
    earth_day_rRcC.png, earth_night_rRcC.png  the 8 test pairs of datasets/earth-day2night (256x256 RGB halves)
    fmnist_<class>.png                        the first test image of each Fashion-MNIST class (28x28 gray;
                                              Debian's dataset-fashion-mnist), promoted to RGB by both sides
Stored in features.safetensors: `features` F32 [24,2048] in the order of the metadata's `files` (comma-separated).
"""
import argparse
import gzip
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fid_fixtures as m  # noqa: E402  (the version pins, safetensors helpers, pytorch-fid's network)

assert Image.__version__ == "13.0.0", f"Pillow 13.0.0 expected, found {Image.__version__}"
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "fid_parity")
CLASSES = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker"]


def write_images():
    os.makedirs(OUT, exist_ok=True)
    names = []
    test = os.path.join(ROOT, "datasets", "earth-day2night", "test")
    for f in sorted(os.listdir(test)):
        ab = Image.open(os.path.join(test, f)).convert("RGB")
        w, h = ab.size
        stem = os.path.splitext(f)[0]
        for half, box in (("day", (0, 0, w // 2, h)), ("night", (w // 2, 0, w, h))):
            name = f"earth_{half}_{stem}.png"
            ab.crop(box).save(os.path.join(OUT, name), optimize=True)
            names.append(name)
    src = "/usr/share/datasets/fashion-mnist"
    with gzip.open(os.path.join(src, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 28, 28)
    with gzip.open(os.path.join(src, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read()[8:], np.uint8)
    for k, c in enumerate(CLASSES):
        name = f"fmnist_{c}.png"
        Image.fromarray(images[np.nonzero(labels == k)[0][0]], "L").save(os.path.join(OUT, name), optimize=True)
        names.append(name)
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=m.DEFAULT_WEIGHTS)
    args = ap.parse_args()
    names = write_images()
    sd = m.read_safetensors(args.weights)
    from pytorch_fid import inception as fid_inception
    full = dict(sd)
    full["fc.weight"] = torch.zeros(1008, 2048)
    full["fc.bias"] = torch.zeros(1008)
    fid_inception.load_state_dict_from_url = lambda *a, **k: full
    net = fid_inception.InceptionV3([3]).eval()  # resize_input=True, normalize_input=True: pytorch-fid's defaults
    import torchvision.transforms as TF
    feats = []
    with torch.no_grad():
        for n in names:
            x = TF.ToTensor()(Image.open(os.path.join(OUT, n)).convert("RGB"))[None]
            feats.append(net(x)[0].reshape(2048))
    f = torch.stack(feats).numpy()
    print(f"{len(names)} images: features in [{f.min():.4g}, {f.max():.4g}], mean {f.mean():.4g}")
    meta = {"torch": torch.__version__, "pytorch_fid": m.pytorch_fid.__version__, "pillow": Image.__version__,
            "command": "python3 tools/make_fid_parity_fixtures.py", "files": ",".join(names),
            "weights": os.path.basename(args.weights)}
    m.write_safetensors(os.path.join(OUT, "features.safetensors"), {"features": f}, meta)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
