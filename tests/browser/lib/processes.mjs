// Child processes and local servers the browser tests start: the real sessionkit-demo and
// sessionctl console, a private redis-server, a TLS-terminating proxy in front of the demo, and
// an "attacker" page on another origin. Everything listens on 127.0.0.1 only, every wait has a
// timeout, and every process is stopped by its pid.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const children = new Set();
// Last resort: never leave a demo running if the test process ends early.
process.on('exit', () => {
  for (const child of children) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
  }
});

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A fresh 48-byte secret (base64): long enough for production mode. */
export function newSecret() {
  return randomBytes(48).toString('base64');
}

/**
 * Starts `binary --listen 127.0.0.1:0 --store memory:// --threads 2 ...extraArgs` (no memory
 * store when extraArgs name a --store; a fresh --secret unless they name one) and waits for its
 * "listening on http://HOST:PORT" line. Returns { url, port, pid, stderr(), stop() }.
 */
export async function startDemo(binary, extraArgs = []) {
  if (!binary) throw new Error('SESSIONKIT_DEMO is not set: pass the sessionkit-demo binary to run.sh');
  const args = ['--listen', '127.0.0.1:0', '--threads', '2'];
  if (!extraArgs.includes('--store')) args.push('--store', 'memory://');
  args.push(...extraArgs);
  if (!extraArgs.includes('--secret')) args.push('--secret', newSecret());
  return startListening('sessionkit-demo', binary, args, {
    SESSION_LOG_LEVEL: process.env.SESSION_LOG_LEVEL ?? 'info',
  });
}

/** The argon2id hash `sessionctl hash-password` makes of `password`. */
export function hashPassword(sessionctl, password) {
  return execFileSync(sessionctl, ['hash-password'], { input: `${password}\n`, timeout: 30_000 })
    .toString()
    .trim();
}

/**
 * Starts `sessionctl --store STORE console --listen 127.0.0.1:0 --admin-password-hash HASH
 * [--scrape URL]... [--scrape-interval S] ...extraArgs` and waits for "listening on".
 */
export async function startConsole(sessionctl, { store, passwordHash, scrape = [], interval, extraArgs = [] }) {
  if (!sessionctl) throw new Error('SESSIONCTL is not set: run.sh passes the sessionctl binary (SESSIONCTL=...)');
  const args = ['--store', store, 'console', '--listen', '127.0.0.1:0', '--admin-password-hash', passwordHash];
  for (const url of scrape) args.push('--scrape', url);
  if (interval) args.push('--scrape-interval', String(interval));
  args.push(...extraArgs);
  return startListening('sessionctl console', sessionctl, args, {});
}

/**
 * Spawns `binary args` and waits (`timeoutMs` at most) until `ready(stdout so far)` answers
 * something other than undefined; `waitingFor` says what for, in the error messages. Returns
 * { child, value (ready's answer), stderr(), stop() }; stop() sends SIGTERM, then SIGKILL.
 */
async function startChild({ name, binary, args, env = {}, ready, waitingFor, timeoutMs, hint = '' }) {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    err += d;
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => children.delete(child));

  const value = await withTimeout(
    new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const v = ready(out);
        if (v !== undefined) resolve(v);
      });
      child.on('error', (e) => reject(new Error(`cannot start ${binary}${hint}: ${e.message}`)));
      exited.then(({ code, signal }) =>
        reject(new Error(`${name} exited (code ${code}, signal ${signal}) before ${waitingFor}:\n${err}${out}`)),
      );
    }),
    timeoutMs,
    `${name}: ${binary} ${args.join(' ')} did not print ${waitingFor}`,
  );
  child.stdout.resume();

  return {
    child,
    value,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      try {
        return await withTimeout(exited, 10_000, `${name} (pid ${child.pid}) SIGTERM`);
      } catch {
        child.kill('SIGKILL');
        return withTimeout(exited, 5_000, `${name} (pid ${child.pid}) SIGKILL`);
      }
    },
  };
}

/**
 * Spawns `binary args`, waits (30 s at most) for "listening on http://HOST:PORT" on stdout.
 * Returns { name, url, port, pid, stderr(), stop() }.
 */
