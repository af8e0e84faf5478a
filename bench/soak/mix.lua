-- wrk script for bench/soak.sh: a mixed, bounded load on sessionkit-demo.
--
-- Run it with ONE connection per wrk thread (wrk -tN -cN): wrk calls request() and response()
-- per thread, not per connection, so per-thread state is per-connection state only then. Each
-- thread is one browser that runs journeys, one after the other:
--
--   anonymous (most journeys): GET /api/session without cookies (CSRF cookie and token, no
--     session) -> POST /api/increment (the first write creates the session) -> a few reads,
--     writes and a CSRF-protected form post (POST /increment, urlencoded _csrf, 303) ->
--     POST /api/logout, or the browser just leaves (the session expires on its idle timeout).
--   signed in (SOAK_SIGNED_IN_PERCENT of the journeys): the same start, then POST /api/login
--     (alice or bob; the session is regenerated: a new ID, the anonymous record is replaced)
--     -> SOAK_SIGNED_IN_STEPS requests of reads (GET /api/session), writes (POST
--     /api/increment), form posts, the HTML page (GET /) and the session list
--     (GET /api/sessions) -> POST /api/logout, or leave.
--
-- The login goes over a side channel: wrk hands response() one value per header name, so of
-- the login's two Set-Cookie headers (the new session ID, then the new CSRF seed) the script
-- would only ever see the second. The login is therefore sent from request() on a short-lived
-- blocking socket of its own (LuaJIT FFI; "Connection: close"), which reads every Set-Cookie;
-- wrk's connection then carries the journey's next request. wrk's request count and latency
-- histogram do not include logins: they are counted here (login=, login_p99_us=, login_max_us=).
-- The wrk thread blocks for the login's duration, but it serves only this one browser, which
-- has nothing else in flight then; wrk starts the next request's clock after request() returns.
--
-- Every answer is checked: the status (200, or 303 for a form post), the visit count (each
-- browser knows what its own counter must be), signed in or not, a new session ID after the
-- login, the cookie cleared by the logout, the current session in the list, a form token in the
-- page. Anything else counts as "unexpected", and that browser starts a new journey.
-- Between two requests a browser waits SOAK_THINK_MS (uniform 0.5x..1.5x), so N connections
-- offer at most N * 1000 / SOAK_THINK_MS requests per second (a closed loop: a slower server
-- gets fewer requests, never a growing queue).
--
-- Environment: SOAK_THINK_MS (32), SOAK_SIGNED_IN_PERCENT (2), SOAK_SIGNED_IN_STEPS (300),
--   SOAK_LEAVE_PERCENT (50: anonymous journeys that end without a logout; signed-in ones leave
--   half as often), SOAK_STALL_S (5: a request without an answer for longer when wrk stops is
--   "stalled"), SOAK_SEED.
-- done() prints one RESULT line (counts summed over the threads; latencies in microseconds)
-- and up to 10 UNEXPECTED lines with the first unexpected answers.

local think_ms = tonumber(os.getenv("SOAK_THINK_MS") or "32")
local signed_in_percent = tonumber(os.getenv("SOAK_SIGNED_IN_PERCENT") or "2")
local signed_in_steps = tonumber(os.getenv("SOAK_SIGNED_IN_STEPS") or "300")
local leave_percent = tonumber(os.getenv("SOAK_LEAVE_PERCENT") or "50")
local stall_s = tonumber(os.getenv("SOAK_STALL_S") or "5")
local seed = tonumber(os.getenv("SOAK_SEED") or tostring(os.time()))
local users = { { "alice", "wonderland" }, { "bob", "builder" } }
local user_agent = "sessionkit-soak/1 (wrk)"

