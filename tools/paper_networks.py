#!/usr/bin/env python3
"""PyTorch reference networks of the pix2pix / CycleGAN paper code, for fixtures and benchmarks.

A re-implementation (written out here, not a copy of their files) of the architectures in
junyanz/pytorch-CycleGAN-and-pix2pix, current master:
    models/networks.py  (get_norm_layer, init_weights, GANLoss, cal_gradient_penalty,
                         ResnetGenerator, ResnetBlock, UnetGenerator, UnetSkipConnectionBlock,
                         NLayerDiscriminator, PixelDiscriminator)
    util/image_pool.py  (ImagePool)
    models/base_model.py (set_requires_grad)
Copyright (c) 2017, Jun-Yan Zhu and Taesung Park; BSD 2-clause license
(https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix/blob/master/LICENSE).

The module structure (nn.Sequential attribute names, list order, Identity placeholders,
bias on/off) is kept identical so that `state_dict()` keys are exactly the paper code's, e.g.
    ResnetGenerator: model.1.weight, model.10.conv_block.1.weight, model.26.weight (9 blocks)
    UnetGenerator:   model.model.0.weight, model.model.1.model.3.model.1.weight, ...
    NLayerDiscriminator: model.0.weight, model.2.weight, model.3.running_mean (batch), ...
    PixelDiscriminator:  net.0.weight, net.2.weight, net.3.weight, net.5.weight
No DataParallel / DDP wrapping: keys carry no "module." prefix (the paper code also strips it
when saving: it saves net.module.state_dict() when on GPU).

Run directly to print the state_dict keys/shapes of the default networks:
    python3 tools/paper_networks.py
"""
import functools
import random

import torch
import torch.nn as nn
from torch.nn import init

assert torch.__version__.startswith("2.15.0"), f"pinned to torch 2.15.0, found {torch.__version__}"


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
class Identity(nn.Module):
    def forward(self, x):
        return x


def get_norm_layer(norm_type="instance"):
    """batch: affine + running stats; instance: no affine, no running stats; none: Identity."""
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm_type == "none":
        def norm_layer(x):
            return Identity()
        return norm_layer
    raise NotImplementedError(f"normalization layer [{norm_type}] is not found")


def _uses_bias(norm_layer):
    # Paper code: a conv followed by a norm only carries a bias when the norm is InstanceNorm
    # (BatchNorm has its own shift). For norm 'none' norm_layer is a plain function, so this is
    # False too: with --norm none the inner convs have NO bias (a paper-code quirk).
    if type(norm_layer) == functools.partial:
        return norm_layer.func == nn.InstanceNorm2d
    return norm_layer == nn.InstanceNorm2d


def init_weights(net, init_type="normal", init_gain=0.02):
    """Conv/Linear weight ~ N(0, gain), bias = 0; BatchNorm2d weight ~ N(1, gain), bias = 0.
    Applied in net.apply() order (post-order over modules), so RNG consumption matches."""
    def init_func(m):
        classname = m.__class__.__name__
        if hasattr(m, "weight") and (classname.find("Conv") != -1 or classname.find("Linear") != -1):
            if init_type == "normal":
                init.normal_(m.weight.data, 0.0, init_gain)
            elif init_type == "xavier":
                init.xavier_normal_(m.weight.data, gain=init_gain)
            elif init_type == "kaiming":
                init.kaiming_normal_(m.weight.data, a=0, mode="fan_in")
            elif init_type == "orthogonal":
                init.orthogonal_(m.weight.data, gain=init_gain)
            else:
                raise NotImplementedError(f"initialization method [{init_type}] is not implemented")
            if hasattr(m, "bias") and m.bias is not None:
                init.constant_(m.bias.data, 0.0)
        elif classname.find("BatchNorm2d") != -1:
            init.normal_(m.weight.data, 1.0, init_gain)
            init.constant_(m.bias.data, 0.0)

    net.apply(init_func)


def init_net(net, init_type="normal", init_gain=0.02):
    # CPU only: no device move, no DataParallel.
    init_weights(net, init_type, init_gain=init_gain)
    return net


def set_requires_grad(nets, requires_grad=False):
    if not isinstance(nets, list):
        nets = [nets]
    for net in nets:
        if net is not None:
            for p in net.parameters():
                p.requires_grad = requires_grad


