-- wrk script for bench/macro/compare.sh. Environment:
--   BENCH_METHOD  GET | POST            BENCH_COOKIE  "name=value; ..." or empty
--   BENCH_CSRF    X-CSRF-Token value or empty
-- done() prints one line:
--   RESULT requests=<n> rps=<f> p50_us=<n> p99_us=<n> non2xx=<n> sockerr=<n>
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end
local csrf = os.getenv("BENCH_CSRF")
if csrf and csrf ~= "" then wrk.headers["X-CSRF-Token"] = csrf end
if wrk.method == "POST" then
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = ""
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d sockerr=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
