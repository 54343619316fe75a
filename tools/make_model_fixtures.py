#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures for Tests/ModelTests (networks, training steps, .pth files).

    python3 tools/make_model_fixtures.py            # rewrites Tests/ModelTests/Fixtures/*
    python3 tools/make_model_fixtures.py --only cyclegan_step pix2pix_step
    python3 tools/make_model_fixtures.py --check    # re-run the stored fixtures (f32/f64) + Adam replay

Pinned: torch 2.15.0 (CPU), safetensors. Architectures come from tools/paper_networks.py, a
re-implementation of junyanz/pytorch-CycleGAN-and-pix2pix (BSD) with identical state_dict names.
Conventions (see Tests/ModelTests/Fixtures/README.md):
  * safetensors, F32 (num_batches_tracked stays I64 as in torch), PyTorch layouts: activations NCHW,
    Conv2d weight [Cout, Cin, KH, KW], ConvTranspose2d weight [Cin, Cout, KH, KW].
  * network tensors under the paper code's state_dict names (optionally prefixed, e.g. "G_A.").
  * scalars (losses) as shape [1].
  * architecture/config in the safetensors __metadata__ (all values strings).
"""
import argparse
import copy
import itertools
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paper_networks as pn  # noqa: E402

assert torch.__version__.startswith("2.15.0"), f"fixtures are pinned to torch 2.15.0, found {torch.__version__}"
print("torch", torch.__version__)
torch.set_num_threads(1)  # deterministic reduction order, and the machine is shared

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ModelTests", "Fixtures"))
os.makedirs(OUT, exist_ok=True)
CMD = "python3 tools/make_model_fixtures.py"
# Train-mode warm-up forwards before snapshotting BatchNorm nets whose eval output is stored: with
# momentum 0.1 the running stats need ~100 updates (0.9**100 ~ 3e-5) to forget the initial (0, 1), else eval outputs ~ 0.
WARM = 100
ADAM = dict(lr=2e-4, betas=(0.5, 0.999))  # paper defaults: --lr 0.0002 --beta1 0.5; eps 1e-8, no weight decay


# --------------------------------------------------------------------------------------------
def perturb(net, gen_seed):
    """After init_weights('normal', 0.02): give every bias and BatchNorm affine parameter a
    nonzero random value so they are exercised (paper init sets biases to 0, BN weight ~N(1,.02))."""
    g = torch.Generator().manual_seed(gen_seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.bias is not None:
                m.bias.copy_((torch.rand(m.bias.shape, generator=g) * 2 - 1) * 0.2)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_((torch.rand(m.bias.shape, generator=g) * 2 - 1) * 0.2)
    return net


def uniform(*shape):
    return torch.rand(*shape) * 2 - 1  # in [-1, 1), like normalized images


def sd(net, prefix=""):
    return {prefix + k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}


def grads(net, prefix):
    out = {}
    for k, p in net.named_parameters():
        out[prefix + k] = (p.grad if p.grad is not None else torch.zeros_like(p)).detach().clone()
    return out


def scalar(x):
    return x.detach().reshape(1).clone()


def save(name, tensors, meta):
    meta = {k: str(v) for k, v in meta.items()}
    meta.setdefault("torch", torch.__version__)
    meta.setdefault("command", CMD)
    meta.setdefault("layout", "NCHW activations; Conv2d weight OIHW; ConvTranspose2d weight [Cin,Cout,KH,KW]")
    for k, v in tensors.items():
        assert v.dtype in (torch.float32, torch.int64), (k, v.dtype)
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    path = os.path.join(OUT, name)
    save_file(tensors, path, metadata=meta)
    nbytes = os.path.getsize(path)
    print(f"  wrote {name}: {len(tensors)} tensors, {nbytes / 1024:.0f} KiB")


def noise_dominated(named_nets):
    """Biases whose gradient is analytically zero: a conv bias immediately followed (same
    nn.Sequential) by InstanceNorm(affine=False) is cancelled by the mean subtraction, so its
    gradient is pure roundoff. Adam's first step turns roundoff g into lr*g/(|g|+1e-8), i.e. an
    arbitrary value in [-lr, lr], so those after-step values are not reproducible across engines."""
    out = []
    for prefix, net in named_nets.items():
        for mname, m in net.named_modules():
            if isinstance(m, nn.Sequential):
                kids = list(m.named_children())
                for (a, ma), (_, mb) in zip(kids, kids[1:]):
                    if isinstance(ma, (nn.Conv2d, nn.ConvTranspose2d)) and ma.bias is not None \
                            and isinstance(mb, nn.InstanceNorm2d):
                        out.append(f"{prefix}{mname}.{a}.bias")
    return sorted(out)


# --------------------------------------------------------------------------------------------
def fx_resnet9():
    torch.manual_seed(1)
    G = perturb(pn.define_G(3, 3, 8, "resnet_9blocks", norm="instance"), 101)
    x = uniform(1, 3, 64, 64)
    G.eval()  # InstanceNorm(track_running_stats=False): eval == train
    with torch.no_grad():
        y = G(x)
    save("resnet9_ngf8.safetensors", {**sd(G), "input": x, "output": y},
         dict(netG="resnet_9blocks", ngf=8, norm="instance", input_nc=3, output_nc=3, use_dropout="false",
              padding_type="reflect", seed=1))


def fx_resnet6_batch():
    torch.manual_seed(2)
    G = perturb(pn.define_G(3, 3, 8, "resnet_6blocks", norm="batch"), 102)
    G.train()
    with torch.no_grad():
        for _ in range(WARM):  # make running stats nontrivial (num_batches_tracked = WARM)
            G(uniform(1, 3, 64, 64) * 0.8 + 0.1)
    state = sd(G)
    x = uniform(1, 3, 64, 64)
    Ge = copy.deepcopy(G).eval()
    with torch.no_grad():
        y_eval = Ge(x)
        y_train = G(x)  # train mode: batch statistics; also updates running stats once more
    after = {"after_train_forward." + k: v.detach().clone() for k, v in G.state_dict().items()
             if k.endswith(("running_mean", "running_var", "num_batches_tracked"))}
    save("resnet6_ngf8_batch.safetensors", {**state, "input": x, "output_train": y_train, "output_eval": y_eval, **after},
         dict(netG="resnet_6blocks", ngf=8, norm="batch", input_nc=3, output_nc=3, use_dropout="false", seed=2,
              bn_momentum=0.1, bn_eps=1e-5,
              note=f"state = after {WARM} train-mode warm-up forwards; output_train uses batch stats (paper test.py "
                   "without --eval), output_eval uses running stats; after_train_forward.* = running stats after "
                   "the output_train forward (momentum 0.1, unbiased batch variance)"))


def fx_unet(name, netG, size, norm, seed, warm):
    torch.manual_seed(seed)
    G = perturb(pn.define_G(3, 3, 4, netG, norm=norm, use_dropout=False), 100 + seed)
    G.train()
    with torch.no_grad():
        for _ in range(warm):
            G(uniform(1, 3, size, size) * 0.8 + 0.1)
    state = sd(G)
    x = uniform(1, 3, size, size)
    with torch.no_grad():
        y = G(x)
    save(name, {**state, "input": x, "output": y},
         dict(netG=netG, ngf=4, norm=norm, input_nc=3, output_nc=3, use_dropout="false", seed=seed,
              mode="train (BatchNorm uses batch statistics, as paper test.py without --eval); dropout disabled"
              if norm == "batch" else "instance norm: train == eval; dropout disabled"))


def fx_patchgan():
    torch.manual_seed(4)
    D = perturb(pn.define_D(6, 8, "basic", norm="batch"), 104)
    D.train()
    with torch.no_grad():
        for _ in range(WARM):
            D(uniform(1, 6, 64, 64))
    state = sd(D)
    x = uniform(1, 6, 64, 64)
    with torch.no_grad():
        y_eval = copy.deepcopy(D).eval()(x)
        y = D(x)
    assert y.shape == (1, 1, 6, 6)
    save("patchgan_basic_ndf8.safetensors", {**state, "input": x, "output": y, "output_eval": y_eval},
         dict(netD="basic", n_layers=3, ndf=8, norm="batch", input_nc=6, seed=4,
              note="output: train-mode BatchNorm (batch stats, as during training); output_eval: running stats"))

    torch.manual_seed(5)
    D = perturb(pn.define_D(3, 8, "basic", norm="instance"), 105)
    x = uniform(1, 3, 64, 64)
    with torch.no_grad():
        y = D(x)
    save("patchgan_basic_ndf8_instance.safetensors", {**sd(D), "input": x, "output": y},
         dict(netD="basic", n_layers=3, ndf=8, norm="instance", input_nc=3, seed=5,
              note="CycleGAN's D: convs after the first carry a bias with instance norm"))

    torch.manual_seed(6)
    D = perturb(pn.define_D(6, 8, "pixel", norm="batch"), 106)
    D.train()
    with torch.no_grad():
        for _ in range(WARM):
            D(uniform(1, 6, 64, 64))
    state = sd(D)
    x = uniform(1, 6, 64, 64)
    with torch.no_grad():
        y_eval = copy.deepcopy(D).eval()(x)
        y = D(x)
    save("pixel_ndf8.safetensors", {**state, "input": x, "output": y, "output_eval": y_eval},
         dict(netD="pixel", ndf=8, norm="batch", input_nc=6, seed=6,
              note="output: train-mode BatchNorm; output_eval: running stats; last conv has no bias with batch norm"))


# --------------------------------------------------------------------------------------------
def fx_cyclegan_step():
    """One CycleGANModel.optimize_parameters() (lsgan, pool 0, lambda_A=lambda_B=10, lambda_identity=0.5)."""
    torch.manual_seed(7)
    cfg = dict(netG="resnet_6blocks", ngf=4, netD="basic", ndf=4, norm="instance", input_nc=3, output_nc=3)
    G_A = perturb(pn.define_G(3, 3, 4, "resnet_6blocks", norm="instance"), 201)
    G_B = perturb(pn.define_G(3, 3, 4, "resnet_6blocks", norm="instance"), 202)
    D_A = perturb(pn.define_D(3, 4, "basic", norm="instance"), 203)
    D_B = perturb(pn.define_D(3, 4, "basic", norm="instance"), 204)
    nets = dict(G_A=G_A, G_B=G_B, D_A=D_A, D_B=D_B)
    init = {}
    for n, net in nets.items():
        net.train()
        init.update(sd(net, n + "."))
    real_A, real_B = uniform(1, 3, 32, 32), uniform(1, 3, 32, 32)

    gan = pn.GANLoss("lsgan")
    l1 = nn.L1Loss()
    lambda_A = lambda_B = 10.0
    lambda_idt = 0.5
    pool_A, pool_B = pn.ImagePool(0), pn.ImagePool(0)
    opt_G = torch.optim.Adam(itertools.chain(G_A.parameters(), G_B.parameters()), **ADAM)
    opt_D = torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), **ADAM)

    # forward
    fake_B = G_A(real_A)
    rec_A = G_B(fake_B)
    fake_A = G_B(real_B)
    rec_B = G_A(fake_A)
    # G step
    pn.set_requires_grad([D_A, D_B], False)
    opt_G.zero_grad()
    idt_A = G_A(real_B)
    loss_idt_A = l1(idt_A, real_B) * lambda_B * lambda_idt
    idt_B = G_B(real_A)
    loss_idt_B = l1(idt_B, real_A) * lambda_A * lambda_idt
    loss_G_A = gan(D_A(fake_B), True)
    loss_G_B = gan(D_B(fake_A), True)
    loss_cycle_A = l1(rec_A, real_A) * lambda_A
    loss_cycle_B = l1(rec_B, real_B) * lambda_B
    loss_G = loss_G_A + loss_G_B + loss_cycle_A + loss_cycle_B + loss_idt_A + loss_idt_B
    loss_G.backward()
    g_grads = {**grads(G_A, "grad.G_A."), **grads(G_B, "grad.G_B.")}
    opt_G.step()
    # D step
    pn.set_requires_grad([D_A, D_B], True)
    opt_D.zero_grad()

    def backward_D_basic(netD, real, fake):
        pred_real = netD(real)
        loss_real = gan(pred_real, True)
        pred_fake = netD(fake.detach())
        loss_fake = gan(pred_fake, False)
        loss = (loss_real + loss_fake) * 0.5
        loss.backward()
        return loss

    loss_D_A = backward_D_basic(D_A, real_B, pool_B.query(fake_B))
    loss_D_B = backward_D_basic(D_B, real_A, pool_A.query(fake_A))
    d_grads = {**grads(D_A, "grad.D_A."), **grads(D_B, "grad.D_B.")}
    opt_D.step()

    after = {}
    for n, net in nets.items():
        after.update(sd(net, "after." + n + "."))
    losses = dict(loss_G_A=loss_G_A, loss_G_B=loss_G_B, loss_cycle_A=loss_cycle_A, loss_cycle_B=loss_cycle_B,
                  loss_idt_A=loss_idt_A, loss_idt_B=loss_idt_B, loss_G=loss_G, loss_D_A=loss_D_A, loss_D_B=loss_D_B)
    images = dict(real_A=real_A, real_B=real_B, fake_B=fake_B, rec_A=rec_A, fake_A=fake_A, rec_B=rec_B,
                  idt_A=idt_A, idt_B=idt_B)
    noisy = noise_dominated({n + ".": net for n, net in nets.items()})
    mx = max((g_grads.get("grad." + k, d_grads.get("grad." + k))).abs().max().item() for k in noisy)
    print(f"  {len(noisy)} noise-dominated biases, max |grad| {mx:.3g}")
    print("  cyclegan losses:", {k: round(v.item(), 6) for k, v in losses.items()})
    print("  noise-dominated grads:", noisy)
    save("cyclegan_step.safetensors",
         {**init, **{k: v.detach().clone() for k, v in images.items()}, **{k: scalar(v) for k, v in losses.items()},
          **g_grads, **d_grads, **after},
         dict(cfg, model="cycle_gan", gan_mode="lsgan", pool_size=0, lambda_A=10, lambda_B=10, lambda_identity=0.5,
              adam_note="noise_dominated_params: analytic grad 0 (conv bias before InstanceNorm); their after.* "
                        "values are roundoff-driven: only |after-before| <= lr holds",
              optimizer="Adam lr=2e-4 betas=(0.5,0.999) eps=1e-8; opt_G over chain(G_A,G_B), opt_D over chain(D_A,D_B)",
              order="forward; G step (D_A,D_B requires_grad False); D_A then D_B backward; D step",
              use_dropout="false", seed=7, noise_dominated_params=",".join(noisy)))


def fx_pix2pix_step():
    """One Pix2PixModel.optimize_parameters(): D step first, then G step (vanilla GAN, lambda_L1 100)."""
    torch.manual_seed(8)
    G = perturb(pn.define_G(3, 3, 4, "unet_downs5", norm="batch", use_dropout=False), 301)
    D = perturb(pn.define_D(6, 4, "basic", norm="batch"), 302)
    G.train()
    D.train()
    init = {**sd(G, "G."), **sd(D, "D.")}
    real_A, real_B = uniform(1, 3, 32, 32), uniform(1, 3, 32, 32)
    gan = pn.GANLoss("vanilla")
    l1 = nn.L1Loss()
    pool = pn.ImagePool(0)
    opt_G = torch.optim.Adam(G.parameters(), **ADAM)
    opt_D = torch.optim.Adam(D.parameters(), **ADAM)

    fake_B = G(real_A)
    # D step
    pn.set_requires_grad(D, True)
    opt_D.zero_grad()
    fake_AB = pool.query(torch.cat((real_A, fake_B), 1))
    pred_fake = D(fake_AB.detach())
    loss_D_fake = gan(pred_fake, False)
    real_AB = torch.cat((real_A, real_B), 1)
    pred_real = D(real_AB)
    loss_D_real = gan(pred_real, True)
    loss_D = (loss_D_fake + loss_D_real) * 0.5
    loss_D.backward()
    d_grads = grads(D, "grad.D.")
    opt_D.step()
    # G step
    pn.set_requires_grad(D, False)
    opt_G.zero_grad()
    pred_fake_G = D(torch.cat((real_A, fake_B), 1))
    loss_G_GAN = gan(pred_fake_G, True)
    loss_G_L1 = l1(fake_B, real_B) * 100.0
    loss_G = loss_G_GAN + loss_G_L1
    loss_G.backward()
    g_grads = grads(G, "grad.G.")
    opt_G.step()

    after = {**sd(G, "after.G."), **sd(D, "after.D.")}
    losses = dict(loss_D_fake=loss_D_fake, loss_D_real=loss_D_real, loss_D=loss_D, loss_G_GAN=loss_G_GAN,
                  loss_G_L1=loss_G_L1, loss_G=loss_G)
    noisy = noise_dominated({"G.": G, "D.": D})
    print("  pix2pix losses:", {k: round(v.item(), 6) for k, v in losses.items()})
    print("  noise-dominated grads:", noisy)
    save("pix2pix_step.safetensors",
         {**init, "real_A": real_A, "real_B": real_B, "fake_B": fake_B.detach().clone(),
          "pred_fake": pred_fake.detach().clone(), "pred_real": pred_real.detach().clone(),
          "pred_fake_G": pred_fake_G.detach().clone(),
          **{k: scalar(v) for k, v in losses.items()}, **d_grads, **g_grads, **after},
         dict(model="pix2pix", netG="unet (num_downs=5, i.e. UnetGenerator(3,3,5,ngf=4))", num_downs=5, ngf=4,
              netD="basic", ndf=4, D_input_nc=6, norm="batch", gan_mode="vanilla (BCEWithLogits)", lambda_L1=100,
              pool_size=0, use_dropout="false (the paper's pix2pix default has dropout ON in the U-Net)",
              optimizer="Adam lr=2e-4 betas=(0.5,0.999) eps=1e-8, separate for G and D",
              order="forward G; D step: D(fake_AB.detach()) then D(real_AB); G step: D(fake_AB) with the "
                    "UPDATED D, still in train mode (BN running stats of D updated 3x, of G 1x)",
              seed=8, noise_dominated_params=",".join(noisy)))


def fx_wgangp_step():
    """WGAN-GP critic loss with the paper code's cal_gradient_penalty('mixed', constant 1, lambda 10)."""
    torch.manual_seed(9)
    # init_gain 0.13 (not 0.02): with 0.02 ||dD/dx|| ~ 5e-4 and the penalty is the trivial ~10.
    D = perturb(pn.define_D(3, 4, "n_layers", n_layers_D=2, norm="none", init_gain=0.13), 401)
    D.train()
    init = sd(D, "D.")
    real, fake = uniform(2, 3, 16, 16), uniform(2, 3, 16, 16)
    alpha = torch.rand(2, 1)
    gan = pn.GANLoss("wgangp")
    loss_D_real = gan(D(real), True)
    loss_D_fake = gan(D(fake), False)
    gp, gradients = pn.cal_gradient_penalty(D, real, fake, "cpu", type="mixed", constant=1.0, lambda_gp=10.0,
                                            alpha=alpha)
    loss_D = (loss_D_real + loss_D_fake) * 0.5 + gp
    params = list(D.parameters())
    gp_param_grads = torch.autograd.grad(gp, params, retain_graph=True, allow_unused=True)
    # the last conv's bias does not reach d D / d input, so the penalty's gradient wrt it is 0
    gp_param_grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, gp_param_grads)]
    loss_D.backward()
    names = [k for k, _ in D.named_parameters()]
    opt = torch.optim.Adam(D.parameters(), **ADAM)
    g = grads(D, "grad.D.")
    opt.step()
    interp = alpha.view(2, 1, 1, 1) * real + (1 - alpha.view(2, 1, 1, 1)) * fake
    print("  wgangp: gp", gp.item(), "loss_D", loss_D.item(), "||gradients||", gradients.norm(dim=1).tolist())
    save("wgangp_step.safetensors",
         {**init, "real": real, "fake": fake, "alpha": alpha, "interpolates": interp,
          "gradients": gradients.detach().clone(),
          "loss_D_real": scalar(loss_D_real), "loss_D_fake": scalar(loss_D_fake), "gradient_penalty": scalar(gp),
          "loss_D": scalar(loss_D), **g,
          **{"grad_gp.D." + n: t.detach().clone() for n, t in zip(names, gp_param_grads)},
          **sd(D, "after.D.")},
         dict(netD="n_layers", n_layers_D=2, ndf=4, norm="none", input_nc=3, gan_mode="wgangp", gp_type="mixed", constant=1.0,
              lambda_gp=10.0, seed=9, init="normal, init_gain=0.13 (so ||gradients|| ~ 1), biases perturbed",
              loss="loss_D = (GANLoss(D(real),True) + GANLoss(D(fake),False))*0.5 + gp, with GANLoss wgangp: "
                   "real -> -mean, fake -> +mean (the stock models never add gp; this is how a wgangp user would)",
              gp="alpha [N,1] broadcast per sample; interpolates = alpha*real + (1-alpha)*fake; gradients = "
                 "d sum(D(interp)) / d interp, flattened [N, C*H*W]; gp = mean((||gradients + 1e-16||_2 - 1)^2) * 10",
              norm_none_quirk="norm none => inner convs (model.2, model.5) have NO bias; Identity at model.3, model.6",
              optimizer="Adam lr=2e-4 betas=(0.5,0.999) eps=1e-8 -> after.D.*"))


