#!/usr/bin/env python3
"""Writes the Pillow resize parity fixtures for Tests/AugmentTests.

The paper code resizes with Pillow (torchvision passes PIL images to
Image.resize with BICUBIC), so our resize must match Pillow's to within one
level of 255. Pinned: Pillow 13.0.0, numpy 2.x.

    python3 tools/make_augment_fixtures.py   # rewrites Tests/AugmentTests/Fixtures/resize_*.png
"""
import os
import numpy as np
import PIL
from PIL import Image

assert PIL.__version__ == "13.0.0", f"fixtures are pinned to Pillow 13.0.0, found {PIL.__version__}"

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "AugmentTests", "Fixtures")
os.makedirs(out, exist_ok=True)

rng = np.random.default_rng(1234)
h, w = 48, 64
yy, xx = np.mgrid[0:h, 0:w]
base = np.stack([xx * 4, yy * 5, (xx + yy) * 2], axis=-1).astype(np.float64)
noise = rng.integers(0, 256, size=(h, w, 3))
# Half smooth gradient, half noise with hard edges: exercises both ringing and clipping.
rgb = np.where((xx // 8 + yy // 8)[..., None] % 2 == 0, base % 256, noise).astype(np.uint8)
src = Image.fromarray(rgb, "RGB")
src.save(os.path.join(out, "resize_src_rgb.png"))
gray = src.convert("L")
gray.save(os.path.join(out, "resize_src_gray.png"))

cases = [
    ("rgb", src, 286, 286, Image.BICUBIC, "bicubic"),
    ("rgb", src, 23, 17, Image.BICUBIC, "bicubic"),
    ("rgb", src, 100, 30, Image.BILINEAR, "bilinear"),
    ("rgb", src, 13, 61, Image.BILINEAR, "bilinear"),
    ("rgb", src, 37, 91, Image.NEAREST, "nearest"),
    ("rgb", src, 70, 20, Image.BICUBIC, "bicubic"),
    ("rgb", src, 65, 47, Image.BICUBIC, "bicubic"),
    ("gray", gray, 31, 50, Image.BICUBIC, "bicubic"),
]
for kind, im, tw, th, method, name in cases:
    im.resize((tw, th), method).save(os.path.join(out, f"resize_{kind}_{tw}x{th}_{name}.png"))
print("wrote", len(cases), "cases to", os.path.normpath(out), "with Pillow", PIL.__version__)
