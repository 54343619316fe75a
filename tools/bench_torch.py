#!/usr/bin/env python3
"""PyTorch CPU baseline for the paper code's networks (pix2pix / CycleGAN), to compare with our engine.

    python3 tools/bench_torch.py                       # all cases, 2 threads, median of 5
    python3 tools/bench_torch.py --threads 2 --repeats 3 --warmup 1 --json out/bench_torch.json
    python3 tools/bench_torch.py --cases resnet9_fwd conv3x3_256_64x64_fwd

Every case runs in its own subprocess (so peak_rss_mb is per case: ru_maxrss of that process,
which includes the ~python+torch baseline reported by the `baseline` line). 256x256, batch 1,
paper defaults ngf = ndf = 64, networks from tools/paper_networks.py (same architectures and
state_dict names as junyanz/pytorch-CycleGAN-and-pix2pix). Each case: build, `--warmup` untimed
calls, then `--repeats` timed calls; seconds = median. gflops = conv/matmul FLOPs (2 per MAC, forward
and, for training, backward) counted once by torch.utils.flop_counter.FlopCounterMode, / seconds;
norms, activations, padding, losses and the optimizer are not counted.

Output: '#' comment lines, then one line per case:  name  seconds  gflops  peak_rss_mb
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------------------------
# cases: each returns a zero-argument callable performing one timed unit of work
# --------------------------------------------------------------------------------------------
def _cases():
    import itertools
    import torch
    import torch.nn as nn
    sys.path.insert(0, HERE)
    import paper_networks as pn

    adam = dict(lr=2e-4, betas=(0.5, 0.999))

    def img(c=3, s=256):
        return torch.rand(1, c, s, s) * 2 - 1

    def no_grad(fn):
        def run():
            with torch.no_grad():
                fn()
        return run

    def resnet9_fwd():
        G = pn.define_G(3, 3, 64, "resnet_9blocks", norm="instance").eval()
        x = img()
        return no_grad(lambda: G(x))

    def unet256_fwd():
        # pix2pix test.py: no model.eval() unless --eval, so BatchNorm uses batch statistics and the
        # U-Net's dropout (pix2pix default: on) is active.
        G = pn.define_G(3, 3, 64, "unet_256", norm="batch", use_dropout=True).train()
        x = img()
        return no_grad(lambda: G(x))

    def patchgan_fwd():
        D = pn.define_D(6, 64, "basic", norm="batch").train()
        x = img(6)
        return no_grad(lambda: D(x))

    def fid_inception_b8():
        # pytorch-fid 0.3.0's InceptionV3 to pool3 (FIDInceptionA/C/E_1/E_2), batch 8 at 299x299; needs
        # pytorch-fid and torchvision 0.29.2 on PYTHONPATH (pip install --no-deps --target DIR ...). Its
        # weight download is replaced by the network's own initialization (the time does not depend on it).
        from pytorch_fid import inception as fi
        tmpl = fi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
        for name, blk in [("Mixed_5b", fi.FIDInceptionA(192, 32)), ("Mixed_5c", fi.FIDInceptionA(256, 64)),
                          ("Mixed_5d", fi.FIDInceptionA(288, 64)), ("Mixed_6b", fi.FIDInceptionC(768, 128)),
                          ("Mixed_6c", fi.FIDInceptionC(768, 160)), ("Mixed_6d", fi.FIDInceptionC(768, 160)),
                          ("Mixed_6e", fi.FIDInceptionC(768, 192)), ("Mixed_7b", fi.FIDInceptionE_1(1280)),
                          ("Mixed_7c", fi.FIDInceptionE_2(2048))]:
            setattr(tmpl, name, blk)
        sd = tmpl.state_dict()
        fi.load_state_dict_from_url = lambda *a, **k: sd
        net = fi.InceptionV3([3], resize_input=False, normalize_input=False).eval()
        x = torch.rand(8, 3, 299, 299) * 2 - 1
        return no_grad(lambda: net(x))

    def cyclegan_iter():
        G_A = pn.define_G(3, 3, 64, "resnet_9blocks", norm="instance").train()
        G_B = pn.define_G(3, 3, 64, "resnet_9blocks", norm="instance").train()
        D_A = pn.define_D(3, 64, "basic", norm="instance").train()
        D_B = pn.define_D(3, 64, "basic", norm="instance").train()
        gan, l1 = pn.GANLoss("lsgan"), nn.L1Loss()
        opt_G = torch.optim.Adam(itertools.chain(G_A.parameters(), G_B.parameters()), **adam)
        opt_D = torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), **adam)
        real_A, real_B = img(), img()

        def step():
            fake_B = G_A(real_A)
            rec_A = G_B(fake_B)
            fake_A = G_B(real_B)
            rec_B = G_A(fake_A)
            pn.set_requires_grad([D_A, D_B], False)
            opt_G.zero_grad()
            loss_idt_A = l1(G_A(real_B), real_B) * 10.0 * 0.5
            loss_idt_B = l1(G_B(real_A), real_A) * 10.0 * 0.5
            loss_G = (gan(D_A(fake_B), True) + gan(D_B(fake_A), True) + l1(rec_A, real_A) * 10.0
                      + l1(rec_B, real_B) * 10.0 + loss_idt_A + loss_idt_B)
            loss_G.backward()
            opt_G.step()
            pn.set_requires_grad([D_A, D_B], True)
            opt_D.zero_grad()
            for D, real, fake in ((D_A, real_B, fake_B), (D_B, real_A, fake_A)):  # pool_size 0
                loss_D = (gan(D(real), True) + gan(D(fake.detach()), False)) * 0.5
                loss_D.backward()
            opt_D.step()
        return step

    def cut_iter(fast=False):
        # CUT's optimize_parameters at its defaults (tools/cut_networks.py: anti-aliased resnet_9blocks
        # and PatchGAN, PatchNCE on layers 0,4,8,12,16, 256 patches, netF 256 wide); FastCUT: no
        # identity NCE, lambda_NCE 10, flip-equivariance. netF is created by the first call (untimed).
        import cut_networks as cn
        G, D, Fnet = cn.ResnetGenerator(3, 3, 64, 9).train(), cn.NLayerDiscriminator(3, 64).train(), cn.PatchSampleF(256)
        cn.init_weights(G); cn.init_weights(D)
        mse = nn.MSELoss()
        layers, nce_idt, lambda_NCE = [0, 4, 8, 12, 16], not fast, 10.0 if fast else 1.0
        opt_G, opt_D = torch.optim.Adam(G.parameters(), **adam), torch.optim.Adam(D.parameters(), **adam)
        real_A, real_B = img(), img()
        state = {}

        def gan(pred, real):
            return mse(pred, torch.full_like(pred, 1.0 if real else 0.0))

        def nce(src, tgt, flipped):
            feat_q = G(tgt, layers, encode_only=True)
            if flipped:
                feat_q = [torch.flip(f, [3]) for f in feat_q]
            feat_k = G(src, layers, encode_only=True)
            ids = [torch.randperm(f.shape[2] * f.shape[3])[:256] for f in feat_k]
            k_pool, q_pool = Fnet(feat_k, 256, ids), Fnet(feat_q, 256, ids)
            return sum((cn.patch_nce_loss(q, k, 1, 0.07) * lambda_NCE).mean() for q, k in zip(q_pool, k_pool)) / len(layers)

        def step():
            real = torch.cat((real_A, real_B)) if nce_idt else real_A
            flipped = fast and bool(torch.rand(()) < 0.5)
            if flipped:
                real = torch.flip(real, [3])
            fake = G(real)
            fake_B, idt_B = fake[:1], fake[1:]
            pn.set_requires_grad([D], True)
            opt_D.zero_grad()
            ((gan(D(fake_B.detach()), False) + gan(D(real_B), True)) * 0.5).backward()
            opt_D.step()
            pn.set_requires_grad([D], False)
            opt_G.zero_grad()
            if "opt_F" in state:
                state["opt_F"].zero_grad()
            loss_NCE = nce(real_A, fake_B, flipped)
            both = (loss_NCE + nce(real_B, idt_B, flipped)) * 0.5 if nce_idt else loss_NCE
            (gan(D(fake_B), True) + both).backward()
            opt_G.step()
            if "opt_F" not in state:
                state["opt_F"] = torch.optim.Adam(Fnet.parameters(), **adam)
            else:
                state["opt_F"].step()
        return step

    def pix2pix_iter():
        G = pn.define_G(3, 3, 64, "unet_256", norm="batch", use_dropout=True).train()
        D = pn.define_D(6, 64, "basic", norm="batch").train()
        gan, l1 = pn.GANLoss("vanilla"), nn.L1Loss()
        opt_G = torch.optim.Adam(G.parameters(), **adam)
        opt_D = torch.optim.Adam(D.parameters(), **adam)
        real_A, real_B = img(), img()

        def step():
            fake_B = G(real_A)
            pn.set_requires_grad(D, True)
            opt_D.zero_grad()
            loss_D = (gan(D(torch.cat((real_A, fake_B), 1).detach()), False)
                      + gan(D(torch.cat((real_A, real_B), 1)), True)) * 0.5
            loss_D.backward()
            opt_D.step()
            pn.set_requires_grad(D, False)
            opt_G.zero_grad()
            loss_G = gan(D(torch.cat((real_A, fake_B), 1)), True) + l1(fake_B, real_B) * 100.0
            loss_G.backward()
            opt_G.step()
        return step

    def conv(cin, cout, k, s, p, size, transposed=False, backward=False, output_padding=1, only=None):
        """only: None (forward, or forward+backward with backward=True), "input" (backward-input alone) or
        "weight" (backward-filter alone), both through aten.convolution_backward with an output_mask."""
        def make():
            if transposed:
                m = nn.ConvTranspose2d(cin, cout, k, stride=s, padding=p, output_padding=output_padding, bias=False)
            else:
                m = nn.Conv2d(cin, cout, k, stride=s, padding=p, bias=False)
            x = torch.randn(1, cin, size, size)
            if only is not None:
                with torch.no_grad():
                    gy = torch.randn_like(m(x))
                w = m.weight.detach()
                op = [output_padding] * 2 if transposed else [0, 0]
                mask = [only == "input", only == "weight", False]
                return no_grad(lambda: torch.ops.aten.convolution_backward(
                    gy, x, w, None, [s, s], [p, p], [1, 1], transposed, op, 1, mask))
            if not backward:
                return no_grad(lambda: m(x))
            x.requires_grad_(True)

            def fb():
                m.zero_grad(set_to_none=True)
                x.grad = None
                m(x).sum().backward()
            return fb
        return make

    layers = {  # name: (cin, cout, k, s, p, size, transposed, output_padding, passes); inputs pre-padded
        "conv3x3_256_64x64": (256, 256, 3, 1, 0, 66, False, 0, "fwd bwdin bwdw"),   # ResnetBlock conv
        "conv7x7_3to64_256": (3, 64, 7, 1, 0, 262, False, 0, "fwd bwdw"),            # ResNet stem
        "conv7x7_64to3_256": (64, 3, 7, 1, 0, 262, False, 0, "fwd bwdin bwdw"),      # ResNet last conv
        "conv3x3s2_64to128_256": (64, 128, 3, 2, 1, 256, False, 0, "fwd bwdin bwdw"),  # ResNet downsampling 1
        "conv4x4s2_6to64_256": (6, 64, 4, 2, 1, 256, False, 0, "fwd bwdw"),          # PatchGAN layer 0
        "conv4x4s2_64to128_128": (64, 128, 4, 2, 1, 128, False, 0, "fwd bwdin bwdw"),  # PatchGAN layer 2
        "conv4x4s2_128to256_64": (128, 256, 4, 2, 1, 64, False, 0, "fwd bwdin bwdw"),  # PatchGAN layer 5
        "conv4x4s1_256to512_32": (256, 512, 4, 1, 1, 32, False, 0, "fwd bwdin bwdw"),  # PatchGAN layer 8
        "convT3x3s2_256to128_64": (256, 128, 3, 2, 1, 64, True, 1, "fwd bwdin bwdw"),  # ResNet upsampling 1
        "convT4x4s2_512to128_32": (512, 128, 4, 2, 1, 32, True, 0, "fwd bwdin bwdw"),  # U-Net up
    }
    layer_cases = {}
    for base, (cin, cout, k, s_, p, size, tr, op, passes) in layers.items():
        for ps in passes.split():
            only = {"fwd": None, "bwdin": "input", "bwdw": "weight"}[ps]
            layer_cases[f"{base}_{ps}"] = conv(cin, cout, k, s_, p, size, transposed=tr, output_padding=op, only=only)
    layer_cases["conv3x3_256_64x64_fwdbwd"] = conv(256, 256, 3, 1, 0, 66, backward=True)

    def elt(shapes, backward, f):
        """The other ops at their sizes in the networks (NCHW here, NHWC in ours): forward under no_grad,
        or forward and backward from a fixed random gradient."""
        def make():
            xs = [torch.randn(*s, requires_grad=backward) for s in shapes]
            if not backward:
                return no_grad(lambda: f(*xs))
            gy = torch.randn_like(f(*xs))

            def fb():
                for x in xs:
                    x.grad = None
                f(*xs).backward(gy)
            return fb
        return make

    big, res = (1, 64, 256, 256), (1, 256, 64, 64)
    inorm, bnorm, rpad = nn.InstanceNorm2d(64), nn.BatchNorm2d(64).train(), nn.ReflectionPad2d(1)
    elt_cases = {
        "instnorm_64_256_fwd": elt([big], False, inorm),
        "instnorm_64_256_fwdbwd": elt([big], True, inorm),
        "batchnorm_64_256_fwdbwd": elt([big], True, bnorm),
        "reflpad1_256_64_fwdbwd": elt([res], True, rpad),
        "relu_64_256_fwdbwd": elt([big], True, torch.relu),
        "leakyrelu_64_256_fwdbwd": elt([big], True, lambda x: torch.nn.functional.leaky_relu(x, 0.2)),
        "tanh_3_256_fwdbwd": elt([(1, 3, 256, 256)], True, torch.tanh),
        "add_256_64_fwdbwd": elt([res, res], True, lambda a, b: a + b),
        "concat_64_128_fwdbwd": elt([(1, 64, 128, 128), (1, 64, 128, 128)], True, lambda a, b: torch.cat([a, b], 1)),
    }

    return {
        **elt_cases,
        "resnet9_fwd": resnet9_fwd,
        "unet256_fwd": unet256_fwd,
        "patchgan_fwd": patchgan_fwd,
        "fid_inception_b8": fid_inception_b8,
        "cyclegan_iter": cyclegan_iter,
        "pix2pix_iter": pix2pix_iter,
        "cut_iter": cut_iter,
        "fastcut_iter": lambda: cut_iter(fast=True),
        **layer_cases,
    }


_LAYER_NAMES = [f"{b}_{p}" for b, ps in [
    ("conv3x3_256_64x64", "fwd bwdin bwdw fwdbwd"), ("conv7x7_3to64_256", "fwd bwdw"),
    ("conv7x7_64to3_256", "fwd bwdin bwdw"), ("conv3x3s2_64to128_256", "fwd bwdin bwdw"),
    ("conv4x4s2_6to64_256", "fwd bwdw"), ("conv4x4s2_64to128_128", "fwd bwdin bwdw"),
    ("conv4x4s2_128to256_64", "fwd bwdin bwdw"), ("conv4x4s1_256to512_32", "fwd bwdin bwdw"),
    ("convT3x3s2_256to128_64", "fwd bwdin bwdw"), ("convT4x4s2_512to128_32", "fwd bwdin bwdw")] for p in ps.split()]
_ELT_NAMES = ["instnorm_64_256_fwd", "instnorm_64_256_fwdbwd", "batchnorm_64_256_fwdbwd", "reflpad1_256_64_fwdbwd",
              "relu_64_256_fwdbwd", "leakyrelu_64_256_fwdbwd", "tanh_3_256_fwdbwd", "add_256_64_fwdbwd",
              "concat_64_128_fwdbwd"]
CASE_NAMES = (["baseline", "resnet9_fwd", "unet256_fwd", "patchgan_fwd", "fid_inception_b8", "cyclegan_iter", "pix2pix_iter", "cut_iter",
               "fastcut_iter"] + _ELT_NAMES
              + _LAYER_NAMES)


def run_child(name, threads, repeats, warmup):
    import torch
    assert torch.__version__.startswith("2.15.0"), f"pinned to torch 2.15.0, found {torch.__version__}"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    seconds, flops = 0.0, 0
    if name != "baseline":
        from torch.utils.flop_counter import FlopCounterMode
        fn = _cases()[name]()
        with FlopCounterMode(display=False) as fc:  # counts one call (also serves as a warm-up)
            fn()
        flops = fc.get_total_flops()
        for _ in range(max(0, warmup - 1)):
            fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        seconds = statistics.median(times)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    print(json.dumps(dict(name=name, seconds=seconds, flops=flops,
                          gflops=(flops / seconds / 1e9) if seconds > 0 else 0.0, peak_rss_mb=rss_mb,
                          all_seconds=times if name != "baseline" else [])))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="untimed calls (the first one also counts FLOPs)")
    ap.add_argument("--cases", nargs="*", choices=CASE_NAMES, default=None)
    ap.add_argument("--json", default=None, help="also write results to this JSON file")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_child(args.child, args.threads, args.repeats, args.warmup)
        return

    import torch
    assert torch.__version__.startswith("2.15.0"), f"pinned to torch 2.15.0, found {torch.__version__}"
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?") \
        if os.path.exists("/proc/cpuinfo") else platform.processor()
    env = dict(torch=torch.__version__, threads=args.threads, repeats=args.repeats, warmup=args.warmup,
               cpu=cpu, cpu_count=os.cpu_count(), python=platform.python_version(),
               mkldnn=torch.backends.mkldnn.is_available(), loadavg_start=os.getloadavg(),
               # what this process may use: ATen's vectorized kernels and the caps set for oneDNN and MKL
               # (tools/bench.sh --isa sets them; unset = the CPU's best)
               aten_capability=torch.backends.cpu.get_cpu_capability(),
               onednn_max_cpu_isa=os.environ.get("ONEDNN_MAX_CPU_ISA", "native"),
               mkl_instructions=os.environ.get("MKL_ENABLE_INSTRUCTIONS", "native"))
    print(f"# torch {env['torch']}  threads {args.threads}  repeats {args.repeats} (median)  warmup {args.warmup}")
    print(f"# torch ISA: ATen {env['aten_capability']}, oneDNN max {env['onednn_max_cpu_isa']}, MKL {env['mkl_instructions']}")
    print(f"# cpu {cpu} x{os.cpu_count()}  loadavg {' '.join(f'{v:.2f}' for v in env['loadavg_start'])}"
          "  (first look only: shared machine, re-run on a quiet one)")
    print(f"# {'name':28s} {'seconds':>10s} {'gflops':>8s} {'peak_rss_mb':>12s}")
    results = []
    for name in args.cases or CASE_NAMES:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", name, "--threads", str(args.threads),
               "--repeats", str(args.repeats), "--warmup", str(args.warmup)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
        if p.returncode != 0 or not lines:
            print(f"# {name} FAILED (rc {p.returncode}): {p.stderr.strip()[-500:]}")
            continue
        r = json.loads(lines[-1])
        results.append(r)
        print(f"{r['name']:30s} {r['seconds']:10.4f} {r['gflops']:8.2f} {r['peak_rss_mb']:12.1f}", flush=True)
    env["loadavg_end"] = os.getloadavg()
    print(f"# loadavg at end {' '.join(f'{v:.2f}' for v in env['loadavg_end'])}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(dict(env=env, results=results), f, indent=1)
        print(f"# wrote {args.json}")


if __name__ == "__main__":
    main()
