// SessiondStore against a real sessiond (SESSIOND=path to the binary; default: the debug
// build), with express + express-session: the Store calls, concurrent requests of one session
// changing different keys (both kept), log out everywhere, and sessiond going away (an error,
// never "no session"; disconnect/connect events).
'use strict';

const assert = require('node:assert/strict');
const { after, before, test } = require('node:test');
const express = require('express');
const session = require('express-session');

const { SessiondStore } = require('..');
const { closeServers, listen, pair, request, startSessiond, stopAll } = require('./support');

let sessiond;
let store;
before(async () => {
  sessiond = await startSessiond();
  store = new SessiondStore({ url: sessiond.url, apiKey: sessiond.key, timeout: 1000, retries: 1 });
});
after(async () => {
  store?.close();
  await closeServers();
  await stopAll();
});

function app(s) {
  const a = express();
  a.use(express.json());
  // express-session's default genid (32 characters): sessiond takes it as it is.
  a.use(session({ store: s, secret: 'test secret', resave: false, saveUninitialized: false }));
  a.post('/login', (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = req.body.user;
      s.bindUser(req.sessionID, req.body.user)
        .catch(() => {}) // a new session is stored at the end of the request; bound below
        .finally(() => res.json({ ok: true }));
    });
  });
  a.post('/set/:key', (req, res) => {
    // Slow enough that concurrent requests overlap between their load and their save.
    setTimeout(() => {
      req.session[req.params.key] = req.body.value;
      res.json({ ok: true });
    }, 50);
  });
  a.get('/session', (req, res) => res.json({ data: req.session }));
  a.use((err, req, res, next) => res.status(500).json({ error: err.message }));
  return a;
}

test('the Store calls: set creates, get, set sends a diff, touch, destroy', async () => {
  const sid = store.genid();
  assert.equal(sid.length, 43);
  assert.equal(await store.get(sid), null, 'unknown: null');
  await store.set(sid, { cookie: { originalMaxAge: null }, n: 1 });
  assert.deepEqual(await store.get(sid), { cookie: { originalMaxAge: null }, n: 1 });
  await store.touch(sid, {});
  await store.destroy(sid);
  assert.equal(await store.get(sid), null, 'destroyed: null');
  await new Promise((resolve, reject) => store.get(sid, (err, v) => (err ? reject(err) : resolve(assert.equal(v, null)))));
});

test('concurrent requests of one session that change different keys both keep their change', async () => {
  const port = await listen(app(store));
  const login = await request(port, 'POST', '/login', { body: { user: 'alice' } });
  assert.equal(login.status, 200);
  const cookie = pair(login.cookie('connect.sid'));
  const keys = Array.from({ length: 16 }, (_, i) => `k${i}`);
  const results = await Promise.all(keys.map((k, i) => request(port, 'POST', `/set/${k}`, { cookie, body: { value: i } })));
  for (const r of results) assert.equal(r.status, 200, r.text);
  const after = await request(port, 'GET', '/session', { cookie });
  for (const [i, k] of keys.entries()) assert.equal(after.json.data[k], i, `key ${k} kept: ${after.text}`);
  assert.equal(after.json.data.user, 'alice');
});

test('log out everywhere: destroyUser ends every session of the user but the one kept', async () => {
  const sids = [store.genid(), store.genid(), store.genid()];
  for (const sid of sids) {
    await store.set(sid, { cookie: {}, user: 'bob' });
    await store.bindUser(sid, 'bob');
  }
  assert.equal(await store.destroyUser('bob', sids[0]), 2);
  assert.notEqual(await store.get(sids[0]), null);
  assert.equal(await store.get(sids[1]), null);
  assert.equal(await store.get(sids[2]), null);
});

test('sessiond gone: an error, never "no session"; disconnect, then connect when it is back', async () => {
  const own = await startSessiond();
  const s = new SessiondStore({ url: own.url, apiKey: own.key, timeout: 500, retries: 1 });
  const sid = s.genid();
  await s.set(sid, { cookie: {}, n: 1 });
  const events = [];
  s.on('disconnect', () => events.push('disconnect'));
  s.on('connect', () => events.push('connect'));
  await own.stop();
  await assert.rejects(s.get(sid), /sessiond/, 'an error, not null');
  assert.deepEqual(events, ['disconnect']);
  // Same port and key; memory store: the session is gone.
  const again = await startSessiond({ key: own.key, port: own.port });
  assert.equal(await s.get(sid), null);
  assert.deepEqual(events, ['disconnect', 'connect']);
  s.close();
  await again.stop();
});

test('CSRF tokens through the store: each different, all valid, none for another session or after logout', async () => {
  const a = store.genid();
  const b = store.genid();
  await store.set(a, { cookie: { originalMaxAge: null } });
  await store.set(b, { cookie: { originalMaxAge: null } });
  const t1 = await store.csrfToken(a);
  const t2 = await store.csrfToken(a);
  assert.notEqual(t1, t2, 'masked afresh');
  assert.equal(await store.verifyCsrf(a, t1), true);
  assert.equal(await store.verifyCsrf(a, t2), true, 'an earlier page keeps working');
  assert.equal(await store.verifyCsrf(b, t1), false, "another session's token");
  assert.equal(await store.verifyCsrf(a, t1.slice(0, -2) + (t1.endsWith('AA') ? 'BB' : 'AA')), false);
  assert.equal(await store.verifyCsrf(a, undefined), false);
  assert.deepEqual(Object.keys(await store.get(a)), ['cookie'], 'the secret is not in the data');
  await store.destroy(a);
  assert.equal(await store.verifyCsrf(a, t1), false, 'ended with the session');
  await assert.rejects(store.csrfToken(a), (e) => e.status === 404);
  const increments = await Promise.all(Array.from({ length: 16 }, () => store.increment(b, 'n')));
  assert.deepEqual(
    increments.sort((x, y) => x - y),
    Array.from({ length: 16 }, (_, i) => i + 1),
    'sixteen concurrent increments: every value once',
  );
});