-- ---- a blocking HTTP/1.1 exchange on its own loopback connection (for the login) ----
local ffi = require("ffi")
ffi.cdef [[
struct soak_in_addr { uint32_t s_addr; };
struct soak_sockaddr_in { uint16_t sin_family; uint16_t sin_port; struct soak_in_addr sin_addr;
                          unsigned char sin_zero[8]; };
struct soak_timeval { long tv_sec; long tv_usec; };
struct soak_timespec { long tv_sec; long tv_nsec; };
int socket(int domain, int type, int protocol);
int connect(int fd, const void *addr, unsigned int len);
int setsockopt(int fd, int level, int name, const void *value, unsigned int len);
long send(int fd, const void *buf, size_t len, int flags);
long recv(int fd, void *buf, size_t len, int flags);
int close(int fd);
int clock_gettime(int clock, struct soak_timespec *ts);
uint16_t htons(uint16_t v);
int inet_pton(int family, const char *src, void *dst);
]]
local C = ffi.C
local AF_INET, SOCK_STREAM, SOL_SOCKET, SO_RCVTIMEO, SO_SNDTIMEO = 2, 1, 1, 20, 21
local MSG_NOSIGNAL, CLOCK_MONOTONIC = 0x4000, 1

local function now_us()
  local ts = ffi.new("struct soak_timespec")
  C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

