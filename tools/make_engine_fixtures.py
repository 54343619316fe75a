#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures of the conv engine into Tests/EngineTests/Fixtures/.

    python3 tools/make_engine_fixtures.py            # pinned: torch 2.15.0 (CPU), numpy, safetensors

Every fixture is computed in float64 (so it is the exact answer up to ~1e-15) and stored
as F32 in PyTorch layouts: activations NCHW, Conv2d weights [OC,C,KH,KW], ConvTranspose2d
weights [Cin,Cout,KH,KW], linear weights [out,in]. The Swift tests convert with
Tensor.nchwToNHWC / convWeightFromPyTorch / transposedConvWeightFromPyTorch.
Upstream gradients are named `gy`; gradients `g<name>`.
"""
import os
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

PINNED = "2.15.0"
print("torch", torch.__version__)
assert torch.__version__.split("+")[0] == PINNED, f"fixtures are pinned to torch {PINNED}, found {torch.__version__}"

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EngineTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def save(name, tensors):
    path = os.path.join(OUT, name + ".safetensors")
    save_file({k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()}, path,
              metadata={"torch": torch.__version__, "script": "tools/make_engine_fixtures.py", "layout": "NCHW"})
    print(f"{name}: {os.path.getsize(path)} bytes")


def single_op(name, module, x, extra=None):
    x = x.clone().requires_grad_(True)
    y = module(x)
    gy = torch.randn_like(y)
    y.backward(gy)
    t = {"x": x, "y": y, "gy": gy, "gx": x.grad}
    for pname, p in module.named_parameters():
        t[pname] = p
        t["g" + pname] = p.grad
    if extra:
        t.update(extra(module))
    save(name, t)


# Conv2d 3->5, k3 s2 p1, bias; and k4 s1 p2 without bias.
single_op("conv_k3s2", nn.Conv2d(3, 5, 3, stride=2, padding=1), torch.randn(2, 3, 9, 8))
single_op("conv_k4s1", nn.Conv2d(4, 3, 4, stride=1, padding=2, bias=False), torch.randn(1, 4, 7, 7))
# ConvTranspose2d 4->3, k3 s2 p1 output_padding 1 (ResNet generator), and k4 s2 p1 (U-Net).
single_op("convT_k3s2op1", nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1), torch.randn(2, 4, 5, 4))
single_op("convT_k4s2", nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1), torch.randn(1, 4, 5, 5))
# InstanceNorm2d affine (weights randomized so the affine path is exercised).
inorm = nn.InstanceNorm2d(6, affine=True)
with torch.no_grad():
    inorm.weight.normal_(1, 0.5); inorm.bias.normal_(0, 0.5)
single_op("instancenorm", inorm, torch.randn(2, 6, 7, 5) * 2 + 1)
# BatchNorm2d training step: output, grads, and the updated running statistics.
bnorm = nn.BatchNorm2d(6)
with torch.no_grad():
    bnorm.weight.normal_(1, 0.5); bnorm.bias.normal_(0, 0.5)
bnorm.train()
single_op("batchnorm", bnorm, torch.randn(3, 6, 5, 4) * 2 + 1,
          extra=lambda m: {"running_mean": m.running_mean, "running_var": m.running_var})

# PatchGAN (pix2pix NLayerDiscriminator, n_layers=2, ndf=8, InstanceNorm, no affine) at 64x64,
# LSGAN loss against "real" (MSE to 1): loss, output, input grad and every parameter grad.
patch = nn.Sequential(
    nn.Conv2d(3, 8, 4, 2, 1), nn.LeakyReLU(0.2),
    nn.Conv2d(8, 16, 4, 2, 1, bias=False), nn.InstanceNorm2d(16), nn.LeakyReLU(0.2),
    nn.Conv2d(16, 32, 4, 1, 1, bias=False), nn.InstanceNorm2d(32), nn.LeakyReLU(0.2),
    nn.Conv2d(32, 1, 4, 1, 1))
x = torch.rand(1, 3, 64, 64).mul(2).sub(1).requires_grad_(True)
out = patch(x)
loss = F.mse_loss(out, torch.ones_like(out))
loss.backward()
t = {"x": x, "out": out, "loss": loss.reshape(1), "gx": x.grad}
for n, p in patch.named_parameters():
    t[n] = p
    t["g" + n] = p.grad
save("patchgan64", t)

# WGAN-GP penalty on a small critic: conv + LeakyReLU + conv + InstanceNorm(affine) + LeakyReLU
# + spatial mean + linear. gp = 10 * mean((||grad_xhat D(xhat)||_2 - 1)^2), differentiated w.r.t.
# the critic's parameters (create_graph=True).
critic_convs = nn.Sequential(
    nn.Conv2d(3, 8, 4, 2, 1), nn.LeakyReLU(0.2),
    nn.Conv2d(8, 16, 4, 2, 1), nn.InstanceNorm2d(16, affine=True), nn.LeakyReLU(0.2))
critic_fc = nn.Linear(16, 1)
with torch.no_grad():
    critic_convs[3].weight.normal_(1, 0.3); critic_convs[3].bias.normal_(0, 0.3)
real = torch.rand(2, 3, 16, 16) * 2 - 1
fake = torch.rand(2, 3, 16, 16) * 2 - 1
alpha = torch.rand(2, 1, 1, 1)
xhat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
d = critic_fc(critic_convs(xhat).mean(dim=(2, 3)))
grad, = torch.autograd.grad(d.sum(), xhat, create_graph=True)
gp = 10 * ((grad.reshape(2, -1).norm(2, dim=1) - 1) ** 2).mean()
gp.backward()
t = {"xhat": xhat, "d": d, "gradxhat": grad, "gp": gp.reshape(1)}
for n, p in list(critic_convs.named_parameters()) + [("fc." + k, v) for k, v in critic_fc.named_parameters()]:
    t[n] = p
    t["g" + n] = p.grad if p.grad is not None else torch.zeros_like(p)  # fc.bias does not reach the penalty
save("wgangp_critic", t)
