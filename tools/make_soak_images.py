#!/usr/bin/env python3
"""Writes the image folders of the long-run scripts (tools/memory_soak.sh, tools/translate_soak.sh).
Standard library only (zlib), so it runs on any Python 3.

  make_soak_images.py single DIR COUNT SIZE [BROKEN_PERCENT]
      COUNT RGB PNGs of SIZE x SIZE (img00000.png ...), plus about BROKEN_PERCENT % broken files:
      truncated PNGs, empty .jpg files, text named .png, a JPEG signature followed by junk, and
      PNGs whose header declares 100000 x 100000 pixels. Prints the broken names to DIR.broken.
  make_soak_images.py aligned DIR COUNT SIZE     DIR/train/: COUNT A|B pairs (2*SIZE x SIZE)
  make_soak_images.py unaligned DIR COUNT SIZE   DIR/trainA, DIR/trainB: COUNT images each
"""
import os
import random
import struct
import sys
import zlib


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, pixels):
    raw = b"".join(b"\x00" + pixels[y * width * 3:(y + 1) * width * 3] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def pattern(width, height, seed):
    rng = random.Random(seed)
    base = [rng.randrange(256) for _ in range(3)]
    return bytes((base[c] + x * 7 + y * 5 + rng.randrange(8)) % 256
                 for y in range(height) for x in range(width) for c in range(3))


def main():
    mode, root, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if mode == "single":
        broken_percent = float(sys.argv[5]) if len(sys.argv) > 5 else 0
        os.makedirs(root, exist_ok=True)
        for i in range(count):
            with open(os.path.join(root, "img%05d.png" % i), "wb") as f:
                f.write(png(size, size, pattern(size, size, i)))
        n_broken = int(round(count * broken_percent / 100))
        broken = []
        kinds = ["truncated", "empty", "text", "junkjpeg", "huge"]
        for i in range(n_broken):
            kind = kinds[i % len(kinds)]
            if kind == "truncated":
                name, data = "bad%04d_truncated.png" % i, png(size, size, pattern(size, size, 10**6 + i))
                data = data[:len(data) // 2]
            elif kind == "empty":
                name, data = "bad%04d_empty.jpg" % i, b""
            elif kind == "text":
                name, data = "bad%04d_text.png" % i, b"this is not an image\n"
            elif kind == "junkjpeg":
                name, data = "bad%04d_junk.jpg" % i, b"\xff\xd8\xff\xe0" + bytes(random.Random(i).randrange(256) for _ in range(300))
            else:
                ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
                name, data = "bad%04d_huge.png" % i, b"\x89PNG\r\n\x1a\n" + ihdr + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
            with open(os.path.join(root, name), "wb") as f:
                f.write(data)
            broken.append(name)
        with open(root.rstrip("/") + ".broken", "w") as f:
            f.write("".join(b + "\n" for b in broken))
    elif mode == "aligned":
        os.makedirs(os.path.join(root, "train"), exist_ok=True)
        for i in range(count):
            a, b = pattern(size, size, i), pattern(size, size, 5000 + i)
            rows = b"".join(a[y * size * 3:(y + 1) * size * 3] + b[y * size * 3:(y + 1) * size * 3] for y in range(size))
            with open(os.path.join(root, "train", "p%05d.png" % i), "wb") as f:
                f.write(png(2 * size, size, rows))
    elif mode == "unaligned":
        for side, off in (("trainA", 0), ("trainB", 7000)):
            os.makedirs(os.path.join(root, side), exist_ok=True)
            for i in range(count):
                with open(os.path.join(root, side, "%s%05d.png" % (side[-1], i)), "wb") as f:
                    f.write(png(size, size, pattern(size, size, off + i)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
