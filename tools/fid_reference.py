#!/usr/bin/env python3
"""pytorch-fid 0.3.0's own FID (and torch-fidelity 0.4.0's KID on the same features) for two
folders, with the converted weights, to compare with `img2img fid` (tools, never the tests).

    python3 tools/fid_reference.py A B [--threads 2] [--batch-size 16]

pytorch-fid's weight download (GitHub) is replaced by tools/fid_weights.py's safetensors file,
loaded strictly into its FIDInceptionV3; everything else is pytorch-fid's code path:
ImagePathDataset (PIL .convert("RGB"), ToTensor), InceptionV3([3]) with resize_input and
normalize_input (bilinear F.interpolate to 299), calculate_frechet_distance. Made with torch
2.15.0, pytorch-fid 0.3.0, torch-fidelity 0.4.0.
"""
import argparse, json, os, pathlib, sys, time
import numpy as np
import torch
sys.path.insert(0, os.path.dirname(__file__))
import fid_weights
from pytorch_fid import inception as fid_inception
from pytorch_fid.fid_score import calculate_frechet_distance, get_activations
from safetensors.torch import load_file

ap = argparse.ArgumentParser()
ap.add_argument("a"); ap.add_argument("b")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--batch-size", type=int, default=16)
ap.add_argument("--weights", default=fid_weights.DEFAULT_OUT)
ap.add_argument("--kid-subset-size", type=int, default=1000)
args = ap.parse_args()
torch.set_num_threads(args.threads)
sd = load_file(args.weights)
full = dict(sd)
full["fc.weight"] = torch.zeros(1008, 2048); full["fc.bias"] = torch.zeros(1008)
fid_inception.load_state_dict_from_url = lambda *a, **k: full
model = fid_inception.InceptionV3([3]).eval()  # resize_input=True, normalize_input=True: pytorch-fid's defaults
exts = {"bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp"}
def files(d):
    return sorted(str(p) for p in pathlib.Path(d).rglob("*") if p.suffix[1:].lower() in exts)
t0 = time.time()
acts = [get_activations(files(d), model, args.batch_size, 2048, "cpu", num_workers=0) for d in (args.a, args.b)]
seconds = time.time() - t0
stats = [(np.mean(a, axis=0), np.cov(a, rowvar=False)) for a in acts]
fid = calculate_frechet_distance(stats[0][0], stats[0][1], stats[1][0], stats[1][1])
out = {"fid": float(fid), "images": [len(a) for a in acts], "seconds_features": seconds,
       "torch": torch.__version__}
try:
    from torch_fidelity.metric_kid import kid_features_to_metric
    m = min(args.kid_subset_size, len(acts[0]), len(acts[1]))
    kid = kid_features_to_metric(torch.from_numpy(acts[0]), torch.from_numpy(acts[1]), kid_subsets=100,
                                 kid_subset_size=m, verbose=False, rng_seed=2020)
    out["kid_mean"] = kid["kernel_inception_distance_mean"]; out["kid_std"] = kid["kernel_inception_distance_std"]
except ImportError:
    pass
print(json.dumps(out))
