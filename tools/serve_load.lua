-- wrk script for tools/serve_load.sh: POSTs the files named in IMAGES (space-separated) in turn
-- to PATH, and prints one summary line: requests, rps, p50/p99 latency, non-2xx by kind.
local files = {}
local bodies = {}
local path = os.getenv("TRANSLATE_PATH") or "/v1/models/earth-night2day/translate"
for f in string.gmatch(os.getenv("IMAGES") or "", "%S+") do
  local h = assert(io.open(f, "rb"))
  table.insert(bodies, h:read("*all"))
  h:close()
end
local i = 0
local busy = 0
local other = 0

function request()
  i = i % #bodies + 1
  return wrk.format("POST", path, { ["Content-Type"] = "image/jpeg" }, bodies[i])
end

function response(status, headers, body)
  if status == 503 then busy = busy + 1 elseif status ~= 200 then other = other + 1 end
end

function done(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.1f rps=%.2f p50_ms=%.0f p99_ms=%.0f max_ms=%.0f " ..
                         "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, s, summary.requests / s, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect, e.read, e.write, e.timeout))
end