async function startListening(name, binary, args, env) {
  const started = await startChild({
    name,
    binary,
    args,
    env,
    ready: (out) => {
      const m = /listening on http:\/\/(\S+):(\d+)\s*\n/.exec(out);
      return m ? Number(m[2]) : undefined;
    },
    waitingFor: '"listening on http://HOST:PORT"',
    timeoutMs: 30_000,
  });
  return {
    name,
    port: started.value,
    url: `http://127.0.0.1:${started.value}`,
    pid: started.child.pid,
    stderr: started.stderr,
    stop: started.stop,
  };
}

function listen(server) {
  return withTimeout(
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server.address().port));
    }),
    10_000,
    'listen on 127.0.0.1:0',
  );
}

function closeServer(server) {
  server.closeAllConnections?.();
  return withTimeout(new Promise((resolve) => server.close(() => resolve())), 5_000, 'close server').catch(
    () => {},
  );
}

/**
 * A TLS-terminating reverse proxy on https://127.0.0.1:PORT in front of `upstreamPort`, with a
 * self-signed certificate made by `openssl req` now. Adds X-Forwarded-For (the client's
 * address) and X-Forwarded-Proto: https; keeps Host as the browser sent it.
 */
export async function startTlsProxy(upstreamPort) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sessionkit-browser-tls-'));
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
    );
  } catch (e) {
    throw new Error(`openssl req failed (is openssl installed?): ${e.stderr ?? e.message}`);
  }
  const key = fs.readFileSync(keyPath);
  const cert = fs.readFileSync(certPath);
  fs.rmSync(dir, { recursive: true, force: true });

  const agent = new http.Agent({ keepAlive: false });
  const server = https.createServer({ key, cert }, (req, res) => {
    const headers = { ...req.headers };
    delete headers.connection;
    delete headers['keep-alive'];
    const prior = headers['x-forwarded-for'];
    headers['x-forwarded-for'] = (prior ? `${prior}, ` : '') + req.socket.remoteAddress;
    headers['x-forwarded-proto'] = 'https';
    const upstream = http.request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers, agent, timeout: 15_000 },
      (up) => {
        res.writeHead(up.statusCode, up.statusMessage, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`tls proxy: ${e.message}\n`);
    });
    req.pipe(upstream);
  });
  const port = await listen(server);
  return { port, url: `https://127.0.0.1:${port}`, stop: () => closeServer(server) };
}

function htmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A page on another origin (same host, another port) with forms that POST to the demo:
 * `/?target=http://127.0.0.1:PORT&token=LEAKED` serves
 *   form#increment → TARGET/increment (no token),
 *   form#logout    → TARGET/logout with the leaked token (as if the attacker had one).
 */
export async function startAttacker() {
  const server = http.createServer((req, res) => {
    const q = new URL(req.url, 'http://127.0.0.1').searchParams;
    const target = q.get('target') ?? '';
    const token = q.get('token') ?? '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Totally unrelated site</title>
<link rel="icon" href="data:,"></head><body>
<h1>You won a prize!</h1>
<form id="increment" method="post" action="${htmlEscape(target)}/increment">
<button type="submit">Claim (increment)</button></form>
<form id="logout" method="post" action="${htmlEscape(target)}/logout">
<input type="hidden" name="_csrf" value="${htmlEscape(token)}">
<button type="submit">Claim (logout, leaked token)</button></form>
</body></html>
`);
  });
  const port = await listen(server);
  return { port, url: `http://127.0.0.1:${port}`, stop: () => closeServer(server) };
}

/**
 * A private redis-server on a free 127.0.0.1 port (no persistence, its own temporary directory),
 * started now. Returns { name, port, url ("redis://127.0.0.1:PORT"), pid, cli(...args), stop() };
 * cli runs redis-cli against it and answers its output.
 */
export async function startRedis() {
  const probe = net.createServer();
  const port = await listen(probe);
  await closeServer(probe);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sessionkit-browser-redis-'));
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir];
  let started;
  try {
    started = await startChild({
      name: 'redis-server',
      binary: 'redis-server',
      args,
      ready: (out) => (out.includes('Ready to accept connections') ? true : undefined),
      waitingFor: '"Ready to accept connections"',
      timeoutMs: 15_000,
      hint: ' (scripts/install-deps.sh --test)',
    });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    name: 'redis-server',
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: started.child.pid,
    stderr: started.stderr,
    cli: (...cliArgs) =>
      execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...cliArgs], { timeout: 10_000 }).toString(),
    async stop() {
      await started.stop().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
