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

echo "== ThreadSanitizer: EngineTests, TranslationTests"
export SWIFT_BACKTRACE=enable=no
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
if ! swift build --build-tests --sanitize=thread --scratch-path .build-tsan 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]'; then
    echo "ci-extra: ThreadSanitizer build failed" >&2; exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
swift test --skip-build --sanitize=thread --scratch-path .build-tsan --disable-swift-testing \
    --filter 'EngineTests|TranslationTests' >"$log" 2>&1
tsan=$?
set -e
grep -E 'Executed [0-9]+ tests|WARNING: ThreadSanitizer|SUMMARY: ThreadSanitizer|error: ' "$log" | tail -20
if [ "$tsan" -ne 0 ] || grep -q 'WARNING: ThreadSanitizer' "$log"; then
    echo "ci-extra: ThreadSanitizer run failed (exit $tsan)" >&2
    status=1
fi
exit "$status"
