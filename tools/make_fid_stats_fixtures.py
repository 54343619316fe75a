#!/usr/bin/env python3
"""FID/KID statistics fixtures for Tests/TrainingTests/FIDStatisticsTests.swift.

Made with numpy 2.4.6, scipy 1.17.1, torch 2.15.0, pytorch-fid 0.3.0 and torch-fidelity 0.4.0
(pip install --no-deps pytorch-fid==0.3.0 torch-fidelity==0.4.0, plus torchvision, pillow, tqdm
for torch-fidelity's imports). Features are synthetic (ReLU-like, 64-d, as Inception's pool3 is
non-negative), so the fixture is small; the statistics code does not depend on d.

Writes Tests/TrainingTests/Fixtures/fid/:
  features1.npy, features2.npy   float32 [250, 64] and [300, 64]; features3.npy [250, 64]
  stats1.npz                     pytorch-fid's --save-stats layout (np.savez_compressed mu, sigma) of features1
  expected.json                  pytorch-fid's FID(1, 2), FID(1, 1); torch-fidelity's KID(1, 3) with
                                 subset size 250 = every feature (any subset is a permutation)
"""
import json, os
import numpy as np
import torch
import pytorch_fid, scipy
from pytorch_fid.fid_score import calculate_frechet_distance
import torch_fidelity
from torch_fidelity.metric_kid import kid_features_to_metric

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "TrainingTests", "Fixtures", "fid")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20261207)
d = 64
mix = rng.normal(size=(d, d)) / np.sqrt(d)
def features(n, shift):
    z = rng.normal(size=(n, d)) @ mix + shift
    return np.maximum(z, 0).astype(np.float32) * 2.0

f1, f2, f3 = features(250, 0.3), features(300, 0.5), features(250, 0.35)
for name, f in [("features1", f1), ("features2", f2), ("features3", f3)]:
    np.save(os.path.join(out, name + ".npy"), f)

def stats(act):  # pytorch-fid's calculate_activation_statistics on given activations
    return np.mean(act, axis=0), np.cov(act, rowvar=False)

mu1, s1 = stats(f1)
mu2, s2 = stats(f2)
np.savez_compressed(os.path.join(out, "stats1.npz"), mu=mu1, sigma=s1)
kid = kid_features_to_metric(torch.from_numpy(f1), torch.from_numpy(f3), kid_subsets=1, kid_subset_size=250,
                             verbose=False, rng_seed=2020)
expected = {
    "fid_1_2": float(calculate_frechet_distance(mu1, s1, mu2, s2)),
    "fid_1_1": float(calculate_frechet_distance(mu1, s1, mu1, s1)),
    "kid_1_3": kid["kernel_distance_mean"] if "kernel_distance_mean" in kid else kid["kernel_inception_distance_mean"],
    "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "torch": torch.__version__,
                 "pytorch_fid": pytorch_fid.__version__, "torch_fidelity": torch_fidelity.__version__},
}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=2, sort_keys=True)
print(expected)
