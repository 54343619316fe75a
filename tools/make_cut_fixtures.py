#!/usr/bin/env python3
"""Writes the CUT / FastCUT parity fixtures (Tests/ModelTests/Fixtures/cut_*).

    python3 tools/make_cut_fixtures.py

Needs torch only (pinned 2.15.0, CPU, 1 thread); safetensors files are written by hand.
The networks, netF and the loss are a re-implementation, written for these fixtures, of
taesungp/contrastive-unpaired-translation (models/networks.py ResnetGenerator with the
anti-aliased Downsample/Upsample, NLayerDiscriminator, PatchSampleF 'mlp_sample',
models/patchnce.py PatchNCELoss, models/cut_model.py optimize_parameters), with identical
state_dict names. One deviation, mathematically the identity: torch 2.15.0's CPU InstanceNorm2d
backward is wrong when the incoming gradient is channels-last strided, which CUT's
feat.permute(0, 2, 3, 1) in PatchSampleF produces (a float64 gradcheck of netG through that path
fails; with the gradient made contiguous it passes and agrees with ours). So the features enter
netF through `contiguous_grad`, and the script prints how far the unpatched torch gradients are.
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

import torch
import torch.nn as nn
import torch.nn.functional as F

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


# ---------------------------------------------------------------------------------------------
# CUT's networks (models/networks.py), re-implemented
def get_filter(filt_size):
    a = torch.tensor([[1.], [1., 1.], [1., 2., 1.], [1., 3., 3., 1.], [1., 4., 6., 4., 1.],
                      [1., 5., 10., 10., 5., 1.], [1., 6., 15., 20., 15., 6., 1.]][filt_size - 1], dtype=torch.float64)
    filt = (a[:, None] * a[None, :]).float()
    return filt / filt.sum()


class Downsample(nn.Module):
    def __init__(self, channels, filt_size=3, stride=2):
        super().__init__()
        self.filt_size, self.stride = filt_size, stride
        lo, hi = (filt_size - 1) // 2, filt_size // 2
        self.pad = nn.ReflectionPad2d([lo, hi, lo, hi])
        self.register_buffer("filt", get_filter(filt_size)[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x):
        return F.conv2d(self.pad(x), self.filt, stride=self.stride, groups=x.shape[1])


class Upsample(nn.Module):
    def __init__(self, channels, filt_size=4, stride=2):
        super().__init__()
        self.filt_size, self.stride = filt_size, stride
        self.pad_size = (filt_size - 1) // 2
        self.register_buffer("filt", (get_filter(filt_size) * stride ** 2)[None, None].repeat(channels, 1, 1, 1))
        self.pad = nn.ReplicationPad2d([1, 1, 1, 1])

    def forward(self, x):
        y = F.conv_transpose2d(self.pad(x), self.filt, stride=self.stride, padding=1 + self.pad_size,
                               groups=x.shape[1])[:, :, 1:, 1:]
        return y if self.filt_size % 2 == 1 else y[:, :, :-1, :-1]


class ResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True),
                                        nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim))

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """instance norm (use_bias True), reflect padding, no dropout."""

    def __init__(self, input_nc, output_nc, ngf, n_blocks, no_antialias=False, no_antialias_up=False):
        super().__init__()
        m = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2 ** i
            if no_antialias:
                m += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.InstanceNorm2d(2 * c), nn.ReLU(True)]
            else:
                m += [nn.Conv2d(c, 2 * c, 3, stride=1, padding=1), nn.InstanceNorm2d(2 * c), nn.ReLU(True), Downsample(2 * c)]
        m += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            if no_antialias_up:
                m += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1), nn.InstanceNorm2d(c // 2),
                      nn.ReLU(True)]
            else:
                m += [Upsample(c), nn.Conv2d(c, c // 2, 3, stride=1, padding=1), nn.InstanceNorm2d(c // 2), nn.ReLU(True)]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*m)

    def forward(self, x, layers=(), encode_only=False):
        if not layers:
            return self.model(x)
        feats = []
        for i, layer in enumerate(self.model):
            x = layer(x)
            if i in layers:
                feats.append(x)
            if i == layers[-1] and encode_only:
                return feats
        return x, feats


class NLayerDiscriminator(nn.Module):
    """instance norm (use_bias True), anti-aliased unless no_antialias."""

    def __init__(self, input_nc, ndf, n_layers=3, no_antialias=False):
        super().__init__()
        s = 2 if no_antialias else 1
        seq = [nn.Conv2d(input_nc, ndf, 4, stride=s, padding=1), nn.LeakyReLU(0.2, True)]
        if not no_antialias:
            seq += [Downsample(ndf)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=s, padding=1), nn.InstanceNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
            if not no_antialias:
                seq += [Downsample(ndf * mult)]
        prev, mult = mult, min(2 ** n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=1, padding=1), nn.InstanceNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
        seq += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


class ContiguousGrad(torch.autograd.Function):
    """Identity whose backward makes the gradient contiguous (see the module docstring)."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return g.contiguous()


PATCH_GRAD = [True]


def l2norm(x):
    return x / (x.pow(2).sum(1, keepdim=True).pow(0.5) + 1e-7)


class PatchSampleF(nn.Module):
    def __init__(self, nc):
        super().__init__()
        self.nc, self.mlp_init = nc, False

    def create_mlp(self, feats):
        for i, feat in enumerate(feats):
            setattr(self, f"mlp_{i}", nn.Sequential(nn.Linear(feat.shape[1], self.nc), nn.ReLU(), nn.Linear(self.nc, self.nc)))
        init_weights(self)
        self.mlp_init = True

    def forward(self, feats, num_patches, patch_ids):
        if not self.mlp_init:
            self.create_mlp(feats)
        out = []
        for i, feat in enumerate(feats):
            if PATCH_GRAD[0]:
                feat = ContiguousGrad.apply(feat)
            x = feat.permute(0, 2, 3, 1).flatten(1, 2)
            x = x[:, patch_ids[i], :].flatten(0, 1)
            out.append(l2norm(getattr(self, f"mlp_{i}")(x)))
        return out


def patch_nce_loss(feat_q, feat_k, batch_size, nce_T):
    num_patches, dim = feat_q.shape
    feat_k = feat_k.detach()
    l_pos = torch.bmm(feat_q.view(num_patches, 1, -1), feat_k.view(num_patches, -1, 1)).view(num_patches, 1)
    q, k = feat_q.view(batch_size, -1, dim), feat_k.view(batch_size, -1, dim)
    npatches = q.size(1)
    l_neg = torch.bmm(q, k.transpose(2, 1))
    l_neg.masked_fill_(torch.eye(npatches, dtype=torch.bool)[None], -10.0)
    out = torch.cat((l_pos, l_neg.view(-1, npatches)), dim=1) / nce_T
    return F.cross_entropy(out, torch.zeros(out.size(0), dtype=torch.long), reduction="none")


def init_weights(net, gain=0.02):
    """CUT's default init: xavier_normal_(gain 0.02) for conv/linear weights, biases 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_normal_(m.weight, gain=gain)
            nn.init.zeros_(m.bias)


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