def define_G(input_nc, output_nc, ngf, netG, norm="batch", use_dropout=False, init_type="normal",
             init_gain=0.02):
    norm_layer = get_norm_layer(norm_type=norm)
    if netG == "resnet_9blocks":
        net = ResnetGenerator(input_nc, output_nc, ngf, norm_layer=norm_layer, use_dropout=use_dropout, n_blocks=9)
    elif netG == "resnet_6blocks":
        net = ResnetGenerator(input_nc, output_nc, ngf, norm_layer=norm_layer, use_dropout=use_dropout, n_blocks=6)
    elif netG == "unet_128":
        net = UnetGenerator(input_nc, output_nc, 7, ngf, norm_layer=norm_layer, use_dropout=use_dropout)
    elif netG == "unet_256":
        net = UnetGenerator(input_nc, output_nc, 8, ngf, norm_layer=norm_layer, use_dropout=use_dropout)
    elif netG.startswith("unet_downs"):  # not a paper-code name: unet_downs5 = UnetGenerator(num_downs=5)
        net = UnetGenerator(input_nc, output_nc, int(netG[len("unet_downs"):]), ngf, norm_layer=norm_layer,
                            use_dropout=use_dropout)
    else:
        raise NotImplementedError(f"Generator model name [{netG}] is not recognized")
    return init_net(net, init_type, init_gain)


def define_D(input_nc, ndf, netD, n_layers_D=3, norm="batch", init_type="normal", init_gain=0.02):
    norm_layer = get_norm_layer(norm_type=norm)
    if netD == "basic":
        net = NLayerDiscriminator(input_nc, ndf, n_layers=3, norm_layer=norm_layer)
    elif netD == "n_layers":
        net = NLayerDiscriminator(input_nc, ndf, n_layers_D, norm_layer=norm_layer)
    elif netD == "pixel":
        net = PixelDiscriminator(input_nc, ndf, norm_layer=norm_layer)
    else:
        raise NotImplementedError(f"Discriminator model name [{netD}] is not recognized")
    return init_net(net, init_type, init_gain)


# --------------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------------
class GANLoss(nn.Module):
    """lsgan: MSE to a constant 1/0 target; vanilla: BCEWithLogits to 1/0; wgangp: -mean / +mean."""

    def __init__(self, gan_mode, target_real_label=1.0, target_fake_label=0.0):
        super().__init__()
        self.register_buffer("real_label", torch.tensor(target_real_label))
        self.register_buffer("fake_label", torch.tensor(target_fake_label))
        self.gan_mode = gan_mode
        if gan_mode == "lsgan":
            self.loss = nn.MSELoss()
        elif gan_mode == "vanilla":
            self.loss = nn.BCEWithLogitsLoss()
        elif gan_mode == "wgangp":
            self.loss = None
        else:
            raise NotImplementedError(f"gan mode {gan_mode} not implemented")

    def get_target_tensor(self, prediction, target_is_real):
        target = self.real_label if target_is_real else self.fake_label
        return target.expand_as(prediction)

    def __call__(self, prediction, target_is_real):
        if self.gan_mode in ("lsgan", "vanilla"):
            return self.loss(prediction, self.get_target_tensor(prediction, target_is_real))
        # wgangp
        return -prediction.mean() if target_is_real else prediction.mean()


