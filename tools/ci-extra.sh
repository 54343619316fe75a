#!/usr/bin/env bash
# CI after tools/test.sh (issue 6): a short fuzz run of every target, and the engine and the
# translate pipeline (threaded kernels, reader / inference / writer threads) under
# ThreadSanitizer. Exits non-zero on a fuzz crash or a TSan report.
#
#   tools/ci-extra.sh [FUZZ-SECONDS-PER-TARGET]    (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
seconds=${1:-15}
status=0

echo "== fuzz smoke: ${seconds} s per target"
tools/fuzz.sh "$seconds" || status=1

# OpSweepTests is left out here: the same kernels on 2 threads are in ElementwiseKernelTests, and its
# finite differences take minutes under TSan.
echo "== ThreadSanitizer: EngineTests (but the op sweeps), TranslationTests"
tools/sanitize.sh thread 'EngineTests\.(KernelTests|ElementwiseKernelTests|OpTests|TapeTests|ParallelTests|PyTorchParityTests)|TranslationTests' || status=1
exit "$status"
