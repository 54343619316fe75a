#!/usr/bin/env bash
# README command 2: install what is missing, build, run the whole test suite, then the fuzz
# smoke run and the ThreadSanitizer tests (tools/ci-extra.sh; IMG2IMG_SKIP_EXTRA=1 skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
tools/setup.sh --tests
swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# XCTest only (no Swift Testing suites): its summary is the one that counts.
set +e
swift test --skip-build --disable-swift-testing 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# "Executed N tests, with [K tests skipped and ]F failures (U unexpected) in ..."
summary=$(grep -E '^\s*Executed [0-9]+ tests?, with ' "$log" | tail -1)
line=""
if [ -n "$summary" ]; then
    total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
    failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) failures? .*/\1/')
    skipped=0
    if echo "$summary" | grep -qE '[0-9]+ tests? skipped'; then
        skipped=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests? skipped.*/\1/')
    fi
    line="tests: $((total - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
# Issue 6's checks: a short fuzz run of every reader and the threaded code under TSan.
extra=0
if [ "$status" -eq 0 ] && [ "${IMG2IMG_SKIP_EXTRA:-0}" != 1 ]; then
    tools/ci-extra.sh || extra=$?
fi
[ -n "$line" ] && echo "$line"
if [ "$extra" -ne 0 ]; then
    echo "tools/ci-extra.sh failed (fuzz smoke or ThreadSanitizer): see above"
    exit "$extra"
fi
exit "$status"