-- Sends raw (a complete request with "Connection: close") to wrk's host and port; returns
-- status, the list of Set-Cookie values and the body, or nil and what went wrong. Every socket
-- call gives up after `timeout_s`.
local function exchange(raw, timeout_s)
  local fd = C.socket(AF_INET, SOCK_STREAM, 0)
  if fd < 0 then return nil, "socket() failed" end
  local tv = ffi.new("struct soak_timeval", { timeout_s, 0 })
  C.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, ffi.sizeof(tv))
  C.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, ffi.sizeof(tv))
  local sa = ffi.new("struct soak_sockaddr_in")
  sa.sin_family = AF_INET
  sa.sin_port = C.htons(tonumber(wrk.port))
  C.inet_pton(AF_INET, wrk.host, sa.sin_addr)
  if C.connect(fd, sa, ffi.sizeof(sa)) ~= 0 then C.close(fd); return nil, "connect failed" end
  local sent = 0
  while sent < #raw do
    local n = C.send(fd, ffi.cast("const char *", raw) + sent, #raw - sent, MSG_NOSIGNAL)
    if n <= 0 then C.close(fd); return nil, "send failed" end
    sent = sent + tonumber(n)
  end
  local buf = ffi.new("char[?]", 16384)
  local parts, data = {}, ""
  local head_end, want
  while true do
    local n = tonumber(C.recv(fd, buf, 16384, 0))
    if n <= 0 then break end  -- closed, error or timeout
    parts[#parts + 1] = ffi.string(buf, n)
    data = table.concat(parts)
    parts = { data }
    if not head_end then
      head_end = data:find("\r\n\r\n", 1, true)
      if head_end then
        want = head_end + 3 + (tonumber(data:sub(1, head_end):lower():match("\ncontent%-length:%s*(%d+)")) or 0)
      end
    end
    if want and #data >= want then break end
  end
  C.close(fd)
  if not want or #data < want then return nil, "no complete answer within " .. timeout_s .. " s" end
  local head = data:sub(1, head_end)
  local status = tonumber(head:match("^HTTP/1%.%d (%d%d%d)"))
  local cookies = {}
  for line in head:gmatch("[^\r\n]+") do
    local v = line:match("^[Ss][Ee][Tt]%-[Cc][Oo][Oo][Kk][Ii][Ee]:%s*(.*)$")
    if v then cookies[#cookies + 1] = v end
  end
  return status, cookies, data:sub(head_end + 4, want)
end

-- ---- the main state: one entry per thread, read back in done() ----
local threads = {}
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

-- ---- per-thread state (globals of each thread's Lua state; thread:get reads them) ----
counts = {
  requests = 0, answers = 0, unexpected = 0,
  visit = 0, create = 0, read = 0, write = 0, form = 0, page = 0, list = 0,
  login = 0, logout = 0, left = 0, journeys = 0,
}
login_us = {}          -- latency of each login (microseconds)
problems = {}          -- first unexpected answers of this thread (at most 3)
pending_since = nil    -- os.time() of the request without an answer yet

local host                -- the Host header wrk would send ("127.0.0.1:PORT")
local jar = {}            -- cookie name -> value
local csrf = nil          -- the CSRF token to send
local visits = 0          -- what this browser's visit counter must be
local signed_in = false
local steps = {}          -- the journey: a list of step names
local pos = 1

function init(args)
  host = wrk.headers["Host"]
  math.randomseed(seed + 7919 * (id or 0))
  math.random(); math.random()
end

local function cookie_header()
  local parts = {}
  for name, value in pairs(jar) do parts[#parts + 1] = name .. "=" .. value end
  if #parts == 0 then return nil end
  table.sort(parts)
  return table.concat(parts, "; ")
end

-- A new journey: a fresh browser (no cookies), steps chosen at random.
local function new_journey()
  jar, csrf, visits, signed_in = {}, nil, 0, false
  steps, pos = { "visit", "create" }, 1
  counts.journeys = counts.journeys + 1
  local signing_in = math.random(100) <= signed_in_percent
  local n, leave
  if signing_in then
    steps[#steps + 1] = "login"
    n = signed_in_steps
    leave = math.random(100) <= leave_percent / 2
  else
    n = math.random(2, 6)
    leave = math.random(100) <= leave_percent
  end
  for _ = 1, n do
    local r = math.random(100)
    local step
    if r <= 55 then step = "read"
    elseif r <= 80 then step = "write"
    elseif r <= 90 then step = "form"
    elseif r <= 95 then step = signing_in and "list" or "read"
    else step = "page" end
    steps[#steps + 1] = step
  end
  if not leave then steps[#steps + 1] = "logout" end
end

local function unexpected(step, status, why)
  counts.unexpected = counts.unexpected + 1
  if #problems < 3 then
    problems[#problems + 1] = string.format("%s %s %s (journey step %d of %d, signed in %s)",
      step, tostring(status), why, pos, #steps, tostring(signed_in))
  end
  pos = #steps + 1  -- this browser starts over
end

-- One Set-Cookie value into the jar (a cleared cookie leaves it).
local function take_cookie(line)
  local name, value = line:match("^%s*([^=;%s]+)=([^;]*)")
  if not name then return end
  if value == "" or line:lower():find("max-age=0", 1, true) then
    jar[name] = nil
  else
    jar[name] = value
  end
end

local function body_visits(body)
  return tonumber(body:match('"visits":(%d+)'))
end

function delay()
  return math.floor(think_ms * (0.5 + math.random()))
end

-- The login, over the side channel (see the top of the file). True when it worked.
local function login()
  local u = users[math.random(#users)]
  local body = string.format('{"username":"%s","password":"%s"}', u[1], u[2])
  local before = jar["sid"]
  local raw = wrk.format("POST", "/api/login", {
    Host = host, ["User-Agent"] = user_agent, Cookie = cookie_header(),
    ["Content-Type"] = "application/json", ["X-CSRF-Token"] = csrf, Connection = "close",
  }, body)
  local start = now_us()
  local status, cookies, answer = exchange(raw, stall_s)
  login_us[#login_us + 1] = math.floor(now_us() - start)
  counts.login = counts.login + 1
  if not status then unexpected("login", "-", cookies); return false end
  if status ~= 200 then unexpected("login", status, "expected 200: " .. answer:sub(1, 120)); return false end
  for _, line in ipairs(cookies) do take_cookie(line) end
  local token = answer:match('"csrf_token":"([^"]+)"')
  if not token then unexpected("login", status, "no csrf_token"); return false end
  if not jar["sid"] or jar["sid"] == before then
    unexpected("login", status, "the session ID did not change"); return false
  end
  csrf, signed_in = token, true
  return true
end

function request()
  if pos > #steps then new_journey() end
  while steps[pos] == "login" do
    if login() then pos = pos + 1 else new_journey() end
  end
  local step = steps[pos]
  local headers = { Host = host, ["User-Agent"] = user_agent }
  local cookie = cookie_header()
  if cookie then headers["Cookie"] = cookie end
  local method, path, body = "GET", "/api/session", nil
  if step == "create" or step == "write" then
    method, path, body = "POST", "/api/increment", ""
    headers["X-CSRF-Token"] = csrf
  elseif step == "form" then
    -- What the page's Increment button sends: a same-origin urlencoded form.
    method, path, body = "POST", "/increment", "_csrf=" .. (csrf or "")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["Origin"] = "http://" .. host
    headers["Sec-Fetch-Site"] = "same-origin"
  elseif step == "logout" then
    method, path, body = "POST", "/api/logout", ""
    headers["X-CSRF-Token"] = csrf
  elseif step == "page" then
    path = "/"
  elseif step == "list" then
    path = "/api/sessions"
  end
  counts.requests = counts.requests + 1
  pending_since = os.time()
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  pending_since = nil
  counts.answers = counts.answers + 1
  local step = steps[pos]
  if step == nil then return end
  counts[step] = counts[step] + 1
  -- Only the LAST Set-Cookie of an answer reaches Lua (wrk keeps one value per header name);
  -- apart from the login (sent on the side channel), every answer this mix provokes sets at
  -- most one cookie.
  local line = headers["Set-Cookie"] or headers["set-cookie"]
  if line then take_cookie(line) end
  if step == "form" then
    if status ~= 303 then return unexpected(step, status, "expected 303") end
    visits = visits + 1
  elseif status ~= 200 then
    return unexpected(step, status, "expected 200: " .. body:sub(1, 120))
  elseif step == "visit" then
    csrf = body:match('"csrf_token":"([^"]+)"')
    if not csrf then return unexpected(step, status, "no csrf_token") end
    if not jar["sid-csrf"] then return unexpected(step, status, "no sid-csrf cookie") end
  elseif step == "create" or step == "write" then
    local v = body_visits(body)
    visits = visits + 1
    if v ~= visits then
      return unexpected(step, status, string.format("visits %s, expected %d", tostring(v), visits))
    end
    if not jar["sid"] then return unexpected(step, status, "no session cookie after a write") end
  elseif step == "read" then
    local v = body_visits(body)
    if v ~= visits then
      return unexpected(step, status, string.format("visits %s, expected %d", tostring(v), visits))
    end
    local auth = body:find('"authenticated":true', 1, true) ~= nil
    if auth ~= signed_in then return unexpected(step, status, "authenticated is " .. tostring(auth)) end
  elseif step == "list" then
    if not body:find('"current":true', 1, true) then
      return unexpected(step, status, "the current session is not listed")
    end
  elseif step == "page" then
    if not body:find("_csrf", 1, true) then return unexpected(step, status, "no form token in the page") end
  elseif step == "logout" then
    if not body:find('"ok":true', 1, true) then return unexpected(step, status, "no ok") end
    if jar["sid"] then return unexpected(step, status, "the session cookie was not cleared") end
  end
  pos = pos + 1
  if pos > #steps and step ~= "logout" then counts.left = counts.left + 1 end
end

local function percentile(list, p)
  if #list == 0 then return 0 end
  table.sort(list)
  return list[math.max(1, math.ceil(#list * p / 100))]
end

function done(summary, latency, requests)
  local total, logins, lines = {}, {}, {}
  local stalled = 0
  local now = os.time()
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
    for _, v in ipairs(t:get("login_us")) do logins[#logins + 1] = v end
    local since = t:get("pending_since")
    if since and now - since > stall_s then stalled = stalled + 1 end
    for _, line in ipairs(t:get("problems")) do
      if #lines < 10 then lines[#lines + 1] = "UNEXPECTED thread " .. t:get("id") .. ": " .. line end
    end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.1f p50_us=%d p99_us=%d max_us=%d non2xx3xx=%d sockerr=%d " ..
    "timeouts=%d unexpected=%d stalled=%d journeys=%d visit=%d create=%d read=%d write=%d " ..
    "form=%d page=%d list=%d login=%d logout=%d left=%d login_p99_us=%d login_max_us=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect + e.read + e.write, e.timeout, total.unexpected or 0,
    stalled, total.journeys or 0, total.visit or 0, total.create or 0, total.read or 0,
    total.write or 0, total.form or 0, total.page or 0, total.list or 0, total.login or 0,
    total.logout or 0, total.left or 0, percentile(logins, 99), percentile(logins, 100)))
  for _, line in ipairs(lines) do io.write(line, "\n") end
end
