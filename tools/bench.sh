#!/usr/bin/env bash
# Same-run comparison of the img2img engine with PyTorch's CPU backend (a developer tool: Python
# stays out of the product and the tests).
#
#   tools/bench.sh [--threads N] [--repeats K] [--rounds R] [--warmup W] [--cases "name name ..."]
#                  [--sequential] [--out DIR] [--isa avx512|avx2|portable] [--bin PATH]
#
# --isa forces our kernels' instruction set (Engine.setKernelISA) and caps PyTorch the same way
# (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA, MKL_ENABLE_INSTRUCTIONS), so each path can be measured
# on any machine that has it; with portable, PyTorch stays uncapped, for scale. The table's header
# says which ISA each side used.
#
# --bin runs a saved img2img-bench instead of building one. A table per ISA is one invocation each,
# about 70 minutes for all three: copy the binary once and pass it to every invocation, so that
# source edits made meanwhile cannot put different code into different tables.
#
# Builds the release img2img-bench, then for every case runs it and tools/bench_torch.py (torch
# 2.15.0, same thread count, same repeats), interleaved case by case so both see the same machine
# load: R rounds (default 3) of ours then torch, K timed repeats each, pooled per side. The rounds are
# there because this kind of machine (a 2-vCPU VM) switches between a fast and a ~1.5x slower state
# for seconds to minutes at a time: one round per side can put the two sides in different states.
# --sequential runs all of ours, then all of torch's (one round). Each case is its own
# process on both sides, so peak RSS is per case (baseline included: see the `baseline` line).
# Prints one table: case, seconds (ours, torch), ratio ours/torch (lower is better, <= 1.00 is the
# bar), GFLOP/s of each, peak RSS of each. Raw results: DIR/img2img.json and DIR/torch.json
# (default DIR: .build/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"

