#!/usr/bin/env python3
"""Lays out Fashion-MNIST (Debian's `dataset-fashion-mnist`, MIT license) as image folders.

    apt-get install dataset-fashion-mnist      # /usr/share/datasets/fashion-mnist/*.gz
    python3 datasets/fashion-mnist/make_dataset.py OUT [--per-class N]

writes
    OUT/labeled/<class>/<index>.png             one folder per class: `img2img train cgan|dcgan`
    OUT/labeled_test/<class>/<index>.png        the test set's images, the same layout: --eval-dataroot, `img2img fid`
    OUT/sneaker2boot/{trainA,trainB,testA,testB} sneakers (A) and ankle boots (B): `img2img train cyclegan`

28x28 grayscale PNGs. This is a build step for data, not part of img2img (which never runs Python).
"""
import argparse
import gzip
import os
import struct
import zlib

CLASSES = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def write_png(path, w, h, pixels):
    # Minimal 8-bit grayscale PNG writer, so the script needs nothing beyond the standard library.
    raw = b"".join(b"\x00" + pixels[y * w:(y + 1) * w] for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--src", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--per-class", type=int, default=1000, help="training images per class in labeled/")
    ap.add_argument("--test-per-class", type=int, default=1000,
                    help="held-out images per class in labeled_test/ (the test set: `train cgan --eval-dataroot`)")
    ap.add_argument("--pairs", type=int, default=1000, help="images per domain in sneaker2boot/trainA|B")
    a = ap.parse_args()
    for split, prefix in (("train", "train"), ("test", "t10k")):
        (n, h, w), imgs = read_idx(os.path.join(a.src, f"{prefix}-images-idx3-ubyte.gz"))
        (_,), labels = read_idx(os.path.join(a.src, f"{prefix}-labels-idx1-ubyte.gz"))
        counts = {c: 0 for c in range(10)}
        for i in range(n):
            c = labels[i]
            px = imgs[i * h * w:(i + 1) * h * w]
            if counts[c] < (a.per_class if split == "train" else a.test_per_class):
                d = os.path.join(a.out, "labeled" if split == "train" else "labeled_test", CLASSES[c])
                os.makedirs(d, exist_ok=True)
                write_png(os.path.join(d, f"{i:05d}.png"), w, h, px)
            limit = a.pairs if split == "train" else 100
            if c in (7, 9) and counts[c] < limit:
                d = os.path.join(a.out, "sneaker2boot", split + ("A" if c == 7 else "B"))
                os.makedirs(d, exist_ok=True)
                write_png(os.path.join(d, f"{i:05d}.png"), w, h, px)
            counts[c] += 1
    print("wrote", a.out)


if __name__ == "__main__":
    main()