def cal_gradient_penalty(netD, real_data, fake_data, device="cpu", type="mixed", constant=1.0, lambda_gp=10.0,
                         alpha=None):
    """WGAN-GP penalty as in the paper code. `alpha` ([N, 1]) is an addition for fixtures: when
    given it replaces the paper code's torch.rand(N, 1) draw (same shape, same use)."""
    if lambda_gp > 0.0:
        if type == "real":
            interpolatesv = real_data
        elif type == "fake":
            interpolatesv = fake_data
        elif type == "mixed":
            if alpha is None:
                alpha = torch.rand(real_data.shape[0], 1, device=device)
            alpha = alpha.expand(real_data.shape[0], real_data.nelement() // real_data.shape[0]) \
                         .contiguous().view(*real_data.shape)
            interpolatesv = alpha * real_data + ((1 - alpha) * fake_data)
        else:
            raise NotImplementedError(f"{type} not implemented")
        interpolatesv.requires_grad_(True)
        disc_interpolates = netD(interpolatesv)
        gradients = torch.autograd.grad(outputs=disc_interpolates, inputs=interpolatesv,
                                        grad_outputs=torch.ones(disc_interpolates.size()).to(device),
                                        create_graph=True, retain_graph=True, only_inputs=True)
        gradients = gradients[0].view(real_data.size(0), -1)
        gradient_penalty = (((gradients + 1e-16).norm(2, dim=1) - constant) ** 2).mean() * lambda_gp
        return gradient_penalty, gradients
    return 0.0, None


class ImagePool:
    """History buffer of generated images. pool_size 0 returns the input unchanged."""

    def __init__(self, pool_size):
        self.pool_size = pool_size
        if pool_size > 0:
            self.num_imgs = 0
            self.images = []

    def query(self, images):
        if self.pool_size == 0:
            return images
        out = []
        for image in images:
            image = torch.unsqueeze(image.data, 0)
            if self.num_imgs < self.pool_size:
                self.num_imgs += 1
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                idx = random.randint(0, self.pool_size - 1)
                tmp = self.images[idx].clone()
                self.images[idx] = image
                out.append(tmp)
            else:
                out.append(image)
        return torch.cat(out, 0)


# --------------------------------------------------------------------------------------------
# generators
# --------------------------------------------------------------------------------------------
class ResnetGenerator(nn.Module):
    """c7s1-ngf, d(2ngf), d(4ngf), n_blocks x R(4ngf), u(2ngf), u(ngf), c7s1-output_nc, tanh.
    Sequential indices (n_blocks = 9): 0 pad3, 1 conv7, 2 norm, 3 relu, 4 conv s2, 5 norm, 6 relu,
    7 conv s2, 8 norm, 9 relu, 10..18 ResnetBlock, 19 convT, 20 norm, 21 relu, 22 convT, 23 norm,
    24 relu, 25 pad3, 26 conv7 (always with bias), 27 tanh."""

    def __init__(self, input_nc, output_nc, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False, n_blocks=6,
                 padding_type="reflect"):
        assert n_blocks >= 0
        super().__init__()
        use_bias = _uses_bias(norm_layer)
        layers = [nn.ReflectionPad2d(3),
                  nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
                  norm_layer(ngf),
                  nn.ReLU(True)]
        n_down = 2
        for i in range(n_down):
            m = 2 ** i
            layers += [nn.Conv2d(ngf * m, ngf * m * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                       norm_layer(ngf * m * 2),
                       nn.ReLU(True)]
        m = 2 ** n_down
        for _ in range(n_blocks):
            layers.append(ResnetBlock(ngf * m, padding_type=padding_type, norm_layer=norm_layer,
                                      use_dropout=use_dropout, use_bias=use_bias))
        for i in range(n_down):
            m = 2 ** (n_down - i)
            layers += [nn.ConvTranspose2d(ngf * m, int(ngf * m / 2), kernel_size=3, stride=2, padding=1,
                                          output_padding=1, bias=use_bias),
                       norm_layer(int(ngf * m / 2)),
                       nn.ReLU(True)]
        layers.append(nn.ReflectionPad2d(3))
        layers.append(nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0))
        layers.append(nn.Tanh())
        self.model = nn.Sequential(*layers)

    def forward(self, input):
        return self.model(input)


class ResnetBlock(nn.Module):
    """x + [pad1, conv3, norm, relu, (dropout), pad1, conv3, norm](x).
    conv_block indices (reflect, no dropout): 0 pad, 1 conv, 2 norm, 3 relu, 4 pad, 5 conv, 6 norm.
    With dropout the second pad/conv/norm shift to 5/6/7."""

    def __init__(self, dim, padding_type, norm_layer, use_dropout, use_bias):
        super().__init__()
        self.conv_block = self.build_conv_block(dim, padding_type, norm_layer, use_dropout, use_bias)

    @staticmethod
    def _pad(padding_type):
        if padding_type == "reflect":
            return [nn.ReflectionPad2d(1)], 0
        if padding_type == "replicate":
            return [nn.ReplicationPad2d(1)], 0
        if padding_type == "zero":
            return [], 1
        raise NotImplementedError(f"padding [{padding_type}] is not implemented")

    def build_conv_block(self, dim, padding_type, norm_layer, use_dropout, use_bias):
        block = []
        pad, p = self._pad(padding_type)
        block += pad + [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias), norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            block.append(nn.Dropout(0.5))
        pad, p = self._pad(padding_type)
        block += pad + [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias), norm_layer(dim)]
        return nn.Sequential(*block)

    def forward(self, x):
        return x + self.conv_block(x)


