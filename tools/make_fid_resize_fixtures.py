#!/usr/bin/env python3
"""What the FID Inception sees, per resize mode, for Tests/TrainingTests/FIDInputTests.swift.

Made with torch 2.15.0, pillow (clean-fid's resize), clean-fid 0.1.35 and pytorch-fid 0.3.0's
preprocessing (ToTensor, then F.interpolate(size=(299, 299), mode="bilinear",
align_corners=False) and 2x - 1 in its InceptionV3). Writes Tests/TrainingTests/Fixtures/fid/:
  resize_a.png (37x23), resize_b.png (210x160)    random RGB images
  resize_<a|b>_<legacy|clean>.npy                 float32, every 31st value of the [299, 299, 3] input
clean: clean-fid's make_resizer("PIL", False, "bicubic", (299, 299)), then (x - 128) / 128 as its
InceptionV3W does before the network.
"""
import os
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from cleanfid.resize import make_resizer

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "TrainingTests", "Fixtures", "fid")
rng = np.random.default_rng(299)
clean = make_resizer("PIL", False, "bicubic", (299, 299))
for name, (w, h) in [("a", (37, 23)), ("b", (210, 160))]:
    img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    Image.fromarray(img).save(os.path.join(out, f"resize_{name}.png"))
    x = torch.from_numpy(img.transpose(2, 0, 1).astype(np.float32) / 255)[None]   # ToTensor
    legacy = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    legacy = (2 * legacy - 1)[0].numpy().transpose(1, 2, 0)
    c = (clean(img) - 128) / 128
    for mode, v in [("legacy", legacy), ("clean", c)]:
        np.save(os.path.join(out, f"resize_{name}_{mode}.npy"), np.ascontiguousarray(v, dtype=np.float32).reshape(-1)[::31])
print("written to", out)