def fx_pth():
    """Paper-code style checkpoints: BaseModel.save_networks does torch.save(net.cpu().state_dict(), path)."""
    torch.manual_seed(10)
    G = perturb(pn.define_G(3, 3, 4, "resnet_6blocks", norm="instance"), 501)
    x = uniform(1, 3, 32, 32)
    with torch.no_grad():
        y = G(x)
    torch.save(G.state_dict(), os.path.join(OUT, "resnet6_ngf4.pth"))
    torch.save(G.state_dict(), os.path.join(OUT, "resnet6_ngf4_legacy.pth"), _use_new_zipfile_serialization=False)
    save("resnet6_ngf4_pth_expected.safetensors", {**sd(G), "input": x, "output": y},
         dict(netG="resnet_6blocks", ngf=4, norm="instance", input_nc=3, output_nc=3, seed=10,
              pth="resnet6_ngf4.pth (zip, torch.save default) and resnet6_ngf4_legacy.pth "
                  "(_use_new_zipfile_serialization=False) hold exactly these state_dict tensors"))

    torch.manual_seed(11)
    D = perturb(pn.define_D(6, 4, "basic", norm="batch"), 502)
    D.train()
    with torch.no_grad():
        for _ in range(WARM):
            D(uniform(1, 6, 32, 32))
    x = uniform(1, 6, 32, 32)
    with torch.no_grad():
        y = copy.deepcopy(D).eval()(x)
    torch.save(D.state_dict(), os.path.join(OUT, "patchgan_ndf4_batch.pth"))
    save("patchgan_ndf4_batch_pth_expected.safetensors", {**sd(D), "input": x, "output_eval": y},
         dict(netD="basic", ndf=4, norm="batch", input_nc=6, seed=11,
              pth="patchgan_ndf4_batch.pth (zip): float32 weights + BN running stats + int64 0-d num_batches_tracked"))
    for f in ("resnet6_ngf4.pth", "resnet6_ngf4_legacy.pth", "patchgan_ndf4_batch.pth"):
        p = os.path.join(OUT, f)
        back = torch.load(p, weights_only=True)
        ref = G.state_dict() if f.startswith("resnet") else D.state_dict()
        assert list(back.keys()) == list(ref.keys()) and all(torch.equal(back[k], ref[k]) for k in ref), f
        print(f"  wrote {f}: {len(back)} tensors, {os.path.getsize(p) / 1024:.0f} KiB (round-trip ok)")


