#!/usr/bin/env bash
# Load run of `img2img serve` on loopback: for 1, 4 and 16 concurrent clients (wrk connections,
# one thread each up to 2), POST the sample images for a fixed time to a fresh server, and print
# requests/s, p50 and p99 latency, errors and the server's peak RSS; then the CLI's images/s on
# the same files (`img2img translate`, same threads). Release build; Debian's wrk.
#
#   tools/serve_load.sh [SECONDS per level, default 20] [MAX_QUEUE, default 16]
#
# With MAX_QUEUE below the client count, the extra requests get the deliberate 503 (counted as
# non2xx by wrk; the server's /metrics splits them by status). Requests still queued when wrk
# stops lose their client and are skipped (status 499 in /metrics), not counted as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
command -v wrk >/dev/null || { echo "needs wrk: apt-get install -y wrk" >&2; exit 1; }
SECS=${1:-20}
QUEUE=${2:-16}
BIN=${BIN:-$(swift build -c release --show-bin-path)}
[ -x "$BIN/img2img-serve" ] && [ -x "$BIN/img2img" ] || {
  swift build -c release --product img2img
  swift build -c release --product img2img-serve
}
THREADS=${THREADS:-$(nproc)}
IMAGES=$(ls "$PWD"/datasets/samples/earth-night/*.jpg | tr '\n' ' ')
export IMAGES
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $THREADS threads, ${SECS}s per level, max-queue $QUEUE"
printf "| clients | requests | req/s | translated/s | p50 ms | p99 ms | 503 | other errors | peak RSS MB |\n|---|---|---|---|---|---|---|---|---|\n"
for C in 1 4 16; do
  "$BIN/img2img-serve" --port 0 --threads "$THREADS" --max-queue "$QUEUE" > "$TMP/serve.out" 2>&1 &
  PID=$!
  for _ in $(seq 100); do grep -q 'serving' "$TMP/serve.out" && break; sleep 0.1; done
  PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/serve.out" | head -1)
  # warm-up: one translation (first-use allocations), not counted
  curl -s -o /dev/null --data-binary @"$(echo $IMAGES | cut -d' ' -f1)" "http://127.0.0.1:$PORT/v1/models/earth-night2day/translate"
  T=$(( C < 2 ? C : 2 ))
  wrk -t"$T" -c"$C" -d"${SECS}s" --timeout 120s -s tools/serve_load.lua "http://127.0.0.1:$PORT" > "$TMP/wrk.out" 2>&1 || true
  R=$(grep RESULT "$TMP/wrk.out" || { cat "$TMP/wrk.out" >&2; echo "RESULT"; })
  M=$(curl -s "http://127.0.0.1:$PORT/metrics")
  B503=$(echo "$M" | sed -n 's/^img2img_http_requests_total{route="\/v1\/models\/{name}\/translate",status="503"} \([0-9]*\).*/\1/p')
  RSS=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/$PID/status)
  kill -TERM $PID; wait $PID || true
  get() { echo "$R" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  # errors other than the deliberate 503: the server's own count (status >= 400 but 503) plus
  # wrk's socket errors and timeouts
  # (499: a request still queued when wrk stopped and closed its connection, skipped)
  SERVER_ERR=$(echo "$M" | awk '/^img2img_http_errors_total/ && !/status="503"/ && !/status="499"/ {s+=$NF} END {print s+0}')
  OTHER=$(( SERVER_ERR + $(get connect) + $(get read) + $(get write) + $(get timeout) ))
  OK=$(echo "$M" | sed -n 's/^img2img_http_requests_total{route="\/v1\/models\/{name}\/translate",status="200"} \([0-9]*\).*/\1/p')
  TPS=$(awk -v n="${OK:-0}" -v s="$(get seconds)" 'BEGIN {printf "%.2f", (n - 1) / s}')  # minus the warm-up
  printf "| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n" "$C" "$(get requests)" "$(get rps)" "$TPS" "$(get p50_ms)" "$(get p99_ms)" "${B503:-0}" "$OTHER" "$RSS"
done

# The CLI on the same files, same threads: images/s as it prints them (best of 3 runs).
mkdir -p "$TMP/in"; cp datasets/samples/earth-night/*.jpg "$TMP/in/"
for k in 1 2 3; do
  /usr/bin/time -f "%M" -o "$TMP/rss" "$BIN/img2img" translate --model models/earth-night2day/G.safetensors \
    --input "$TMP/in" --output "$TMP/out" --overwrite --quiet --threads "$THREADS" | sed -n 's/.*(\(.*\) images\/s).*/\1/p' > "$TMP/ips.$k"
done
echo "CLI img2img translate on the same $(ls "$TMP/in" | wc -l) files: $(sort -n "$TMP"/ips.* | tail -1) images/s (best of 3), peak RSS $(( $(cat "$TMP/rss") / 1024 )) MB"
