-- wrk script for bench/macro/memory.sh: every request creates a new session.
-- POST /api/increment without a session cookie, with a pre-session CSRF cookie and its token
-- (both reusable), so each answer stores one new session. Each thread stops after
-- BENCH_PER_THREAD responses. Environment: BENCH_COOKIE, BENCH_CSRF, BENCH_PER_THREAD.
wrk.method = "POST"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
wrk.headers["X-CSRF-Token"] = os.getenv("BENCH_CSRF")
wrk.headers["Content-Type"] = "application/json"
wrk.body = ""
local limit = tonumber(os.getenv("BENCH_PER_THREAD"))
local seen = 0
local failed = 0

function response(status)
  seen = seen + 1
  if status ~= 200 then failed = failed + 1 end
  if seen >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d rps=%.1f non2xx=%d sockerr=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
