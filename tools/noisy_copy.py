#!/usr/bin/env python3
"""Writes a copy of an image folder with seeded Gaussian noise added to every pixel: the "folder against
itself with different noise" comparison of docs/evaluation.md (tools only).

    python3 tools/noisy_copy.py IN OUT [--sigma 8] [--seed 0]

PNG in, PNG out (8-bit, the input's mode); noise N(0, sigma^2) in 0-255 levels, rounded and clipped.
Made with numpy 2.4 and Pillow 13.0.0.
"""
import argparse
import os

import numpy as np
from PIL import Image

ap = argparse.ArgumentParser()
ap.add_argument("inp"); ap.add_argument("out")
ap.add_argument("--sigma", type=float, default=8.0)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
rng = np.random.default_rng(a.seed)
os.makedirs(a.out, exist_ok=True)
for name in sorted(os.listdir(a.inp)):
    if not name.lower().endswith(".png"):
        continue
    im = Image.open(os.path.join(a.inp, name))
    x = np.asarray(im).astype(np.float64)
    y = np.clip(np.round(x + rng.normal(0, a.sigma, x.shape)), 0, 255).astype(np.uint8)
    Image.fromarray(y, im.mode).save(os.path.join(a.out, name))
print("wrote", a.out)
