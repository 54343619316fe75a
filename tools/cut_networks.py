"""A re-implementation of taesungp/contrastive-unpaired-translation's networks and loss, with
its state_dict names, for tools/make_cut_fixtures.py and tools/bench_torch.py (torch only):
models/networks.py get_filter, Downsample, Upsample, ResnetGenerator (instance norm, reflect
padding, no dropout; anti-aliased unless no_antialias / no_antialias_up), NLayerDiscriminator
(instance norm), Normalize(2), PatchSampleF (mlp_sample), init_weights (xavier, gain 0.02), and
models/patchnce.py PatchNCELoss.

One deviation, off unless PATCH_GRAD[0] is set (the fixtures set it): torch 2.15.0's CPU
InstanceNorm2d backward is wrong when the incoming gradient is channels-last strided, which CUT's
feat.permute(0, 2, 3, 1) in PatchSampleF produces (a float64 gradcheck of netG through that path
fails; with the gradient made contiguous it passes). With PATCH_GRAD[0] the features enter netF
through `ContiguousGrad`, the identity whose backward makes the gradient contiguous.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


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


PATCH_GRAD = [False]


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