def check():
    """Self-check of the written files: reload each forward fixture into a fresh net and re-run it in
    float32 and float64 (prints max abs deviations: a tolerance hint for the Swift tests), and
    replay Adam's first step from init + grad.* to match after.* (skipping noise_dominated_params)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    def run(f, make, outs):
        t = load_file(os.path.join(OUT, f))
        net = make()
        keys = net.state_dict().keys()
        net.load_state_dict({k: t[k] for k in keys}, strict=True)
        for name, mode in outs:
            for dt in (torch.float32, torch.float64):
                n = copy.deepcopy(net).to(dt).train(mode == "train")
                with torch.no_grad():
                    d = (n(t["input"].to(dt)).double() - t[name].double()).abs().max().item()
                print(f"  {f:42s} {name:12s} {str(dt)[6:]:8s} max|diff| {d:.2e}")

    run("resnet9_ngf8.safetensors", lambda: pn.define_G(3, 3, 8, "resnet_9blocks", "instance"), [("output", "eval")])
    run("resnet6_ngf8_batch.safetensors", lambda: pn.define_G(3, 3, 8, "resnet_6blocks", "batch"),
        [("output_eval", "eval"), ("output_train", "train")])
    run("unet256_ngf4.safetensors", lambda: pn.define_G(3, 3, 4, "unet_256", "batch"), [("output", "train")])
    run("unet128_ngf4_instance.safetensors", lambda: pn.define_G(3, 3, 4, "unet_128", "instance"), [("output", "train")])
    run("patchgan_basic_ndf8.safetensors", lambda: pn.define_D(6, 8, "basic", norm="batch"),
        [("output", "train"), ("output_eval", "eval")])
    run("patchgan_basic_ndf8_instance.safetensors", lambda: pn.define_D(3, 8, "basic", norm="instance"),
        [("output", "train")])
    run("pixel_ndf8.safetensors", lambda: pn.define_D(6, 8, "pixel", norm="batch"), [("output", "train"), ("output_eval", "eval")])
    run("resnet6_ngf4_pth_expected.safetensors", lambda: pn.define_G(3, 3, 4, "resnet_6blocks", "instance"),
        [("output", "eval")])
    lr, (b1, b2), eps = ADAM["lr"], ADAM["betas"], 1e-8
    for f in ("cyclegan_step.safetensors", "pix2pix_step.safetensors", "wgangp_step.safetensors"):
        t = load_file(os.path.join(OUT, f))
        with safe_open(os.path.join(OUT, f), "pt") as h:
            noisy = set(filter(None, (h.metadata().get("noise_dominated_params") or "").split(",")))
        worst, worst_noisy = 0.0, 0.0
        for k, g in t.items():
            if not k.startswith("grad."):
                continue
            name = k[len("grad."):]
            p0, p1 = t[name], t["after." + name]
            pred = p0 - lr / (1 - b1) * ((1 - b1) * g) / (((1 - b2) * g * g).sqrt() / (1 - b2) ** 0.5 + eps)
            if name in noisy:
                worst_noisy = max(worst_noisy, (p1 - p0).abs().max().item())
            else:
                worst = max(worst, (pred - p1).abs().max().item())
        print(f"  {f:42s} Adam replay max|diff| {worst:.2e}; noise-dominated max|after-before| {worst_noisy:.2e}")


FIXTURES = dict(resnet9=fx_resnet9, resnet6_batch=fx_resnet6_batch,
                unet256=lambda: fx_unet("unet256_ngf4.safetensors", "unet_256", 256, "batch", 3, 2),
                unet128=lambda: fx_unet("unet128_ngf4_instance.safetensors", "unet_128", 128, "instance", 12, 0),
                patchgan=fx_patchgan, cyclegan_step=fx_cyclegan_step, pix2pix_step=fx_pix2pix_step,
                wgangp_step=fx_wgangp_step, pth=fx_pth)

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", choices=sorted(FIXTURES), help="subset to (re)write")
    ap.add_argument("--check", action="store_true", help="only verify the existing files")
    args = ap.parse_args()
    if args.check:
        check()
        sys.exit(0)
    for name in args.only or FIXTURES:
        print(name)
        FIXTURES[name]()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"total fixture size: {total / 1024 / 1024:.2f} MiB in {OUT}")
