#!/usr/bin/env python3
"""Markdown tables from tools/bench.sh results (a developer tool; no part of the product or tests).

    tools/bench_markdown.py DIR [DIR ...]

Each DIR is a `tools/bench.sh --out DIR` result; one table per DIR, headed by the ISA each side ran,
the CPU model and the load average at start and end. Ratio = img2img / PyTorch median seconds (lower
is better); min = the same with each side's fastest repeat (the verdict statistic on a machine that
switches speed states: see tools/bench.sh).
"""
import json
import os
import sys

NAMES = {
    "resnet9_fwd": "ResNet-9 generator forward",
    "resnet9_fwd_bf16": "ResNet-9 generator forward, bf16",
    "unet256_fwd": "U-Net-256 forward (batch statistics)",
    "patchgan_fwd": "PatchGAN forward (6 channels, batch norm)",
    "cyclegan_iter": "CycleGAN training iteration",
    "cut_iter": "CUT training iteration",
    "fastcut_iter": "FastCUT training iteration",
    "pix2pix_iter": "pix2pix training iteration",
}


def table(d):
    ours = json.load(open(os.path.join(d, "img2img.json")))
    theirs = json.load(open(os.path.join(d, "torch.json"))) if os.path.exists(os.path.join(d, "torch.json")) else {"env": {}, "results": []}
    oe, te = ours["env"], theirs["env"]
    cap = te.get("onednn_max_cpu_isa") or "uncapped"
    end = te.get("loadavg_end", oe["loadavg_end"])
    end = " ".join(f"{x:.2f}" for x in end) if isinstance(end, list) else end
    print(f"img2img `{oe['kernels']}` kernels vs PyTorch {te.get('torch', '?')} (oneDNN max ISA: {cap}), "
          f"{oe['threads']} threads, median of {oe.get('rounds', 1)} rounds x {oe['repeats']} repeats; CPU {oe['cpu']}; load average "
          f"{oe['loadavg_start']} at start, {end} at end")
    print()
    print("| case | img2img s | PyTorch s | ratio | min ratio |")
    print("|---|---|---|---|---|")
    t = {r["name"]: r for r in theirs["results"]}
    for r in ours["results"]:
        n = r["name"]
        if n == "baseline":
            continue
        o = r["seconds"]
        if n in t and t[n]["seconds"] > 0:
            p = t[n]["seconds"]
            ratio = f"{o / p:.2f}"
            mr = f"{min(r['all_seconds']) / min(t[n]['all_seconds']):.2f}"
            ps = f"{p:.4f}"
        else:
            ratio = mr = ps = "-"
        print(f"| {NAMES.get(n, n)} | {o:.4f} | {ps} | {ratio} | {mr} |")
    print()


for d in sys.argv[1:]:
    table(d)
