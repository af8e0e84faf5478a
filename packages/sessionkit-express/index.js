// sessionkit-express: an express-session Store backed by sessiond (docs/sessiond.md).
//
//   const session = require('express-session');
//   const { SessiondStore } = require('sessionkit-express');
//   const store = new SessiondStore({ url: 'http://127.0.0.1:7400', apiKey: process.env.SESSIOND_KEY });
//   app.use(session({ store, secret: ..., resave: false, saveUninitialized: false }));
//
// - IDs: express-session's own (uid-safe, 24 random bytes) are fine: sessiond takes any random
//   token of 22 to 128 base64url characters and stores only its SHA-256. `store.genid` makes
//   sessiond's own format (32 random bytes), for those who want it.
// - `set` sends a diff: the top-level keys that changed since `get` (PATCH set/erase), so two
//   concurrent requests of one session that change different keys both keep their change.
//   A session that `get` did not load (a new one) is created with PUT, which never overwrites.
// - `touch` moves the idle deadline only; it never writes data. After a `get` of the same
//   session it sends nothing: sessiond's read already slid the deadline (at most once per its
//   --touch-interval), so a read request costs one call and one store command
//   (`touchAfterRead: true` sends it anyway).
// - `csrfToken(sid)` / `verifyCsrf(sid, token)`: sessiond's synchronizer CSRF tokens (a new
//   masking each call, all valid while the session lives; verified in constant time).
// - `increment(sid, field, by)`: an atomic counter (sessiond's POST …/increment): 64 concurrent
//   requests add 64, where `req.session.n += 1` read-modify-writes and loses most of them.
// - Errors: a 503 or a network failure is an error passed to the callback (express-session then
//   answers 500 through `next(err)`), never "no session". The store emits `disconnect` when
//   sessiond stops answering (express-session then stops calling it: `req.session` is unset)
//   and probes sessiond's /readyz every `reconnectInterval` ms until it answers, then emits
//   `connect`.
// - Retries: only idempotent calls (get, touch, destroy, length, clear) are retried, on network
//   errors and 503.
// - `length` and `clear` use sessiond's GET /v1/stats and DELETE /v1/sessions (the latter only
//   when sessiond runs with --allow-clear). `ids` and `all` fail with code ERR_UNSUPPORTED:
//   sessiond never stores session IDs (only their SHA-256 digests), so there are none to list.
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const https = require('node:https');
const session = require('express-session');

const { Store } = session;

class SessiondError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'SessiondError';
    this.status = status;
  }
}

function unsupported(method) {
  const e = new Error(
    `sessionkit-express: ${method}() is not supported: sessiond stores only SHA-256 digests of session IDs, never the IDs, so it cannot list them`,
  );
  e.code = 'ERR_UNSUPPORTED';
  return e;
}

function sessionPath(sid) {
  return `/v1/sessions/${encodeURIComponent(sid)}`;
}

function sameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

class SessiondStore extends Store {
  /**
   * @param {object} options
   * @param {string} [options.url] sessiond's base URL (default http://127.0.0.1:7400)
   * @param {string} options.apiKey the API key (Authorization: Bearer)
   * @param {number} [options.timeout] per request, ms (default 2000)
   * @param {number} [options.retries] extra attempts of idempotent calls (default 2)
   * @param {number} [options.reconnectInterval] ms between /readyz probes while disconnected (default 1000)
   * @param {boolean} [options.touchAfterRead] send express-session's touch even after a `get`
   *   of the session (default false: sessiond's read already slid the deadline)
   */
  constructor(options = {}) {
    super();
    const url = new URL(options.url ?? 'http://127.0.0.1:7400');
    this.base = url;
    this.apiKey = options.apiKey ?? '';
    this.timeout = options.timeout ?? 2000;
    this.retries = options.retries ?? 2;
    const Agent = url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
    this.transport = url.protocol === 'https:' ? https : http;
    this.snapshots = new WeakMap(); // Session object -> the data `get` answered
    this.connected = true;
    this.reconnectInterval = options.reconnectInterval ?? 1000;
    this.touchAfterRead = options.touchAfterRead ?? false;
    this.probe = null; // the /readyz timer while disconnected
    this.genid = () => crypto.randomBytes(32).toString('base64url');
  }

