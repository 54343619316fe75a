#!/usr/bin/env python3
"""Writes the CUT / FastCUT parity fixtures (Tests/ModelTests/Fixtures/cut_*).

    python3 tools/make_cut_fixtures.py

Needs torch only (pinned 2.15.0, CPU, 1 thread); safetensors files are written by hand.
The networks, netF and the loss come from tools/cut_networks.py, a re-implementation of
taesungp/contrastive-unpaired-translation with identical state_dict names; this script
re-implements models/cut_model.py's data_dependent_initialize and optimize_parameters. One
deviation, mathematically the identity (see cut_networks.py): the gradients into netG's features
are made contiguous before torch 2.15.0's CPU InstanceNorm backward, which is wrong for the
channels-last-strided gradients CUT's permute produces; the script prints how far the unpatched
torch gradients are.
Patch locations (CUT draws them with np.random.permutation) and FastCUT's flip
are fixed here and saved in the files (ids_NCE.<l>, ids_NCE_Y.<l>, flipped), so the Swift side
replays them.

Files (PyTorch layouts: NCHW, Conv2d OIHW, Linear [out,in]; scalars [1]):
  cut_generator.safetensors   G (resnet_2blocks, ngf 4, instance norm, antialias + antialias_up),
                              input 1x3x32x32, output; encode_<l> features at nce layers 0,4,8,12,16
  cut_G_ngf4.pth              the same G as torch.save(G.state_dict()) (CUT's latest_net_G.pth format)
  cut_patchnce.safetensors    PatchNCELoss alone: q, k [2*P, D] (batch_size 2), loss [2*P]
  cut_step.safetensors        one CUT optimize_parameters (nce_idt, lambda_NCE 1): G., D., F. initial,
                              real_A, real_B, ids, losses, grad.*, after.*
  fastcut_step.safetensors    one FastCUT optimize_parameters (no nce_idt, lambda_NCE 10, flipped)
"""
import json
import os
import struct

import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cut_networks import (PATCH_GRAD, NLayerDiscriminator, PatchSampleF, ResnetGenerator,  # noqa: E402
                          l2norm, patch_nce_loss)

assert torch.__version__.startswith("2.15.0"), f"fixtures are pinned to torch 2.15.0, found {torch.__version__}"
print("torch", torch.__version__)
torch.set_num_threads(1)

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ModelTests", "Fixtures"))
CMD = "python3 tools/make_cut_fixtures.py"
ADAM = dict(lr=2e-4, betas=(0.5, 0.999))
NCE_LAYERS = [0, 4, 8, 12, 16]


