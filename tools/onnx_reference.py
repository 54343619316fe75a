#!/usr/bin/env python3
"""A float64 NumPy evaluator of the graphs `img2img export` writes (its operator set only).

A third opinion when img2img and onnxruntime disagree: run the exported file in double
precision and see which side is nearer.

    python3 tools/onnx_reference.py G.onnx image.png [--compare a.png b.png ...]

Prints, for each PNG given with --compare, the max level difference to the float64 result
quantized as translate does (truncate). numpy and onnx (PyPI) only.
"""
import argparse

import numpy as np
import onnx
from numpy.lib.stride_tricks import sliding_window_view
from onnx import numpy_helper
from PIL import Image


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(x, w, b, a):
    s = a.get("strides", [1, 1])[0]
    p = a.get("pads", [0, 0, 0, 0])
    x = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
    kh, kw = w.shape[2], w.shape[3]
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::s, ::s]  # n c oh ow kh kw
    y = np.einsum("nchwkl,ockl->nohw", win, w, optimize=True)
    return y + b[None, :, None, None] if b is not None else y


def conv_transpose(x, w, b, a):
    s = a.get("strides", [1, 1])[0]
    p = a.get("pads", [0, 0, 0, 0])[0]
    op = a.get("output_padding", [0, 0])[0]
    n, _, h, wd = x.shape
    k = w.shape[2]
    full = np.zeros((n, w.shape[1], (h - 1) * s + k + op, (wd - 1) * s + k + op))
    for i in range(k):
        for j in range(k):
            full[:, :, i:i + (h - 1) * s + 1:s, j:j + (wd - 1) * s + 1:s] += np.einsum("nchw,co->nohw", x, w[:, :, i, j])
    oh, ow = (h - 1) * s - 2 * p + k + op, (wd - 1) * s - 2 * p + k + op
    y = full[:, :, p:p + oh, p:p + ow]
    return y + b[None, :, None, None] if b is not None else y


def run(model, x):
    env = {"input": x}
    for t in model.graph.initializer:
        env[t.name] = numpy_helper.to_array(t).astype(np.float64 if t.data_type == 1 else np.int64)
    for n in model.graph.node:
        a = attrs(n)
        i = [env[k] if k else None for k in n.input]
        op = n.op_type
        if op == "Conv":
            y = conv(i[0], i[1], i[2] if len(i) > 2 else None, a)
        elif op == "ConvTranspose":
            y = conv_transpose(i[0], i[1], i[2] if len(i) > 2 else None, a)
        elif op == "Pad":
            p = i[1]
            mode = {b"reflect": "reflect", b"edge": "edge", b"constant": "constant"}[a.get("mode", b"constant")]
            y = np.pad(i[0], ((p[0], p[4]), (p[1], p[5]), (p[2], p[6]), (p[3], p[7])), mode=mode)
        elif op == "InstanceNormalization":
            m = i[0].mean(axis=(2, 3), keepdims=True)
            v = ((i[0] - m) ** 2).mean(axis=(2, 3), keepdims=True)
            y = (i[0] - m) / np.sqrt(v + a["epsilon"]) * i[1][None, :, None, None] + i[2][None, :, None, None]
        elif op == "BatchNormalization":
            sc, bb, mu, var = (t[None, :, None, None] for t in i[1:5])
            y = (i[0] - mu) / np.sqrt(var + a["epsilon"]) * sc + bb
        elif op == "Relu":
            y = np.maximum(i[0], 0)
        elif op == "LeakyRelu":
            y = np.where(i[0] >= 0, i[0], i[0] * a["alpha"])
        elif op == "Tanh":
            y = np.tanh(i[0])
        elif op == "Add":
            y = i[0] + i[1]
        elif op == "Concat":
            y = np.concatenate(i, axis=a["axis"])
        else:
            raise SystemExit(f"operator {op} not handled")
        env[n.output[0]] = y
    return env["output"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("image")
    ap.add_argument("--compare", nargs="*", default=[])
    a = ap.parse_args()
    px = np.asarray(Image.open(a.image).convert("RGB"), dtype=np.float64)
    x = ((px / 255 - 0.5) / 0.5).transpose(2, 0, 1)[None]
    y = run(onnx.load(a.model), x)[0].transpose(1, 2, 0)
    ref = np.clip((y + 1) / 2 * 255, 0, 255).astype(np.uint8).astype(np.int16)
    for c in a.compare:
        d = np.abs(np.asarray(Image.open(c), dtype=np.int16) - ref)
        print(f"{c}: max diff {d.max()} level(s) to float64, {(d > 0).sum()} samples differ")


if __name__ == "__main__":
    main()