  /** One HTTP call; resolves { status, body } or rejects on a network error or timeout. */
  call(method, path, body) {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers = { authorization: `Bearer ${this.apiKey}` };
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(payload);
      }
      const req = this.transport.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          method,
          path,
          headers,
          agent: this.agent,
          timeout: this.timeout,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            let parsed = null;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              parsed = null;
            }
            resolve({ status: res.statusCode, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new SessiondError(`sessiond: ${method} timed out`, 0)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** `call` with retries when idempotent, connect/disconnect events, errors as SessiondError. */
  async request(method, path, body, { idempotent }) {
    let attempt = 0;
    for (;;) {
      try {
        const r = await this.call(method, path, body);
        if (r.status === 503) throw new SessiondError('sessiond: the session store cannot answer', 503);
        this.markConnected(true);
        return r;
      } catch (e) {
        const unavailable = !(e instanceof SessiondError) || e.status === 503 || e.status === 0;
        if (unavailable) this.markConnected(false);
        if (!idempotent || !unavailable || attempt >= this.retries) {
          throw e instanceof SessiondError ? e : new SessiondError(`sessiond: ${e.message}`, 0);
        }
        attempt += 1;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  }

  markConnected(up) {
    if (up === this.connected) return;
    this.connected = up;
    if (up) {
      clearInterval(this.probe);
      this.probe = null;
    } else if (this.probe === null) {
      // express-session makes no store call while disconnected: find out ourselves.
      this.probe = setInterval(() => {
        this.call('GET', '/readyz').then(
          (r) => {
            if (r.status === 200) this.markConnected(true);
          },
          () => {},
        );
      }, this.reconnectInterval);
      this.probe.unref();
    }
    this.emit(up ? 'connect' : 'disconnect');
  }

  static expect(r, ok, what) {
    if (ok.includes(r.status)) return;
    const message = r.body && typeof r.body.error === 'string' ? r.body.error : `HTTP ${r.status}`;
    throw new SessiondError(`sessiond ${what}: ${message}`, r.status);
  }

  // ---- the express-session Store interface (callbacks, and promises when no callback) ----

  get(sid, cb) {
    return this.settle(cb, async () => {
      const r = await this.request('GET', sessionPath(sid), undefined, { idempotent: true });
      if (r.status === 404) return null;
      SessiondStore.expect(r, [200], 'get');
      return r.body.data;
    });
  }

  createSession(req, data) {
    const s = super.createSession(req, data);
    this.snapshots.set(s, JSON.parse(JSON.stringify(data)));
    return s;
  }

  set(sid, sess, cb) {
    return this.settle(cb, async () => {
      const data = JSON.parse(JSON.stringify(sess)); // what express-session would store
      const before = this.snapshots.get(sess);
      if (before) {
        const set = {};
        const erase = [];
        for (const [k, v] of Object.entries(data)) if (!sameJson(before[k], v)) set[k] = v;
        for (const k of Object.keys(before)) if (!(k in data)) erase.push(k);
        if (Object.keys(set).length === 0 && erase.length === 0) {
          await this.touch(sid, sess);
          return;
        }
        const r = await this.request('PATCH', sessionPath(sid), { set, erase }, { idempotent: false });
        if (r.status !== 404) {
          SessiondStore.expect(r, [200], 'set');
          this.snapshots.set(sess, data);
          return;
        }
        // It ended meanwhile (expired, revoked): create it again only as a new session would be.
      }
      const r = await this.request('PUT', sessionPath(sid), { data }, { idempotent: false });
      if (r.status === 409) {
        // Created by a concurrent request of the same new session: apply ours as a patch.
        const p = await this.request('PATCH', sessionPath(sid), { set: data }, { idempotent: false });
        SessiondStore.expect(p, [200], 'set');
      } else {
        SessiondStore.expect(r, [201], 'set');
      }
      this.snapshots.set(sess, data);
    });
  }

  touch(sid, sess, cb) {
    return this.settle(cb, async () => {
      if (!this.touchAfterRead && sess && typeof sess === 'object' && this.snapshots.has(sess)) {
        return; // the get of this request slid sessiond's deadline already
      }
      const r = await this.request('POST', `${sessionPath(sid)}/touch`, undefined, { idempotent: true });
      SessiondStore.expect(r, [204, 404], 'touch');
    });
  }

  destroy(sid, cb) {
    return this.settle(cb, async () => {
      const r = await this.request('DELETE', sessionPath(sid), undefined, { idempotent: true });
      SessiondStore.expect(r, [200], 'destroy');
    });
  }

  /** Adds `by` (default 1) to the integer at `field` atomically; resolves the new value. */
  increment(sid, field, by = 1, cb) {
    if (typeof by === 'function') {
      cb = by;
      by = 1;
    }
    return this.settle(cb, async () => {
      const r = await this.request('POST', `${sessionPath(sid)}/increment`, { field, by }, { idempotent: false });
      SessiondStore.expect(r, [200], 'increment');
      return r.body.value;
    });
  }

  /** A CSRF token for the stored session `sid` (put it in forms; check it with verifyCsrf). */
  csrfToken(sid, cb) {
    return this.settle(cb, async () => {
      const r = await this.request('POST', `${sessionPath(sid)}/csrf`, undefined, { idempotent: true });
      SessiondStore.expect(r, [200], 'csrfToken');
      return r.body.token;
    });
  }

  /** Whether `token` is a CSRF token of the session `sid`; false for a missing or malformed one. */
  verifyCsrf(sid, token, cb) {
    return this.settle(cb, async () => {
      if (typeof token !== 'string' || token === '') return false;
      const r = await this.request('POST', `${sessionPath(sid)}/csrf/verify`, { token }, { idempotent: true });
      if (r.status === 404) return false;
      SessiondStore.expect(r, [200], 'verifyCsrf');
      return r.body.valid === true;
    });
  }

  /** Ends every session of `user` but `keepSid` ("log out everywhere"); resolves the count. */
  destroyUser(user, keepSid, cb) {
    return this.settle(cb, async () => {
      const keep = keepSid ? `?keep=${encodeURIComponent(keepSid)}` : '';
      const r = await this.request('DELETE', `/v1/users/${encodeURIComponent(user)}/sessions${keep}`, undefined, {
        idempotent: true,
      });
      SessiondStore.expect(r, [200], 'destroyUser');
      return r.body.revoked;
    });
  }

  /** Binds the session to `user` (sessiond's per-user index: destroyUser finds it). */
  bindUser(sid, user, cb) {
    return this.settle(cb, async () => {
      const r = await this.request('PATCH', sessionPath(sid), { user }, { idempotent: true });
      SessiondStore.expect(r, [200], 'bindUser');
    });
  }

  /**
   * How many sessions sessiond's store holds (GET /v1/stats): its count of records, which on
   * memory, SQLite and PostgreSQL may include expired sessions not purged yet.
   */
  length(cb) {
    return this.settle(cb, async () => {
      const r = await this.request('GET', '/v1/stats', undefined, { idempotent: true });
      SessiondStore.expect(r, [200], 'length');
      return r.body.sessions;
    });
  }

  /**
   * Ends every session in sessiond's store (DELETE /v1/sessions); resolves how many ended.
   * sessiond refuses (403) unless it was started with --allow-clear.
   */
  clear(cb) {
    return this.settle(cb, async () => {
      const r = await this.request('DELETE', '/v1/sessions', undefined, { idempotent: true });
      if (r.status === 403) {
        const why = r.body && typeof r.body.error === 'string' ? `: ${r.body.error}` : '';
        throw new SessiondError(`sessiond refuses clear without --allow-clear (HTTP 403${why})`, 403);
      }
      SessiondStore.expect(r, [200], 'clear');
      return r.body.cleared;
    });
  }

  /** Unsupported: sessiond keeps only SHA-256 digests of IDs, so it cannot list them. */
  ids(cb) {
    return this.settle(cb, async () => {
      throw unsupported('ids');
    });
  }

  /** Unsupported: sessiond keeps only SHA-256 digests of IDs, so it cannot list sessions by ID. */
  all(cb) {
    return this.settle(cb, async () => {
      throw unsupported('all');
    });
  }

  close() {
    clearInterval(this.probe);
    this.probe = null;
    this.agent.destroy();
  }

  settle(cb, fn) {
    const p = fn();
    if (typeof cb !== 'function') return p;
    p.then(
      (v) => cb(null, v),
      (e) => cb(e),
    );
    return undefined;
  }
}

module.exports = { SessiondStore, SessiondError };
