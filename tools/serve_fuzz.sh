#!/usr/bin/env bash
# Fuzzes the `img2img serve` API from its own OpenAPI document (/openapi.json) with schemathesis
# (pinned, from PyPI, in a virtualenv under .build/): positive and negative requests for every
# operation, checked for server errors (5xx). A developer tool, not part of the test suite.
#
#   tools/serve_fuzz.sh [MAX_EXAMPLES per operation, default 200] [SECONDS budget, default 300]
#
# Prints schemathesis's summary, then the server's own request counts by route and status (from
# /metrics), and exits non-zero on any 5xx other than the deliberate 503 (queue full) or when
# the server is gone at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
N=${1:-200}
SECS=${2:-300}
VERSION=4.32.5
VENV=${VENV:-$PWD/.build/schemathesis-$VERSION}
[ -x "$VENV/bin/schemathesis" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "schemathesis==$VERSION"; }
BIN=${BIN:-$(swift build -c release --show-bin-path)}
[ -x "$BIN/img2img-serve" ] || swift build -c release --product img2img-serve
TMP=$(mktemp -d)
"$BIN/img2img-serve" --port 0 --max-upload-mb 5 > "$TMP/serve.out" 2> "$TMP/serve.err" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do grep -q 'serving' "$TMP/serve.out" && break; sleep 0.1; done
PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/serve.out" | head -1)
URL="http://127.0.0.1:$PORT"

set +e
# (run from the temporary folder: schemathesis keeps its example database in ./.schemathesis)
(cd "$TMP" && "$VENV/bin/schemathesis" run "$URL/openapi.json" --checks not_a_server_error --mode all \
  --max-examples "$N" --max-time "$SECS" --workers 2 --seed 14 --request-timeout 120 \
  --no-color --suppress-health-check all) > "$TMP/st.out" 2>&1
ST=$?
tail -40 "$TMP/st.out"
set -e

echo "--- server's request counts (route, status: count) ---"
METRICS=$(curl -s "$URL/metrics")
echo "$METRICS" | sed -n 's/^img2img_http_requests_total{route="\([^"]*\)",status="\([0-9]*\)"} \([0-9]*\).*/\1 \2: \3/p' | sort
TOTAL=$(echo "$METRICS" | awk '/^img2img_http_requests_total/ {s+=$NF} END {print s+0}')
FIVE=$(echo "$METRICS" | awk '/^img2img_http_requests_total/ && /status="5/ && !/status="503"/ {s+=$NF} END {print s+0}')
echo "requests: $TOTAL, 5xx other than 503: $FIVE, schemathesis exit status: $ST"
curl -sf "$URL/healthz" > /dev/null && echo "server still answering" || { echo "server gone"; exit 1; }
[ "$FIVE" -eq 0 ] && [ "$ST" -eq 0 ]
