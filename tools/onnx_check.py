#!/usr/bin/env python3
"""Checks `img2img export` against `img2img translate` in onnxruntime.

For each model: export it to ONNX (as exported by default, and with --no-centered-norms),
translate the same PNG
files at two sizes with `img2img translate` and with onnxruntime (same pixel normalization to
[-1, 1], same quantization as translate's default `truncate`, the paper code's tensor2im), and
compare the 8-bit outputs: at most 1 level of difference is allowed for the default export.
The plain (--no-centered-norms) export's difference is printed too: onnxruntime's CPU InstanceNormalization
computes the variance in a way that loses digits on channels with a large mean (see
tools/onnx_reference.py, which evaluates the graph in float64), so it can differ by more.
Also prints the time per image of both at the same thread count (onnxruntime
intra_op_num_threads = N, img2img --threads N): translate's pipeline time (decode, infer,
encode) against the same loop in Python, and onnxruntime's session.run alone.

Models (trained here for a few iterations if missing, so that weights are not trivial):
  resnet9        pix2pix --netG resnet_9blocks --norm instance (CycleGAN's generator), network file
  unet256-batch  pix2pix --netG unet_256 --norm batch (with dropout, removed), training checkpoint;
                 batch norm on each image's own statistics (translate's default, the paper
                 code's test.py) = export --batch-norm batch
  unet256-eval   the same with the running statistics: translate --eval = export --batch-norm running
  pth-resnet6    the paper code's .pth (Tests/ModelTests/Fixtures/resnet6_ngf4.pth)
  earth-night2day  the bundled model (resnet_6blocks, ngf 16, fp16 weights)

Usage (from the repository root, after `swift build -c release --product img2img` and the same
with `--product img2img-bench`, which the speed section needs):
    pip install onnxruntime==1.32.0 onnx numpy Pillow
    python3 tools/onnx_check.py [--threads 2] [--images 4] [--workdir out/onnx_check]
Exit status 1 if a default export differs from translate by more than 1 level.
Tested with onnxruntime 1.32.0, onnx 1.23.2 (checker), numpy 2.4.6, Pillow 13.0.0 (Python 3.11). Each exported
file also passes onnx.checker (full check), and a batch of 2 gives the single-image results.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def make_inputs(workdir, count):
    """PNG inputs at the sizes each network takes, cut from the bundled night tiles."""
    src = os.path.join(ROOT, "datasets/samples/earth-night")
    tiles = [Image.open(os.path.join(src, f)).convert("RGB") for f in sorted(os.listdir(src))]
    sizes = {"256x256": (256, 256), "320x192": (320, 192), "512x256": (512, 256)}
    dirs = {}
    for name, (w, h) in sizes.items():
        d = os.path.join(workdir, "in", name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for i in range(count):
            a, b = tiles[i % len(tiles)], tiles[(i + 1) % len(tiles)]
            strip = Image.new("RGB", (512, 256))
            strip.paste(a, (0, 0))
            strip.paste(b, (256, 0))
            img = strip.crop((37 * i % 192, 0, 37 * i % 192 + w, h)) if w <= 320 else strip
            img.save(os.path.join(d, f"img{i}.png"))
        dirs[name] = d
    return dirs


def train_if_missing(binary, workdir, name, extra, threads):
    ckpt = os.path.join(workdir, "runs", name, "latest.safetensors")
    if not os.path.exists(ckpt):
        print(f"training {name} for 8 iterations ({' '.join(extra)}) ...", flush=True)
        run([binary, "train", "pix2pix", "--dataroot", os.path.join(ROOT, "datasets/earth-day2night"),
             "--name", name, "--direction", "BtoA", "--max-dataset-size", "8", "--n-epochs", "1",
             "--n-epochs-decay", "0", "--threads", str(threads)] + extra, cwd=workdir)
    return os.path.join(workdir, "runs", name)


def to_input(path):
    px = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    x = (px / np.float32(255) - np.float32(0.5)) / np.float32(0.5)  # translate's Normalize
    return x.transpose(2, 0, 1)[None]


def to_pixels(y):
    v = (y[0].transpose(1, 2, 0) + np.float32(1)) / np.float32(2) * np.float32(255)
    v = np.nan_to_num(v, nan=0.0)
    return np.clip(v, 0, 255).astype(np.uint8)  # truncation, as translate's default and tensor2im


def session(binary, workdir, label, model, export_args, threads):
    onnx_path = os.path.join(workdir, f"{label}.onnx")
    out = run([binary, "export", "--model", model, "--output", onnx_path, "--overwrite"] + export_args)
    print(f"  {out.strip()}")
    onnx.checker.check_model(onnx_path, full_check=True)  # structure and shape inference
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])


def run_ort(sess, src, dst):
    """The whole loop (decode, normalize, run, quantize, encode) per image, as translate's
    pipeline time, and the median of session.run alone after one warm-up."""
    files = sorted(os.listdir(src))
    os.makedirs(dst, exist_ok=True)
    t0 = time.perf_counter()
    for f in files:
        y = sess.run(["output"], {"input": to_input(os.path.join(src, f))})[0]
        Image.fromarray(to_pixels(y)).save(os.path.join(dst, f))
    loop = (time.perf_counter() - t0) / len(files)
    x = to_input(os.path.join(src, files[0]))
    times = []
    for _ in range(len(files) + 1):
        t = time.perf_counter()
        sess.run(["output"], {"input": x})
        times.append(time.perf_counter() - t)
    return loop, float(np.median(times[1:]))


def compare(a_dir, b_dir):
    worst, differing, total = 0, 0, 0
    for f in sorted(os.listdir(a_dir)):
        a = np.asarray(Image.open(os.path.join(a_dir, f)), dtype=np.int16)
        b = np.asarray(Image.open(os.path.join(b_dir, f)), dtype=np.int16)
        assert a.shape == b.shape, (f, a.shape, b.shape)
        d = np.abs(a - b)
        worst, differing, total = max(worst, int(d.max())), differing + int((d > 0).sum()), total + d.size
    return worst, differing, total


def check(binary, workdir, label, model, sizes, dirs, threads, export_args, translate_args):
    """Returns the largest difference of the default export (instance norms centered); the
    plain export's (--no-centered-norms) is printed beside it."""
    print(f"{label}:")
    variants = {"default": session(binary, workdir, label, model, export_args, threads),
                "plain": session(binary, workdir, label + "-plain", model, export_args + ["--no-centered-norms"], threads)}
    worst = 0
    for size in sizes:
        src = dirs[size]
        ours = os.path.join(workdir, "out", label, size)
        shutil.rmtree(ours, ignore_errors=True)
        log = run([binary, "translate", "--model", model, "--input", src, "--output", ours, "--format", "png",
                   "--threads", str(threads), "--quiet"] + translate_args)
        m = re.search(r"\(([0-9.]+) images/s\)", log)  # translate's own pipeline rate
        ours_s = 1 / float(m.group(1))
        line = [f"  {size:>8} x{len(os.listdir(src))}  img2img translate {ours_s:.3f} s/image"]
        # The batch axis is dynamic and each image is normalized on its own, as translate does.
        files = sorted(os.listdir(src))[:2]
        x = np.concatenate([to_input(os.path.join(src, f)) for f in files])
        sess = variants["default"]
        alone = np.concatenate([sess.run(["output"], {"input": x[i:i + 1]})[0] for i in range(2)])
        batch_gap = float(np.abs(sess.run(["output"], {"input": x})[0] - alone).max())
        assert batch_gap < 1e-4, f"a batch of 2 differs from single images by {batch_gap}"
        for name, sess in variants.items():
            dst = os.path.join(workdir, "out", f"{label}-ort-{name}", size)
            loop, run_s = run_ort(sess, src, dst)
            d, n, total = compare(ours, dst)
            if name == "default":
                worst = max(worst, d)
            line.append(f"ort {name}: max diff {d} ({n}/{total} differ), {loop:.3f} s/image (run {run_s:.3f})")
        print("  |  ".join(line), flush=True)
    return worst


