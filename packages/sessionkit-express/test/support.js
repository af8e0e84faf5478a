// Test support shared by the package's tests and examples/express: real sessiond and
// redis-server processes (stopped by pid), an HTTP client that handles cookies by hand, and
// waits on conditions instead of sleeps. Not a test file itself.
'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const sessiondBinary = process.env.SESSIOND ?? path.resolve(__dirname, '../../../build/debug/bin/sessiond');

/** A random API key (sessiond wants at least 20 characters). */
function newKey() {
  return crypto.randomBytes(24).toString('base64url');
}

const children = new Set();

/** Waits for `pattern` in the child's stdout/stderr; rejects when it exits first or after `ms`. */
function awaitOutput(child, pattern, what, ms = 10_000) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => finish(new Error(`${what} did not start in ${ms} ms: ${out}`)), ms);
    function finish(err, m) {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m);
    }
    function onData(d) {
      out += d;
      const m = pattern.exec(out);
      if (m) finish(null, m);
    }
    function onExit(code, signal) {
      finish(new Error(`${what} exited (${code ?? signal}) before it was ready: ${out}`));
    }
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', onExit);
  });
}

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  // Keep reading so that a chatty child never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

/** Stops a child by its pid (SIGTERM, then SIGKILL after 5 s) and resolves when it has exited. */
function stopProcess(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    process.kill(child.pid, 'SIGTERM');
  });
}

/** Stops every process these helpers started that still runs (for after() hooks). */
async function stopAll() {
  await Promise.all([...children].map(stopProcess));
}

/**
 * Starts sessiond: `--store memory://` on 127.0.0.1 and a free port unless told otherwise.
 * Resolves { child, port, url, key, stop() }.
 */
async function startSessiond({ key = newKey(), store = 'memory://', port = 0, args = [] } = {}) {
  const child = track(
    spawn(sessiondBinary, ['--store', store, '--listen', `127.0.0.1:${port}`, ...args], {
      env: { ...process.env, SESSIOND_API_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const m = await awaitOutput(child, /listening on http:\/\/127\.0\.0\.1:(\d+)/, 'sessiond');
  const p = Number(m[1]);
  return { child, port: p, url: `http://127.0.0.1:${p}`, key, stop: () => stopProcess(child) };
}

/** A port that was free a moment ago (for servers that cannot pick their own, like redis-server). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts redis-server on a free loopback port, no persistence. Resolves { child, port, stop() }. */
async function startRedis() {
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const child = track(
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    try {
      await awaitOutput(child, /Ready to accept connections/, 'redis-server');
      return { child, port, stop: () => stopProcess(child) };
    } catch (e) {
      await stopProcess(child);
      if (attempt >= 5) throw e; // the port was taken meanwhile: try another
    }
  }
}

/** A call to sessiond's own API (to look at what the store holds: deadlines, data). */
function sessiondCall(sd, method, p, body) {
  return request(sd.port, method, p, {
    headers: { authorization: `Bearer ${sd.key}` },
    body,
  }).then((r) => ({ status: r.status, body: r.text ? JSON.parse(r.text) : null }));
}

/** sessiond's record of a session, without sliding its deadline (null when it has none). */
async function peek(sd, sid) {
  const r = await sessiondCall(sd, 'GET', `/v1/sessions/${encodeURIComponent(sid)}?touch=false`);
  if (r.status === 404) return null;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Parses one Set-Cookie header: { name, value (raw), attrs: { lower-case name: value|true } }. */
function parseSetCookie(header) {
  const [pair, ...rest] = header.split(';');
  const eq = pair.indexOf('=');
  const attrs = {};
  for (const part of rest) {
    const i = part.indexOf('=');
    const k = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase();
    attrs[k] = i < 0 ? true : part.slice(i + 1).trim();
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs };
}

/**
 * One HTTP request on a fresh connection. `cookie` is sent as the Cookie header; `body` (an
 * object) as JSON. Resolves { status, headers, text, json, cookies: [parsed Set-Cookie] }, plus
 * cookie(name): the parsed Set-Cookie of that name or undefined.
 */
function request(port, method, p, { cookie, headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const h = { ...headers };
    if (cookie) h.cookie = cookie;
    if (payload !== undefined) {
      h['content-type'] = 'application/json';
      h['content-length'] = Buffer.byteLength(payload);
    }
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: h, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        const cookies = (res.headers['set-cookie'] ?? []).map(parseSetCookie);
        let json;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({
          status: res.statusCode,
          headers: res.headers,
          text,
          json,
          cookies,
          cookie: (name) => cookies.find((c) => c.name === name),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The `name=value` pair to send back for a parsed Set-Cookie. */
function pair(c) {
  return `${c.name}=${c.value}`;
}

/** express-session's session ID inside a signed cookie value ("s:<id>.<signature>"). */
function sidOf(c) {
  const v = decodeURIComponent(c.value);
  assert.ok(v.startsWith('s:'), `a signed cookie: ${v}`);
  return v.slice(2, v.lastIndexOf('.'));
}

/** The signed cookie value express-session (cookie-signature) writes for `sid` and `secret`. */
function signedValue(sid, secret) {
  const mac = crypto.createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
  return encodeURIComponent(`s:${sid}.${mac}`);
}

/** Resolves once `cond()` (sync or async) is truthy; polls every `interval` ms, fails after `timeout`. */
async function waitFor(cond, { timeout = 5000, interval = 10, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Resolves once the wall clock has reached `ms` (a deadline a server reported). */
function until(ms) {
  return new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));
}

/** Resolves once the wall clock has entered the next second (HTTP dates have 1 s resolution). */
function nextSecond() {
  return until(Math.floor(Date.now() / 1000) * 1000 + 1000 + 5);
}

const servers = new Set();

/** Listens on 127.0.0.1 and a free port; resolves the port. closeServers() closes them all. */
function listen(app) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(app);
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      servers.add(server);
      resolve(server.address().port);
    });
  });
}

async function closeServers() {
  await Promise.all(
    [...servers].map(
      (s) =>
        new Promise((resolve) => {
          s.closeAllConnections?.();
          s.close(() => resolve());
        }),
    ),
  );
  servers.clear();
}

module.exports = {
  awaitOutput,
  closeServers,
  freePort,
  listen,
  newKey,
  nextSecond,
  pair,
  parseSetCookie,
  peek,
  request,
  sessiondBinary,
  sessiondCall,
  signedValue,
  sidOf,
  startRedis,
  startSessiond,
  stopAll,
  stopProcess,
  track,
  until,
  waitFor,
};
