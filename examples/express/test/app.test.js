// The Express example (../app.js) as a user sees it, on sessiond over a real Redis: login
// regenerates the session ID, the visit counter counts, logout destroys, "log out everywhere"
// from one client signs the user's other clients out but keeps the caller, and with sessiond
// stopped the app answers 503 with a JSON error, never a signed-out page.
//
// Starts redis-server (free loopback port, no persistence), sessiond (SESSIOND=path, default the
// debug build) and `node app.js`; stops all three by pid.
'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const { after, before, describe, it } = require('node:test');

const {
  awaitOutput,
  pair,
  peek,
  request,
  sessiondCall,
  sidOf,
  startRedis,
  startSessiond,
  stopAll,
  stopProcess,
  track,
} = require('../../../packages/sessionkit-express/test/support');

let redis;
let sd;
let app; // { child, port }

async function startApp() {
  const child = track(
    spawn(process.execPath, ['app.js'], {
      cwd: path.resolve(__dirname, '..'),
      env: {
        ...process.env,
        NODE_ENV: 'test',
        PORT: '0',
        SESSIOND_URL: sd.url,
        SESSIOND_KEY: sd.key,
        SESSION_SECRET: crypto.randomBytes(32).toString('base64'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const m = await awaitOutput(child, /listening on http:\/\/127\.0\.0\.1:(\d+)/, 'the app');
  const port = Number(m[1]);
  return { child, port };
}

before(async () => {
  redis = await startRedis();
  sd = await startSessiond({ store: `redis://127.0.0.1:${redis.port}` });
  app = await startApp();
});

after(async () => {
  if (app) await stopProcess(app.child);
  await stopAll(); // sessiond, then redis-server (and anything left)
});

/** A browser, as far as cookies go: keeps connect.sid from every answer. */
class Client {
  constructor() {
    this.cookie = undefined; // the parsed Set-Cookie last received
  }

  get sid() {
    return this.cookie && sidOf(this.cookie);
  }

  async send(method, p, body) {
    const r = await request(app.port, method, p, { cookie: this.cookie && pair(this.cookie), body });
    const c = r.cookie('connect.sid');
    if (c) this.cookie = c;
    return r;
  }

  get(p) {
    return this.send('GET', p);
  }

  post(p, body) {
    return this.send('POST', p, body);
  }

  async login(user, password) {
    const r = await this.post('/login', { user, password });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { user });
    return r;
  }
}

const ALICE = ['alice', 'wonderland'];

describe('the Express example on sessiond over Redis', () => {
  it('refuses a wrong password and stores nothing', async () => {
    const c = new Client();
    const r = await c.post('/login', { user: 'alice', password: 'nope' });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { error: 'wrong user or password' });
    assert.equal(c.cookie, undefined, 'no session for a failed login');
  });

  it('login regenerates the session: a new ID, the old one ends', async () => {
    const c = new Client();
    const r0 = await c.get('/');
    assert.deepEqual(r0.json, { user: null, views: 1 });
    const before = c.cookie;
    assert.ok(await peek(sd, sidOf(before)), 'the anonymous session is in sessiond');
    await c.login(...ALICE);
    assert.notEqual(c.sid, sidOf(before), 'a new session ID at login');
    assert.equal(await peek(sd, sidOf(before)), null, 'the pre-login session is gone');
    const rec = await peek(sd, c.sid);
    assert.equal(rec.user, 'alice', "bound in sessiond's per-user index");
    assert.equal(rec.data.user, 'alice');
    // The pre-login cookie is worth nothing now.
    const stale = await request(app.port, 'GET', '/', { cookie: pair(before) });
    assert.deepEqual(stale.json, { user: null, views: 1 });
  });

  it('the visit counter counts', async () => {
    const c = new Client();
    await c.login(...ALICE);
    for (let n = 1; n <= 3; n++) {
      const r = await c.get('/');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { user: 'alice', views: n });
    }
    assert.equal((await peek(sd, c.sid)).data.views, 3);
  });

  it('logout destroys the session: the old cookie no longer works', async () => {
    const c = new Client();
    await c.login(...ALICE);
    await c.get('/');
    const old = c.cookie;
    const r = await c.post('/logout');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { ok: true });
    assert.equal(await peek(sd, sidOf(old)), null, 'gone from sessiond');
    const again = await request(app.port, 'GET', '/', { cookie: pair(old) });
    assert.deepEqual(again.json, { user: null, views: 1 }, 'signed out, a fresh session');
    assert.notEqual(sidOf(again.cookie('connect.sid')), sidOf(old));
  });

  it('log out everywhere from one client signs the other out and keeps the caller', async () => {
    const a = new Client();
    const b = new Client();
    await a.login(...ALICE);
    await b.login(...ALICE);
    const bob = new Client();
    await bob.login('bob', 'builder');
    assert.deepEqual((await b.get('/')).json, { user: 'alice', views: 1 });
    // alice's sessions in sessiond: b's, a's, and those the cases above left signed in.
    const listed = await sessiondCall(sd, 'GET', '/v1/users/alice/sessions');
    assert.equal(listed.status, 200);
    const others = listed.body.sessions.length - 1;
    assert.ok(others >= 1);
    const r = await a.post('/logout-everywhere');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { ended: others });
    assert.equal((await sessiondCall(sd, 'GET', '/v1/users/alice/sessions')).body.sessions.length, 1);
    const rb = await b.get('/');
    assert.equal(rb.json.user, null, 'the other client is signed out');
    const ra = await a.get('/');
    assert.deepEqual(ra.json, { user: 'alice', views: 1 }, 'the caller stays signed in');
    assert.equal((await bob.get('/')).json.user, 'bob', "another user's session is untouched");
  });

  it('log out everywhere needs a signed-in session', async () => {
    const r = await new Client().post('/logout-everywhere');
    assert.equal(r.status, 401);
  });

  it('sessiond stopped: 503 with a JSON error, never a signed-out page', async () => {
    const c = new Client();
    await c.login(...ALICE);
    assert.equal((await c.get('/')).json.user, 'alice');
    await sd.stop();
    for (const [method, p] of [
      ['GET', '/'],
      ['GET', '/'], // express-session now holds the disconnected store: still no "signed out"
      ['POST', '/logout-everywhere'],
      ['POST', '/logout'],
    ]) {
      const r = await c.send(method, p);
      assert.equal(r.status, 503, `${method} ${p}: ${r.status} ${r.text}`);
      assert.equal(typeof r.json?.error, 'string', `${method} ${p}: a JSON error: ${r.text}`);
      assert.equal(r.json.user, undefined);
      assert.equal(r.headers['set-cookie'], undefined, 'no new session cookie');
    }
    const login = await new Client().post('/login', { user: 'alice', password: 'wonderland' });
    assert.equal(login.status, 503, `login: ${login.status} ${login.text}`);
  });
});