def speed(root, workdir, threads, rounds, repeats):
    """Inference alone at 256x256, batch 1: img2img-bench's network cases (ResNet-9, instance
    norm; U-Net-256, batch statistics) against session.run of the exported files (default
    export), interleaved round by round so both see the same machine load."""
    bench = os.path.join(root, ".build/release/img2img-bench")
    if not os.path.exists(bench):
        print("speed: skipped (swift build -c release --product img2img-bench)")
        return
    pairs = [("resnet9_fwd", "resnet9.onnx"), ("unet256_fwd", "unet256-batch.onnx")]
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sessions = {c: ort.InferenceSession(os.path.join(workdir, f), so, providers=["CPUExecutionProvider"]) for c, f in pairs}
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 256, 256)).astype(np.float32)
    best = {c: [float("inf"), float("inf")] for c, _ in pairs}
    print(f"speed, 256x256 batch 1, {threads} threads, median of {repeats} per round (s):")
    for r in range(rounds):
        out = run([bench, "--threads", str(threads), "--repeats", str(repeats), "--only", ",".join(c for c, _ in pairs)])
        ours = {l.split()[0]: float(l.split()[1]) for l in out.splitlines() if l and not l.startswith("#")}
        load = os.getloadavg()[0]
        for c, _ in pairs:
            sess = sessions[c]
            sess.run(["output"], {"input": x})
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                sess.run(["output"], {"input": x})
                times.append(time.perf_counter() - t)
            theirs = float(np.median(times))
            best[c] = [min(best[c][0], ours[c]), min(best[c][1], theirs)]
            print(f"  round {r + 1}  {c:12s} img2img {ours[c]:.3f}  onnxruntime {theirs:.3f}  ratio {ours[c] / theirs:.2f}"
                  f"  (load {load:.1f})")
    for c, (o, t) in best.items():
        print(f"  best of rounds  {c:12s} img2img {o:.3f}  onnxruntime {t:.3f}  ratio {o / t:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--workdir", default=os.path.join(ROOT, "out/onnx_check"))
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/img2img"))
    ap.add_argument("--only", help="comma-separated labels (no speed section)")
    ap.add_argument("--rounds", type=int, default=3, help="speed rounds (0: none)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per round and side")
    a = ap.parse_args()
    if not os.path.exists(a.binary):
        sys.exit(f"{a.binary} missing: swift build -c release --product img2img")
    os.makedirs(a.workdir, exist_ok=True)
    print(f"onnxruntime {ort.__version__}, numpy {np.__version__}, threads {a.threads}, {os.cpu_count()} cores")
    dirs = make_inputs(a.workdir, a.images)
    resnet9 = train_if_missing(a.binary, a.workdir, "resnet9", ["--netG", "resnet_9blocks", "--norm", "instance"], a.threads)
    unet = train_if_missing(a.binary, a.workdir, "unet256", ["--netG", "unet_256", "--norm", "batch"], a.threads)
    cases = [
        ("resnet9", os.path.join(resnet9, "latest_net_G.safetensors"), ["256x256", "320x192"], [], []),
        ("unet256-batch", os.path.join(unet, "latest.safetensors"), ["256x256", "512x256"],
         ["--batch-norm", "batch"], []),
        ("unet256-eval", os.path.join(unet, "latest.safetensors"), ["256x256", "512x256"],
         ["--batch-norm", "running"], ["--eval"]),
        ("pth-resnet6", os.path.join(ROOT, "Tests/ModelTests/Fixtures/resnet6_ngf4.pth"), ["256x256", "320x192"], [], []),
        ("earth-night2day", os.path.join(ROOT, "models/earth-night2day/G.safetensors"), ["256x256", "320x192"], [], []),
    ]
    only = set(a.only.split(",")) if a.only else None
    worst = 0
    for label, model, sizes, ex, tr in cases:
        if only and label not in only:
            continue
        worst = max(worst, check(a.binary, a.workdir, label, model, sizes, dirs, a.threads, ex, tr))
    if not only and a.rounds > 0:
        speed(ROOT, a.workdir, a.threads, a.rounds, a.repeats)
    print(f"largest difference (default exports): {worst} level(s): {'OK' if worst <= 1 else 'FAIL'} (at most 1 allowed)")
    sys.exit(0 if worst <= 1 else 1)


if __name__ == "__main__":
    main()