class UnetGenerator(nn.Module):
    """U-Net built recursively from the innermost block outwards; num_downs halvings
    (unet_128: 7, unet_256: 8), so the input side must be divisible by 2**num_downs."""

    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, input_nc=None, submodule=None, norm_layer=norm_layer,
                                        innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, input_nc=None, submodule=block, norm_layer=norm_layer,
                                            use_dropout=use_dropout)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, input_nc=None, submodule=block, norm_layer=norm_layer)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, input_nc=None, submodule=block, norm_layer=norm_layer)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, input_nc=None, submodule=block, norm_layer=norm_layer)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True,
                                             norm_layer=norm_layer)

    def forward(self, input):
        return self.model(input)


class UnetSkipConnectionBlock(nn.Module):
    """outermost: [downconv, sub, relu, upconvT(bias), tanh]           -> model.0, model.1, model.3
       innermost: [lrelu, downconv, relu, upconvT, upnorm]              -> model.1, model.3, model.4
       middle:    [lrelu, downconv, downnorm, sub, relu, upconvT, upnorm(, dropout)]
                                                                        -> model.1, model.2, model.3, model.5, model.6
       Non-outermost blocks return cat([x, model(x)], dim=1) (skip first, then the up path).
       All convs k4 s2 p1; bias only with InstanceNorm, except the outermost upconvT (always bias).
       The outermost downconv also follows use_bias (no bias with batch norm)."""

    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False, innermost=False,
                 norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        use_bias = _uses_bias(norm_layer)
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = norm_layer(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = norm_layer(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            layers = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            layers = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            layers = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


# --------------------------------------------------------------------------------------------
# discriminators
# --------------------------------------------------------------------------------------------
class NLayerDiscriminator(nn.Module):
    """PatchGAN. n_layers=3 ('basic', 70x70 receptive field):
    0 conv4 s2 (bias) 1 lrelu | 2 conv4 s2, 3 norm, 4 lrelu | 5 conv4 s2, 6 norm, 7 lrelu |
    8 conv4 s1, 9 norm, 10 lrelu | 11 conv4 s1 -> 1 channel (bias). All padding 1, LeakyReLU 0.2."""

    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d):
        super().__init__()
        use_bias = _uses_bias(norm_layer)
        kw, padw = 4, 1
        seq = [nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw), nn.LeakyReLU(0.2, True)]
        nf_mult = 1
        for n in range(1, n_layers):
            nf_prev, nf_mult = nf_mult, min(2 ** n, 8)
            seq += [nn.Conv2d(ndf * nf_prev, ndf * nf_mult, kernel_size=kw, stride=2, padding=padw, bias=use_bias),
                    norm_layer(ndf * nf_mult),
                    nn.LeakyReLU(0.2, True)]
        nf_prev, nf_mult = nf_mult, min(2 ** n_layers, 8)
        seq += [nn.Conv2d(ndf * nf_prev, ndf * nf_mult, kernel_size=kw, stride=1, padding=padw, bias=use_bias),
                norm_layer(ndf * nf_mult),
                nn.LeakyReLU(0.2, True)]
        seq.append(nn.Conv2d(ndf * nf_mult, 1, kernel_size=kw, stride=1, padding=padw))
        self.model = nn.Sequential(*seq)

    def forward(self, input):
        return self.model(input)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN: 0 conv1 (bias), 1 lrelu, 2 conv1 (use_bias), 3 norm, 4 lrelu, 5 conv1 -> 1 (use_bias!).
    Note the final conv follows use_bias: with batch norm it has NO bias."""

    def __init__(self, input_nc, ndf=64, norm_layer=nn.BatchNorm2d):
        super().__init__()
        use_bias = _uses_bias(norm_layer)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, kernel_size=1, stride=1, padding=0),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, kernel_size=1, stride=1, padding=0, bias=use_bias),
            norm_layer(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, kernel_size=1, stride=1, padding=0, bias=use_bias))

    def forward(self, input):
        return self.net(input)


if __name__ == "__main__":
    print("torch", torch.__version__)
    for name, net in [("resnet_9blocks/instance", define_G(3, 3, 64, "resnet_9blocks", "instance")),
                      ("unet_256/batch", define_G(3, 3, 64, "unet_256", "batch")),
                      ("basic D/batch (6ch)", define_D(6, 64, "basic", norm="batch")),
                      ("pixel D/batch", define_D(6, 64, "pixel", norm="batch"))]:
        sd = net.state_dict()
        n = sum(v.numel() for k, v in sd.items() if v.is_floating_point())
        print(f"== {name}: {len(sd)} tensors, {n} floats")
        for k, v in sd.items():
            print(f"   {k:45s} {tuple(v.shape)} {str(v.dtype).replace('torch.', '')}")