# ---------------------------------------------------------------------------------------------
# safetensors, written directly (F32 / I64, little-endian, tensors back to back)
def save(name, tensors, meta):
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        v = v.detach().contiguous()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[v.dtype]
        b = bytes(v.reshape(-1).view(torch.uint8).tolist())
        header[k] = {"dtype": dtype, "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    meta = {k: str(v) for k, v in meta.items()}
    meta.setdefault("torch", torch.__version__)
    meta.setdefault("command", CMD)
    header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    print(f"  wrote {name}: {len(tensors)} tensors, {os.path.getsize(path) / 1024:.0f} KiB")


def perturb(net, seed):
    """Nonzero biases and larger weights than xavier(0.02), so that every term is exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / fan_in ** 0.5)
                m.bias.copy_((torch.rand(m.bias.shape, generator=g) * 2 - 1) * 0.2)
    return net


def uniform(*shape, g):
    return torch.rand(*shape, generator=g) * 2 - 1


def sd(net, prefix):
    return {prefix + k: v.detach().clone() for k, v in net.state_dict().items()}


def grads(net, prefix):
    return {prefix + k: (p.grad if p.grad is not None else torch.zeros_like(p)).detach().clone()
            for k, p in net.named_parameters()}


def noise_dominated(named_nets):
    """Conv biases right before an affine-free InstanceNorm: analytic gradient 0 (see make_model_fixtures.py)."""
    out = []
    for prefix, net in named_nets.items():
        for mname, m in net.named_modules():
            if isinstance(m, nn.Sequential):
                kids = list(m.named_children())
                for (a, ma), (_, mb) in zip(kids, kids[1:]):
                    if isinstance(ma, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(mb, nn.InstanceNorm2d):
                        out.append(f"{prefix}{mname}.{a}.bias".replace("..", "."))
    return sorted(out)


# ---------------------------------------------------------------------------------------------
def fx_generator():
    g = torch.Generator().manual_seed(11)
    G = perturb(ResnetGenerator(3, 3, 4, 2), 12)
    x = uniform(1, 3, 32, 32, g=g)
    with torch.no_grad():
        y = G(x)
        feats = G(x, NCE_LAYERS, encode_only=True)
    save("cut_generator.safetensors",
         {**sd(G, ""), "input": x, "output": y, **{f"encode_{l}": f for l, f in zip(NCE_LAYERS, feats)}},
         dict(netG="resnet_2blocks", ngf=4, norm="instance", input_nc=3, output_nc=3, antialias="true", antialias_up="true",
              nce_layers=",".join(map(str, NCE_LAYERS))))
    torch.save(G.state_dict(), os.path.join(OUT, "cut_G_ngf4.pth"))
    back = torch.load(os.path.join(OUT, "cut_G_ngf4.pth"), weights_only=True)
    assert list(back) == list(G.state_dict()) and all(torch.equal(back[k], v) for k, v in G.state_dict().items())
    print(f"  wrote cut_G_ngf4.pth: {len(back)} tensors, {os.path.getsize(os.path.join(OUT, 'cut_G_ngf4.pth')) / 1024:.0f} KiB")


def fx_patchnce():
    g = torch.Generator().manual_seed(21)
    P, D = 12, 16
    q = l2norm(torch.randn(2 * P, D, generator=g))
    k = l2norm(torch.randn(2 * P, D, generator=g))
    loss = patch_nce_loss(q, k, 2, 0.07)
    loss_all = patch_nce_loss(q, k, 1, 0.07)
    save("cut_patchnce.safetensors", dict(q=q, k=k, loss=loss, loss_all_negatives=loss_all),
         dict(batch_size=2, nce_T=0.07, note="loss: batch_dim_for_bmm = batch_size 2; loss_all_negatives: "
              "nce_includes_all_negatives_from_minibatch (batch_dim_for_bmm 1)"))


def cut_step(name, nce_idt, lambda_NCE, flip_equivariance, seed):
    PATCH_GRAD[0] = False
    unpatched = _cut_step(nce_idt, lambda_NCE, flip_equivariance, seed)
    PATCH_GRAD[0] = True
    tensors, meta = _cut_step(nce_idt, lambda_NCE, flip_equivariance, seed)
    gap = max((unpatched[0][k] - tensors[k]).abs().max().item() for k in tensors if k.startswith("grad.G."))
    print(f"  {name}: G gradients of unpatched torch (channels-last InstanceNorm backward) differ by up to {gap:.3g}")
    meta["torch_instance_norm_note"] = ("gradients into netG's features made contiguous before InstanceNorm backward "
                                        f"(torch 2.15.0 CPU bug with channels-last grads; unpatched G grads differ by {gap:.3g})")
    save(name, tensors, meta)


def _cut_step(nce_idt, lambda_NCE, flip_equivariance, seed):
    """CUTModel: data_dependent_initialize (creates netF and optimizer_F), then one optimize_parameters."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    num_patches, netF_nc, nce_T, lambda_GAN = 16, 16, 0.07, 1.0
    netG = perturb(ResnetGenerator(3, 3, 4, 2), seed + 1)
    netD = perturb(NLayerDiscriminator(3, 4), seed + 2)
    netF = PatchSampleF(netF_nc)
    real_A, real_B = uniform(1, 3, 32, 32, g=g), uniform(1, 3, 32, 32, g=g)
    mse = nn.MSELoss()

    def gan(pred, real):
        return mse(pred, torch.full_like(pred, 1.0 if real else 0.0))

    state = {}

    def forward(flipped):
        real = torch.cat((real_A, real_B), dim=0) if nce_idt else real_A
        if flipped:
            real = torch.flip(real, [3])
        fake = netG(real)
        state.update(fake_B=fake[:real_A.size(0)], idt_B=fake[real_A.size(0):] if nce_idt else None, flipped=flipped)

    def draw_ids(feats):
        return [torch.randperm(f.shape[2] * f.shape[3], generator=g)[:min(num_patches, f.shape[2] * f.shape[3])] for f in feats]

    def nce(src, tgt, ids_log):
        feat_q = netG(tgt, NCE_LAYERS, encode_only=True)
        if flip_equivariance and state["flipped"]:
            feat_q = [torch.flip(fq, [3]) for fq in feat_q]
        feat_k = netG(src, NCE_LAYERS, encode_only=True)
        ids = draw_ids(feat_k)
        ids_log.extend(ids)
        feat_k_pool = netF(feat_k, num_patches, ids)
        feat_q_pool = netF(feat_q, num_patches, ids)
        total = 0.0
        for f_q, f_k in zip(feat_q_pool, feat_k_pool):
            total += (patch_nce_loss(f_q, f_k, 1, nce_T) * lambda_NCE).mean()
        return total / len(NCE_LAYERS)

    def d_loss():
        loss_fake = gan(netD(state["fake_B"].detach()), False).mean()
        loss_real = gan(netD(real_B), True).mean()
        return loss_fake, loss_real, (loss_fake + loss_real) * 0.5

    def g_loss(ids_nce, ids_nce_y):
        loss_G_GAN = gan(netD(state["fake_B"]), True).mean() * lambda_GAN
        loss_NCE = nce(real_A, state["fake_B"], ids_nce)
        if nce_idt:
            loss_NCE_Y = nce(real_B, state["idt_B"], ids_nce_y)
            both = (loss_NCE + loss_NCE_Y) * 0.5
        else:
            loss_NCE_Y, both = torch.zeros(()), loss_NCE
        return loss_G_GAN, loss_NCE, loss_NCE_Y, loss_G_GAN + both

    opt_G = torch.optim.Adam(netG.parameters(), **ADAM)
    opt_D = torch.optim.Adam(netD.parameters(), **ADAM)
    # data_dependent_initialize: netF is created by its first call; nothing is stepped
    forward(False)
    d_loss()[2].backward()
    g_loss([], [])[3].backward()
    perturb(netF, seed + 3)
    opt_F = torch.optim.Adam(netF.parameters(), **ADAM)
    init = {**sd(netG, "G."), **sd(netD, "D."), **sd(netF, "F.")}

    # optimize_parameters
    flipped = flip_equivariance  # the draw fixed to "flip" so that the flip path is exercised
    forward(flipped)
    for p in netD.parameters():
        p.requires_grad_(True)
    opt_D.zero_grad()
    loss_D_fake, loss_D_real, loss_D = d_loss()
    loss_D.backward()
    d_grads = grads(netD, "grad.D.")
    opt_D.step()
    for p in netD.parameters():
        p.requires_grad_(False)
    opt_G.zero_grad()
    opt_F.zero_grad()
    ids_nce, ids_nce_y = [], []
    loss_G_GAN, loss_NCE, loss_NCE_Y, loss_G = g_loss(ids_nce, ids_nce_y)
    loss_G.backward()
    g_grads = {**grads(netG, "grad.G."), **grads(netF, "grad.F.")}
    opt_G.step()
    opt_F.step()

    after = {**sd(netG, "after.G."), **sd(netD, "after.D."), **sd(netF, "after.F.")}
    losses = dict(loss_G_GAN=loss_G_GAN, loss_D_real=loss_D_real, loss_D_fake=loss_D_fake, loss_G=loss_G,
                  loss_NCE=loss_NCE, loss_NCE_Y=loss_NCE_Y)
    ids = {**{f"ids_NCE.{i}": t for i, t in enumerate(ids_nce)}, **{f"ids_NCE_Y.{i}": t for i, t in enumerate(ids_nce_y)}}
    noisy = noise_dominated({"G.": netG, "D.": netD})
    print("  losses", {k: round(float(v.detach()), 6) for k, v in losses.items()})
    return ({**init, "real_A": real_A, "real_B": real_B, "fake_B": state["fake_B"].detach(), **ids,
                **{k: v.detach().reshape(1).float() for k, v in losses.items()}, **g_grads, **d_grads, **after},
         dict(netG="resnet_2blocks", ngf=4, netD="basic", ndf=4, norm="instance", antialias="true", antialias_up="true",
              gan_mode="lsgan", nce_idt=str(nce_idt).lower(), lambda_NCE=lambda_NCE, lambda_GAN=lambda_GAN,
              nce_layers=",".join(map(str, NCE_LAYERS)), num_patches=num_patches, netF_nc=netF_nc, nce_T=nce_T,
              flip_equivariance=str(flip_equivariance).lower(), flipped=str(flipped).lower(), seed=seed,
              optimizer="Adam lr=2e-4 betas=(0.5,0.999) eps=1e-8: optimizer_G, optimizer_D, optimizer_F",
              order="data_dependent_initialize (creates netF, no step); forward; D step; G step (G and F)",
              noise_dominated_params=",".join(noisy)))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    fx_generator()
    fx_patchnce()
    cut_step("cut_step.safetensors", nce_idt=True, lambda_NCE=1.0, flip_equivariance=False, seed=31)
    cut_step("fastcut_step.safetensors", nce_idt=False, lambda_NCE=10.0, flip_equivariance=True, seed=41)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.startswith("cut_") or f.startswith("fastcut_"))
    print(f"CUT fixtures: {total / 1024:.0f} KiB")
