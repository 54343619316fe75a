#!/usr/bin/env python3
"""Builds the bundled earth-day2night dataset and the demo sample folder.

Source: Debian's `xplanet-images` package (1.3.1-3): earth.jpg (NASA Visible
Earth, Blue Marble, daytime) and night.jpg (NASA Visible Earth, city lights),
both 2048x1024 in the same equirectangular projection, so the two maps are a
pixel-aligned day/night pair. NASA imagery is not copyrighted (see README.md).

Layout written (the paper code's `aligned` format, A = day | B = night):
    datasets/earth-day2night/train/*.jpg   512x256 A|B pairs, longitudes 0..1535
    datasets/earth-day2night/test/*.jpg    512x256 A|B pairs, longitudes 1536..2047 (held out)
    datasets/samples/earth-night/*.jpg     the test tiles' night halves: the demo folder (night -> day)

This script is a build step for the repository's data, not part of the product.
Usage:  apt-get download xplanet-images && dpkg -x xplanet-images_*.deb /tmp/xp
        python3 datasets/earth-day2night/make_dataset.py /tmp/xp/usr/share/xplanet/images
"""
import os
import sys
from PIL import Image

src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/xplanet/images"
here = os.path.dirname(os.path.abspath(__file__))
day = Image.open(os.path.join(src, "earth.jpg")).convert("RGB")
night = Image.open(os.path.join(src, "night.jpg")).convert("RGB")
assert day.size == night.size == (2048, 1024), (day.size, night.size)

tile = 256
samples = os.path.join(here, "..", "samples", "earth-night")
for d in ("train", "test"):
    os.makedirs(os.path.join(here, d), exist_ok=True)
os.makedirs(samples, exist_ok=True)
count = {"train": 0, "test": 0}
for row in range(1024 // tile):
    for col in range(2048 // tile):
        box = (col * tile, row * tile, (col + 1) * tile, (row + 1) * tile)
        a, b = day.crop(box), night.crop(box)
        ab = Image.new("RGB", (2 * tile, tile))
        ab.paste(a, (0, 0))
        ab.paste(b, (tile, 0))
        split = "test" if col >= 6 else "train"
        name = f"r{row}c{col}.jpg"
        ab.save(os.path.join(here, split, name), quality=90)
        count[split] += 1
        if split == "test":
            b.save(os.path.join(samples, name), quality=92)
print(count)
