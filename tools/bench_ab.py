#!/usr/bin/env python3
"""Alternating A/B of two img2img-bench binaries (a developer tool; no part of the product or tests).

    tools/bench_ab.py OLD NEW --cases NAME,NAME [--isa avx512,avx2] [--rounds 4] [--repeats 5]

Keep the binary of the code before a change (`cp .build/release/img2img-bench /tmp/bench_old`),
build the change, then compare: every round runs each binary once per ISA, in alternating order
(old first in even rounds, new first in odd ones), so both see the same machine states. On a shared
VM whose speed moves 1.5-2x between minutes, a change measured in one run against a table from
another is noise more often than not. A run's time is the median of its repeats; prints, per ISA
and case, each side's fastest and median run over all rounds and new/old of the fastest.
"""
import argparse
import collections
import statistics
import subprocess


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--cases", required=True, help="comma-separated case names (img2img-bench --list)")
    ap.add_argument("--isa", default="", help="comma-separated: avx512, avx2, portable (default: the CPU's)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    isas = a.isa.split(",") if a.isa else [""]
    times = collections.defaultdict(list)
    for r in range(a.rounds):
        for isa in isas:
            for tag in (("old", "new") if r % 2 == 0 else ("new", "old")):
                cmd = [a.old if tag == "old" else a.new, "--threads", str(a.threads), "--repeats", str(a.repeats),
                       "--only", a.cases] + (["--isa", isa] if isa else [])
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                for line in out.splitlines():
                    f = line.split()
                    if not f or line.startswith("#"):
                        continue
                    times[(isa or "cpu", f[0], tag)].append(float(f[1]))
    print(f"# {a.rounds} rounds; a run = median of {a.repeats} repeats; fastest and median run per side, ms")
    for isa, case in sorted({(i, c) for (i, c, _) in times}):
        o, n = times[(isa, case, "old")], times[(isa, case, "new")]
        print(f"{isa:8s} {case:34s} old min {min(o) * 1e3:8.2f} med {statistics.median(o) * 1e3:8.2f} | "
              f"new min {min(n) * 1e3:8.2f} med {statistics.median(n) * 1e3:8.2f} | new/old min {min(n) / min(o):.2f}")


if __name__ == "__main__":
    main()
