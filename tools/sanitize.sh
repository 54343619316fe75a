#!/usr/bin/env bash
# The test suite under a sanitizer, in its own scratch path (.build-asan, .build-tsan).
#
#   tools/sanitize.sh address [FILTER]     # e.g. tools/sanitize.sh thread 'EngineTests|TranslationTests'
#   tools/sanitize.sh thread  [FILTER]
#
# Child processes (the CLI tests run the built img2img) are instrumented too; a leak report
# or a race report makes a run fail. tools/lsan.supp lists the toolchain's own leaks.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
kind=${1:?address or thread}
filter=${2:-}
case "$kind" in address) scratch=.build-asan ;; thread) scratch=.build-tsan ;; *) echo "address or thread" >&2; exit 2 ;; esac
export SWIFT_BACKTRACE=enable=no
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tools/lsan.supp:print_suppressions=0}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1}
swift build --build-tests --sanitize="$kind" --scratch-path "$scratch" 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]|ld.gold: warning: Cannot export local symbol' || true
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "sanitize: build failed" >&2; exit 1; }
args=(--skip-build --sanitize="$kind" --scratch-path "$scratch" --disable-swift-testing)
[ -n "$filter" ] && args+=(--filter "$filter")
log="$scratch/sanitize.log"   # the whole report
set +e
swift test "${args[@]}" >"$log" 2>&1
status=$?
set -e
grep -E "error: |Executed [0-9]+ tests|SUMMARY: |WARNING: ThreadSanitizer|ERROR: AddressSanitizer" "$log" | tail -30
# Leaks: the test runner's own report at exit fails the run only when a leaked block was
# allocated from our code (Sources/); the toolchain's Foundation.Process and XCTest leak a
# few objects of every test run. (Leaks in the img2img children fail their CLI tests.)
ours=$(awk '/^(Direct|Indirect) leak/{inblk=1; hit=0; next} inblk && /\/Sources\//{hit=1} inblk && /^$/{if(hit)n++; inblk=0} END{print n+0}' "$log")
failures=$(grep -E '^\s*Executed [0-9]+ tests?, with ' "$log" | tail -1 | sed -E 's/.* ([0-9]+) failures? .*/\1/')
if grep -qE "ERROR: AddressSanitizer|WARNING: ThreadSanitizer|SUMMARY: ThreadSanitizer" "$log"; then
    status=1
elif [ "$status" -ne 0 ] && [ "${failures:-1}" = 0 ] && [ "$ours" = 0 ] && grep -q "SUMMARY: AddressSanitizer: .* leaked" "$log"; then
    echo "sanitize: the only leaks are the toolchain's (none allocated from Sources/)"
    status=0
elif [ "$ours" != 0 ]; then
    echo "sanitize: $ours leaked blocks allocated from Sources/"
    status=1
fi
echo "sanitize $kind: exit $status (full log: $log)"
exit "$status"
