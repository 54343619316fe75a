#!/usr/bin/env bash
# README command 2: install what is missing, build, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
tools/setup.sh
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
if [ -n "$summary" ]; then
    total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
    failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) failures? .*/\1/')
    skipped=0
    if echo "$summary" | grep -qE '[0-9]+ tests? skipped'; then
        skipped=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests? skipped.*/\1/')
    fi
    echo "tests: $((total - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
exit "$status"