threads=2 repeats=5 rounds=3 warmup=1 cases="" sequential=0 out=.build/bench isa="" bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) threads=$2; shift 2 ;;
        --repeats) repeats=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --warmup) warmup=$2; shift 2 ;;
        --cases) cases=$2; shift 2 ;;
        --sequential) sequential=1; shift ;;
        --out) out=$2; shift 2 ;;
        --isa) isa=$2; shift 2 ;;
        --bin) case "$2" in /*) bin=$2 ;; *) bin="$OLDPWD/$2" ;; esac; shift 2 ;;   # relative to the caller's directory
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ -z "$bin" ]; then
    swift build -c release --product img2img-bench >&2
    bin="$(swift build -c release --show-bin-path)/img2img-bench"
elif [ ! -x "$bin" ]; then
    echo "--bin $bin: not an executable" >&2; exit 2
fi
[ -n "$cases" ] || cases=$("$bin" --list | tr '\n' ' ')
# bf16 cases run the AVX512_BF16 kernels whatever --isa says: only with avx512 or the CPU's choice.
case "$isa" in avx2|portable) cases=$(for c in $cases; do case "$c" in *_bf16) ;; *) echo -n "$c ";; esac; done) ;; esac
mkdir -p "$out/cases"
rm -f "$out"/cases/*.json

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
common=(--threads "$threads" --repeats "$repeats" --warmup "$warmup")
ours_isa=()
case "$isa" in
    "") ;;
    avx512) ours_isa=(--isa avx512); export ATEN_CPU_CAPABILITY=avx512 ONEDNN_MAX_CPU_ISA=AVX512_CORE MKL_ENABLE_INSTRUCTIONS=AVX512 ;;
    avx2) ours_isa=(--isa avx2); export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 ;;
    portable) ours_isa=(--isa portable) ;;   # torch uncapped: for scale
    *) echo "--isa takes avx512, avx2 or portable" >&2; exit 2 ;;
esac
# Ours first: a CPU without the ISA stops here instead of after a whole torch run.
if [ -n "$isa" ] && ! "$bin" "${ours_isa[@]}" --list >/dev/null; then exit 2; fi
# $2: the round, part of the file name; the report pools every round's repeats.
ours() { "$bin" "${common[@]}" "${ours_isa[@]}" --only "$1" --json "$out/cases/ours_$1.r$2.json" | grep -v '^#' >&2 || true; }
torch() { case "$1" in *_direct|*_bf16) return 0 ;; esac   # our kernel-choice variants: no torch twin
          python3 tools/bench_torch.py "${common[@]}" --cases "$1" --json "$out/cases/torch_$1.r$2.json" \
              | grep -v '^#' | sed 's/^/torch /' >&2 || true; }
if [ "$sequential" = 1 ]; then
    rounds=1
    for c in $cases; do ours "$c" 1; done
    for c in $cases; do torch "$c" 1; done
else
    for c in $cases; do for r in $(seq "$rounds"); do ours "$c" "$r"; torch "$c" "$r"; done; done
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$out" "$threads" "$repeats" "$rounds" "$load_start" "$load_end" $cases <<'EOF'
import glob, json, os, statistics, sys
out, threads, repeats, rounds, load_start, load_end, names = (sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4],
                                                              sys.argv[5], sys.argv[6], sys.argv[7:])
def collect(prefix):
    """Each case's rounds pooled: seconds = median of all repeats, gflops rescaled to it."""
    res, env = {}, {}
    for f in sorted(glob.glob(os.path.join(out, "cases", prefix + "_*.json"))):
        d = json.load(open(f))
        env = d["env"]
        for r in d["results"]:
            prev = res.get(r["name"])
            if prev is None:
                res[r["name"]] = dict(r, all_seconds=list(r.get("all_seconds") or [r["seconds"]]))
            else:
                prev["all_seconds"] += r.get("all_seconds") or [r["seconds"]]
                prev["peak_rss_mb"] = max(prev["peak_rss_mb"], r["peak_rss_mb"])
    for r in res.values():
        med = statistics.median(r["all_seconds"])
        if r["seconds"] > 0 and med > 0:
            r["gflops"] = r["gflops"] * r["seconds"] / med
        r["seconds"] = med
    return res, env
ours, oenv = collect("ours")
torch, tenv = collect("torch")
for name, res, env in (("img2img.json", ours, oenv), ("torch.json", torch, tenv)):
    json.dump(dict(env=dict(env, rounds=int(rounds)), results=[res[n] for n in names if n in res]),
              open(os.path.join(out, name), "w"), indent=1)
print(f"# img2img ({oenv.get('kernels', '?')} kernels) vs torch {tenv.get('torch', '?')} (ATen "
      f"{tenv.get('aten_capability', '?')}, oneDNN max {tenv.get('onednn_max_cpu_isa', '?')}, MKL "
      f"{tenv.get('mkl_instructions', '?')}), {threads} threads, "
      f"256x256 batch 1 (fid_inception_b8: 8 at 299x299), median of {rounds} rounds x {repeats} repeats; cpu {tenv.get('cpu', '?')}")
print(f"# loadavg at start {load_start}, at end {load_end}  (shared machine: ratios are same-run, absolute times are not)")
print(f"# seconds = median; ratio = img2img / torch median seconds (lower is better); min_ratio = same with each "
      f"side's fastest repeat (less sensitive to load); GF/s from the medians; MB = per-case peak RSS, baseline included")
hdr = (f"{'case':30s} {'img2img_s':>10s} {'torch_s':>10s} {'ratio':>6s} {'min_ratio':>9s} {'img2img_GF/s':>12s} "
       f"{'torch_GF/s':>10s} {'img2img_MB':>10s} {'torch_MB':>9s}")
print(hdr)
print("-" * len(hdr))
for n in names:
    o, t = ours.get(n), torch.get(n)
    if o is None and t is None:
        continue
    os_ = f"{o['seconds']:10.4f}" if o else f"{'-':>10s}"
    ts = f"{t['seconds']:10.4f}" if t else f"{'-':>10s}"
    ratio = f"{o['seconds'] / t['seconds']:6.2f}" if o and t and t["seconds"] > 0 else f"{'-':>6s}"
    mins = [min(r.get("all_seconds") or [r["seconds"]]) if r else 0 for r in (o, t)]
    mratio = f"{mins[0] / mins[1]:9.2f}" if o and t and mins[1] > 0 else f"{'-':>9s}"
    og = f"{o['gflops']:12.1f}" if o else f"{'-':>12s}"
    tg = f"{t['gflops']:10.1f}" if t else f"{'-':>10s}"
    om = f"{o['peak_rss_mb']:10.1f}" if o else f"{'-':>10s}"
    tm = f"{t['peak_rss_mb']:9.1f}" if t else f"{'-':>9s}"
    print(f"{n:30s} {os_} {ts} {ratio} {mratio} {og} {tg} {om} {tm}")
for name in ("conv3x3_256_64x64_fwd", "conv3x3_256_64x64_fwd_direct"):
    o = ours.get(name)
    if not o:
        continue
    peak = oenv.get("machine_peak_gflops", 230.4)
    full = oenv.get("full_width_peak_gflops", 460.8)
    print(f"# {name}: img2img {o['gflops']:.1f} GFLOP/s = {100 * o['gflops'] / peak:.1f}% of the assumed peak "
          f"{peak:.1f} GFLOP/s (2 cores x 3.6 GHz x 32 FLOP/cycle), {100 * o['gflops'] / full:.1f}% of {full:.1f} "
          f"(64 FLOP/cycle, Zen 5 full-width FMA) on {threads} threads"
          + ("" if name.endswith("direct") else " (nominal FLOPs; Winograd multiplies less)"))
print(f"# raw results: {out}/img2img.json, {out}/torch.json")
EOF
