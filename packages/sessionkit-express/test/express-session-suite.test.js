// express-session's own test suite (test/session.js of express-session 1.18.2, the version this
// package pins), rewritten for SessiondStore: every case of theirs that takes or uses a store,
// run through a real express 5 app with `store: new SessiondStore(...)` against a real sessiond.
// Where the original checks a count through MemoryStore (length, all), these check the stored
// values through the store's get or sessiond's own API. Store failures are real: sessiond is
// stopped. Cases that cannot apply are listed, with reasons, in the package README.
'use strict';

process.env.NO_DEPRECATION = 'express-session'; // some cases rely on options left to default

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { after, before, describe, it } = require('node:test');
const express = require('express');
const session = require('express-session');

const { SessiondStore } = require('..');
const {
  closeServers,
  listen,
  nextSecond,
  pair,
  peek,
  request,
  sessiondCall,
  signedValue,
  sidOf,
  startSessiond,
  stopAll,
  until,
  waitFor,
} = require('./support');

const MIN = 60 * 1000;

let shared; // the sessiond of most cases (memory://)
const stores = [];

before(async () => {
  shared = await startSessiond();
});

after(async () => {
  for (const s of stores) s.close();
  await closeServers();
  await stopAll();
});

function newStore(sd = shared, options = {}) {
  const s = new SessiondStore({ url: sd.url, apiKey: sd.key, timeout: 2000, retries: 1, ...options });
  stores.push(s);
  return s;
}

/**
 * An express 5 app: [setup], session(options) with `store`, then `respond` (default: an empty
 * 200). options default as in express-session's own suite: cookie { maxAge: 1 min }, secret
 * 'keyboard cat'. An error passed to next(err) before the response started answers 500 with its
 * message; every error is kept in `errors` (those after the response started only there), and
 * `nextError()` resolves the first (or fails after 5 s).
 */
async function createServer(store, options = {}, respond, setup) {
  const opts = { ...options };
  if (!('cookie' in opts)) opts.cookie = { maxAge: MIN };
  if (!('secret' in opts)) opts.secret = 'keyboard cat';
  const app = express();
  const errors = [];
  if (setup) app.use(setup);
  app.use(session({ store, ...opts }));
  app.use(respond ?? ((req, res) => res.end()));
  app.use((err, req, res, next) => {
    errors.push(err);
    if (res.headersSent) return;
    res.statusCode = err.status >= 400 && err.status < 600 ? err.status : 500;
    res.end(err.message);
  });
  const port = await listen(app);
  return {
    port,
    errors,
    nextError: () => waitFor(() => errors[0], { timeout: 5000, what: 'an error passed to next(err)' }),
    get: (p, o) => request(port, 'GET', p, o),
    put: (p, o) => request(port, 'PUT', p, o),
  };
}

/** Counts calls of a store method; `around(original, args)` may replace the call. */
function spy(store, method, around) {
  const original = store[method];
  const calls = [];
  store[method] = function (...args) {
    calls.push(args);
    return around ? around(original.bind(this), args) : original.apply(this, args);
  };
  return calls;
}

function sidCookie(r, name = 'connect.sid') {
  const c = r.cookie(name);
  assert.ok(c, `a Set-Cookie for ${name}: ${JSON.stringify(r.headers['set-cookie'])}`);
  return c;
}

function noSetCookie(r) {
  assert.equal(r.headers['set-cookie'], undefined, 'no Set-Cookie');
}

/** A per-request counter as in their suite: `req.session.num = req.session.num || ++count`. */
function numbering() {
  let count = 0;
  return (req, res) => {
    req.session.num = req.session.num || ++count;
    res.end(`session ${req.session.num}`);
  };
}

describe('session()', () => {
  it('creates a new session and stores it in sessiond', async () => {
    const store = newStore();
    const srv = await createServer(store, {}, (req, res) => {
      req.session.active = true;
      res.end('session active');
    });
    const r = await srv.get('/');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'session active');
    const stored = await store.get(sidOf(sidCookie(r)));
    assert.equal(stored.active, true);
    assert.equal(stored.cookie.originalMaxAge, MIN);
  });

  it('loads the session from the cookie sid', async () => {
    const srv = await createServer(newStore(), {}, numbering());
    const r1 = await srv.get('/');
    assert.equal(r1.text, 'session 1');
    const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
    assert.equal(r2.status, 200);
    assert.equal(r2.text, 'session 1');
  });

  it('passes a session fetch error (sessiond stopped) to next(err), never a new session', async () => {
    const sd = await startSessiond();
    const store = newStore(sd);
    const srv = await createServer(store, {}, (req, res) => res.end('hello, world'));
    const r1 = await srv.get('/');
    assert.equal(r1.text, 'hello, world');
    const c = sidCookie(r1);
    await sd.stop();
    const r2 = await srv.get('/', { cookie: pair(c) });
    assert.equal(r2.status, 500);
    assert.match(r2.text, /^sessiond: /);
    noSetCookie(r2);
    assert.equal(srv.errors.length, 1);
  });

  it('creates multiple sessions', async () => {
    const store = newStore();
    let count = 0;
    const srv = await createServer(store, {}, (req, res) => {
      const isNew = req.session.num === undefined;
      req.session.num = req.session.num || ++count;
      res.end(`session ${isNew ? 'created' : 'updated'}`);
    });
    const [a, b] = await Promise.all([srv.get('/'), srv.get('/')]);
    assert.equal(a.text, 'session created');
    assert.equal(b.text, 'session created');
    const sa = sidOf(sidCookie(a));
    const sb = sidOf(sidCookie(b));
    assert.notEqual(sa, sb);
    const nums = [(await store.get(sa)).num, (await store.get(sb)).num].sort();
    assert.deepEqual(nums, [1, 2]);
  });

  it('handles reserved properties (save) in the stored data', async () => {
    const store = newStore();
    let count = 0;
    const srv = await createServer(store, {}, (req, res) => {
      req.session.num = req.session.num || ++count;
      res.end('session saved');
    });
    const r1 = await srv.get('/');
    const sid = sidOf(sidCookie(r1));
    const sess = await store.get(sid);
    sess.save = 'nope';
    await store.set(sid, sess);
    assert.equal((await store.get(sid)).save, 'nope', 'stored as data');
    // The end-of-request save calls req.session.save(): it must still be the method.
    const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
    assert.equal(r2.status, 200);
    assert.equal(r2.text, 'session saved');
  });

  it('has only the session data (and cookie) enumerable, after a load from sessiond too', async () => {
    const srv = await createServer(newStore(), {}, (req, res) => {
      if (req.query.set) {
        req.session.test1 = 1;
        req.session.test2 = 'b';
      }
      res.end(Object.keys(req.session).sort().join(','));
    });
    const r1 = await srv.get('/?set=1');
    assert.equal(r1.text, 'cookie,test1,test2');
    const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
    assert.equal(r2.text, 'cookie,test1,test2');
  });

  it('does not save with a bogus req.sessionID', async () => {
    const store = newStore();
    const made = [];
    const genid = () => {
      made.push(crypto.randomBytes(24).toString('base64url'));
      return made.at(-1);
    };
    const sets = spy(store, 'set');
    const srv = await createServer(store, { genid }, (req, res) => {
      req.sessionID = function () {};
      req.session.test1 = 1;
      req.session.test2 = 'b';
      res.end();
    });
    const r = await srv.get('/');
    assert.equal(r.status, 200);
    noSetCookie(r);
    assert.equal(sets.length, 0);
    assert.equal(made.length, 1);
    assert.equal(await store.get(made[0]), null, 'nothing stored under the generated ID');
  });

  it('updates the cookie expiration (rolling) when the response is written slowly', async () => {
    const store = newStore();
    const srv = await createServer(store, { rolling: true }, (req, res) => {
      req.session.user = 'bob';
      res.write('hello, ');
      setTimeout(() => res.end('world!'), 200);
    });
    const r1 = await srv.get('/');
    assert.equal(r1.text, 'hello, world!');
    const c1 = sidCookie(r1);
    await nextSecond();
    const r2 = await srv.get('/', { cookie: pair(c1) });
    const c2 = sidCookie(r2);
    assert.notEqual(c2.attrs.expires, c1.attrs.expires);
    const stored = await store.get(sidOf(c2));
    assert.equal(new Date(stored.cookie.expires).toUTCString(), c2.attrs.expires, 'the store has the new expiry');
  });

  describe('when the response ended', () => {
    // The store's set is delayed 200 ms: the response must not end before the session is saved.
    async function savedBeforeEnd(respond, expectBody) {
      const store = newStore();
      const sets = spy(store, 'set', (set, args) => setTimeout(() => set(...args), 200));
      const srv = await createServer(store, {}, respond);
      const r = await srv.get('/');
      assert.equal(r.status, 200);
      assert.equal(r.text, expectBody);
      assert.equal(sets.length, 1);
      const stored = await store.get(sidOf(sidCookie(r)));
      assert.ok(stored, 'saved by the time the response ended');
      assert.equal(stored.hit, true);
    }

    it('has saved the session', async () => {
      await savedBeforeEnd((req, res) => {
        req.session.hit = true;
        res.end('session saved');
      }, 'session saved');
    });

    it('has saved the session even with an empty response', async () => {
      await savedBeforeEnd((req, res) => {
        req.session.hit = true;
        res.setHeader('Content-Length', '0');
        res.end();
      }, '');
    });

    it('has saved the session even with a multi-write response', async () => {
      await savedBeforeEnd((req, res) => {
        req.session.hit = true;
        res.setHeader('Content-Length', '12');
        res.write('hello, ');
        res.end('world');
      }, 'hello, world');
    });

    it('has saved the session even with a non-chunked response', async () => {
      await savedBeforeEnd((req, res) => {
        req.session.hit = true;
        res.setHeader('Content-Length', '13');
        res.end('session saved');
      }, 'session saved');
    });

    it('has saved the session with its updated cookie expiration', async () => {
      const store = newStore();
      const srv = await createServer(store, { cookie: { maxAge: MIN } }, (req, res) => {
        req.session.user = 'bob';
        res.end(req.session.id);
      });
      const r1 = await srv.get('/');
      const id = r1.text;
      const s1 = await store.get(id);
      assert.ok(s1, 'saved to the store');
      assert.equal(new Date(s1.cookie.expires).toUTCString(), sidCookie(r1).attrs.expires);
      await nextSecond();
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.text, id);
      const s2 = await store.get(id);
      assert.ok(s2, 'still in the store');
      assert.notEqual(new Date(s2.cookie.expires).toUTCString(), new Date(s1.cookie.expires).toUTCString());
    });
  });

  describe('when the sid is not in the store', () => {
    it('creates a new session', async () => {
      const store = newStore();
      const srv = await createServer(store, {}, numbering());
      const r1 = await srv.get('/');
      assert.equal(r1.text, 'session 1');
      assert.equal((await store.get(sidOf(sidCookie(r1)))).num, 1);
      await store.destroy(sidOf(sidCookie(r1)));
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.status, 200);
      assert.equal(r2.text, 'session 2');
    });

    it('has a new sid', async () => {
      const store = newStore();
      const srv = await createServer(store, {}, numbering());
      const r1 = await srv.get('/');
      const old = sidOf(sidCookie(r1));
      assert.equal((await store.get(old)).num, 1);
      await store.destroy(old);
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.text, 'session 2');
      const fresh = sidOf(sidCookie(r2));
      assert.notEqual(fresh, old);
      assert.equal((await store.get(fresh)).num, 2);
      assert.equal(await store.get(old), null, 'the old sid is not brought back');
    });
  });

  describe('when the sid is not properly signed', () => {
    function activate(req, res) {
      const isNew = req.session.active === undefined;
      req.session.active = true;
      res.end(`session ${isNew ? 'created' : 'read'}`);
    }

    it('generates a new session', async () => {
      const store = newStore();
      const srv = await createServer(store, { name: 'sessid' }, activate);
      const r1 = await srv.get('/');
      assert.equal(r1.text, 'session created');
      const raw = sidOf(sidCookie(r1, 'sessid'));
      const r2 = await srv.get('/', { cookie: `sessid=${raw}` }); // unsigned
      assert.equal(r2.text, 'session created');
      assert.notEqual(sidOf(sidCookie(r2, 'sessid')), raw);
      assert.equal((await store.get(raw)).active, true, 'the signed session is untouched');
    });

    it('does not attempt a fetch from the store', async () => {
      const store = newStore();
      const srv = await createServer(store, { name: 'sessid' }, activate);
      const r1 = await srv.get('/');
      const gets = spy(store, 'get');
      const tampered = pair(sidCookie(r1, 'sessid')).replace(/...\./, '.');
      const r2 = await srv.get('/', { cookie: tampered });
      assert.equal(r2.text, 'session created');
      sidCookie(r2, 'sessid');
      assert.equal(gets.length, 0);
    });
  });

  // express-session's MemoryStore ends a session when its cookie expires (maxAge: 5 ms there);
  // sessiond ends it after its idle timeout (a server setting, here --idle-timeout 1), and the
  // store does not look at cookie.expires (see the README). So these wait for sessiond's deadline.
  describe('when the session expired in the store (sessiond --idle-timeout 1)', () => {
    let sd;
    before(async () => {
      sd = await startSessiond({ args: ['--idle-timeout', '1'] });
    });

    async function expiredSession() {
      const store = newStore(sd);
      const srv = await createServer(store, {}, numbering());
      const r1 = await srv.get('/');
      assert.equal(r1.text, 'session 1');
      const sid = sidOf(sidCookie(r1));
      assert.equal((await store.get(sid)).num, 1, 'stored');
      const rec = await peek(sd, sid);
      assert.ok(rec.expires_at_ms - Date.now() <= 1000, 'sessiond applies its idle timeout');
      await until(rec.expires_at_ms + 20);
      return { store, srv, r1, sid };
    }

    it('creates a new session', async () => {
      const { srv, r1 } = await expiredSession();
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.text, 'session 2');
      sidCookie(r2);
    });

    it('has a new sid', async () => {
      const { srv, r1, sid } = await expiredSession();
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.text, 'session 2');
      assert.notEqual(sidOf(sidCookie(r2)), sid);
    });

    it('does not exist in the store', async () => {
      const { store, sid } = await expiredSession();
      assert.equal(await store.get(sid), null);
      assert.equal(await peek(sd, sid), null);
    });
  });

  describe('when the stored session has no cookie property', () => {
    it('passes the error from inflating it to next(err)', async () => {
      const srv = await createServer(newStore(), {}, numbering());
      const r1 = await srv.get('/');
      const sid = sidOf(sidCookie(r1));
      const r = await sessiondCall(shared, 'PATCH', `/v1/sessions/${sid}`, { erase: ['cookie'] });
      assert.equal(r.status, 200);
      assert.equal((await peek(shared, sid)).data.cookie, undefined);
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.status, 500);
      assert.match(r2.text, /Cannot read prop/);
    });
  });

  describe('genid option', () => {
    it('provides a default generator whose IDs sessiond takes as they are', async () => {
      const store = newStore();
      const srv = await createServer(store);
      const r = await srv.get('/');
      const sid = sidOf(sidCookie(r));
      assert.match(sid, /^[A-Za-z0-9_-]{32}$/);
      assert.deepEqual(Object.keys(await store.get(sid)), ['cookie']);
    });

    it('allows a custom function', async () => {
      const store = newStore();
      const id = crypto.randomBytes(30).toString('base64url');
      const srv = await createServer(store, { genid: () => id });
      const r = await srv.get('/');
      assert.equal(sidCookie(r).value, signedValue(id, 'keyboard cat'));
      assert.ok(await store.get(id), 'stored under the custom ID');
    });

    it('passes sessiond refusing an unsafe ID ("%") to next(err)', async () => {
      const store = newStore();
      const srv = await createServer(store, { genid: () => '%' });
      const r = await srv.get('/');
      assert.equal(r.status, 200); // the response was under way when the save failed
      const err = await srv.nextError();
      assert.equal(err.status, 400);
      assert.match(err.message, /^sessiond set: .*base64url/);
    });

    it('provides the req argument', async () => {
      const store = newStore();
      const idFor = (url) => crypto.createHash('sha256').update(url).digest('base64url');
      const srv = await createServer(store, { genid: (req) => idFor(req.url) });
      const r = await srv.get('/foo');
      assert.equal(sidOf(sidCookie(r)), idFor('/foo'));
      assert.ok(await store.get(idFor('/foo')));
    });
  });

  describe('rolling option', () => {
    function bob(req, res) {
      req.session.user = 'bob';
      res.end();
    }

    it('defaults to false', async () => {
      const store = newStore();
      const srv = await createServer(store, {}, bob);
      const r1 = await srv.get('/');
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.status, 200);
      noSetCookie(r2);
      assert.equal((await store.get(sidOf(sidCookie(r1)))).user, 'bob');
    });

    it('forces the cookie on an unmodified session', async () => {
      const srv = await createServer(newStore(), { rolling: true }, bob);
      const r1 = await srv.get('/');
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(sidOf(sidCookie(r2)), sidOf(sidCookie(r1)), 'the same session, loaded');
    });

    it('does not force the cookie on an uninitialized session when saveUninitialized is false', async () => {
      const store = newStore();
      const sets = spy(store, 'set');
      const srv = await createServer(store, { rolling: true, saveUninitialized: false });
      const r = await srv.get('/');
      assert.equal(r.status, 200);
      noSetCookie(r);
      assert.equal(sets.length, 0);
    });

    it('forces the cookie and saves an uninitialized session when saveUninitialized is true', async () => {
      const store = newStore();
      const sets = spy(store, 'set');
      const srv = await createServer(store, { rolling: true, saveUninitialized: true });
      const r = await srv.get('/');
      assert.equal(sets.length, 1);
      assert.ok(await store.get(sidOf(sidCookie(r))));
    });

    it('forces the cookie and saves a modified session even when saveUninitialized is false', async () => {
      const store = newStore();
      const sets = spy(store, 'set');
      const srv = await createServer(store, { rolling: true, saveUninitialized: false }, bob);
      const r = await srv.get('/');
      assert.equal(sets.length, 1);
      assert.equal((await store.get(sidOf(sidCookie(r)))).user, 'bob');
    });
  });

  describe('resave option', () => {
    function bob(req, res) {
      req.session.user = 'bob';
      res.end();
    }

    // The second request's save of an unchanged session reaches sessiond as a touch (set sends
    // only what changed): its deadline slides.
    async function secondRequestSaves(options) {
      const store = newStore();
      const sets = spy(store, 'set');
      const srv = await createServer(store, options, bob);
      const r1 = await srv.get('/');
      assert.equal(sets.length, 1);
      const sid = sidOf(sidCookie(r1));
      const first = await peek(shared, sid);
      assert.equal(first.data.user, 'bob');
      await waitFor(() => Date.now() > first.last_access_ms + 5, { what: 'the clock to move' });
      await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(sets.length, 2);
      const now = await peek(shared, sid);
      assert.ok(now.expires_at_ms > first.expires_at_ms, "sessiond's deadline slid");
      assert.equal(now.data.user, 'bob');
    }

    it('defaults to true', async () => {
      await secondRequestSaves({});
    });

    it('when true, forces a save of an unmodified session', async () => {
      await secondRequestSaves({ resave: true });
    });

    it('when false, prevents the save of an unmodified session (and touches it)', async () => {
      const store = newStore(shared, { touchAfterRead: true });
      const sets = spy(store, 'set');
      const touches = spy(store, 'touch');
      const srv = await createServer(store, { resave: false }, bob);
      const r1 = await srv.get('/');
      const sid = sidOf(sidCookie(r1));
      const first = await peek(shared, sid);
      await waitFor(() => Date.now() > first.last_access_ms + 5, { what: 'the clock to move' });
      await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(sets.length, 1);
      assert.equal(touches.length, 1);
      assert.ok((await peek(shared, sid)).expires_at_ms > first.expires_at_ms, "sessiond's deadline slid");
    });

    it('when false, touches without a call after a read: one sessiond call per request (this store)', async () => {
      const sd = await startSessiond({ args: ['--touch-interval', '0'] }); // every read slides
      const store = newStore(sd);
      const calls = spy(store, 'call');
      const srv = await createServer(store, { resave: false }, bob);
      const r1 = await srv.get('/');
      const sid = sidOf(sidCookie(r1));
      const first = await peek(sd, sid);
      await waitFor(() => Date.now() > first.last_access_ms + 5, { what: 'the clock to move' });
      const before = calls.length;
      await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(calls.length - before, 1, 'the GET alone');
      assert.ok((await peek(sd, sid)).expires_at_ms > first.expires_at_ms, "the read slid sessiond's deadline");
      await sd.stop();
    });

    it('when false, still saves a modified session', async () => {
      const store = newStore();
      const sets = spy(store, 'set');
      const srv = await createServer(store, { resave: false }, (req, res) => {
        if (req.method === 'PUT') req.session.token = req.url.slice(1);
        res.end(`token=${req.session.token || ''}`);
      });
      const r1 = await srv.put('/w6RHhwaA');
      assert.equal(r1.text, 'token=w6RHhwaA');
      assert.equal(sets.length, 1);
      const c = pair(sidCookie(r1));
      const r2 = await srv.get('/', { cookie: c });
      assert.equal(r2.text, 'token=w6RHhwaA');
      assert.equal(sets.length, 1);
      const r3 = await srv.put('/zfQ3rzM3', { cookie: c });
      assert.equal(r3.text, 'token=zfQ3rzM3');
      assert.equal(sets.length, 2);
      assert.equal((await store.get(sidOf(sidCookie(r1)))).token, 'zfQ3rzM3');
    });

    it('when false, detects a "cookie" property (in the data) as modified', async () => {
      const store = newStore();
      const sets = spy(store, 'set');
      const srv = await createServer(store, { resave: false }, (req, res) => {
        req.session.user = req.session.user || {};
        req.session.user.name = 'bob';
        req.session.user.cookie = req.session.user.cookie || 0;
        req.session.user.cookie++;
        res.end();
      });
      const r1 = await srv.get('/');
      await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(sets.length, 2);
      assert.deepEqual((await store.get(sidOf(sidCookie(r1)))).user, { name: 'bob', cookie: 2 });
    });

    it('when false, passes a touch error (sessiond stopped) to next(err)', async () => {
      const sd = await startSessiond();
      const store = newStore(sd, { touchAfterRead: true });
      const srv = await createServer(store, { resave: false }, async (req, res) => {
        req.session.hit = true;
        if (req.query.stop) await sd.stop(); // after the load, before the end-of-request touch
        res.end('session saved');
      });
      const r1 = await srv.get('/');
      assert.equal(r1.text, 'session saved');
      const touches = spy(store, 'touch');
      const r2 = await srv.get('/?stop=1', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.text, 'session saved');
      const err = await srv.nextError();
      assert.match(err.message, /^sessiond: /);
      assert.equal(touches.length, 1);
    });
  });

  describe('saveUninitialized option', () => {
    it('defaults to true', async () => {
      const store = newStore();
      const sets = spy(store, 'set');
      const srv = await createServer(store);
      const r = await srv.get('/');
      assert.equal(sets.length, 1);
      assert.ok(await store.get(sidOf(sidCookie(r))));
    });

    it('forces the save of an uninitialized session', async () => {
      const store = newStore();
      const srv = await createServer(store, { saveUninitialized: true });
      const r = await srv.get('/');
      assert.deepEqual(Object.keys(await store.get(sidOf(sidCookie(r)))), ['cookie']);
    });

    it('prevents the save of an uninitialized session', async () => {
      const store = newStore();
      const sets = spy(store, 'set');
      const srv = await createServer(store, { saveUninitialized: false });
      const r = await srv.get('/');
      noSetCookie(r);
      assert.equal(sets.length, 0);
    });

    it('still saves a modified session', async () => {
      const store = newStore();
      const srv = await createServer(store, { saveUninitialized: false }, (req, res) => {
        req.session.count = (req.session.count || 0) + 1;
        res.end();
      });
      const r = await srv.get('/');
      assert.equal((await store.get(sidOf(sidCookie(r)))).count, 1);
    });

    it('passes a save error (sessiond stopped) to next(err)', async () => {
      const sd = await startSessiond();
      const store = newStore(sd);
      const srv = await createServer(store, { saveUninitialized: true }, (req, res) => res.end('session saved'));
      await sd.stop();
      const r = await srv.get('/');
      assert.equal(r.text, 'session saved');
      const err = await srv.nextError();
      assert.match(err.message, /^sessiond: /);
      assert.equal(err.status, 0);
    });

    it('prevents an uninitialized session from being touched', async () => {
      const store = newStore();
      const touches = spy(store, 'touch');
      const sets = spy(store, 'set');
      const srv = await createServer(store, { saveUninitialized: false, cookie: { maxAge: MIN } });
      const r = await srv.get('/');
      assert.equal(r.status, 200);
      assert.equal(touches.length, 0);
      assert.equal(sets.length, 0);
    });
  });

  describe('secret option', () => {
    function setOrGet(req, res) {
      if (!req.session.user) {
        req.session.user = 'bob';
        res.end('set');
      } else {
        res.end(`get:${JSON.stringify(req.session.user)}`);
      }
    }

    it('signs and unsigns with a string', async () => {
      const srv = await createServer(newStore(), { secret: 'awesome cat' }, setOrGet);
      const r1 = await srv.get('/');
      assert.equal(r1.text, 'set');
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.text, 'get:"bob"');
    });

    it('signs and unsigns with a Buffer', async () => {
      const srv = await createServer(newStore(), { secret: crypto.randomBytes(32) }, setOrGet);
      const r1 = await srv.get('/');
      assert.equal(r1.text, 'set');
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.text, 'get:"bob"');
    });

    function bob(req, res) {
      req.session.user = 'bob';
      res.end(req.session.user);
    }
    function show(req, res) {
      res.end(String(req.session.user));
    }

    it('when an array, signs cookies (with its first element)', async () => {
      const store = newStore();
      const srv = await createServer(store, { secret: ['keyboard cat', 'nyan cat'] }, bob);
      const r = await srv.get('/');
      assert.equal(r.text, 'bob');
      const sid = sidOf(sidCookie(r));
      assert.equal(sidCookie(r).value, signedValue(sid, 'keyboard cat'));
      assert.equal((await store.get(sid)).user, 'bob');
    });

    it('when an array, a cookie signed with the first element is refused by an app that lacks it', async () => {
      // Two apps, each with its own SessiondStore, on one sessiond.
      const store = newStore();
      const srv1 = await createServer(store, { secret: ['keyboard cat', 'nyan cat'] }, bob);
      const srv2 = await createServer(newStore(), { secret: 'nyan cat' }, show);
      const r1 = await srv1.get('/');
      const r2 = await srv2.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.text, 'undefined');
      assert.equal((await store.get(sidOf(sidCookie(r1)))).user, 'bob', 'the session itself is kept');
    });

    it('when an array, reads cookies using all its elements', async () => {
      const srv1 = await createServer(newStore(), { secret: 'nyan cat' }, bob);
      const srv2 = await createServer(newStore(), { secret: ['keyboard cat', 'nyan cat'] }, show);
      const r1 = await srv1.get('/');
      const r2 = await srv2.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.text, 'bob');
    });
  });

  describe('unset option', () => {
    function countThenUnset(req, res) {
      req.session.count = (req.session.count || 0) + 1;
      if (req.session.count === 2) req.session = null;
      res.end();
    }

    it('defaults to keep', async () => {
      const store = newStore();
      const srv = await createServer(store, {}, countThenUnset);
      const r1 = await srv.get('/');
      const sid = sidOf(sidCookie(r1));
      assert.equal((await store.get(sid)).count, 1);
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.status, 200);
      assert.equal((await store.get(sid)).count, 1, 'kept as it was');
    });

    it('allows destroy on req.session = null', async () => {
      const store = newStore();
      const srv = await createServer(store, { unset: 'destroy' }, countThenUnset);
      const r1 = await srv.get('/');
      const sid = sidOf(sidCookie(r1));
      assert.equal((await store.get(sid)).count, 1);
      await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(await store.get(sid), null);
    });

    it('does not set a cookie if the initial session is destroyed', async () => {
      const store = newStore();
      const sets = spy(store, 'set');
      const destroys = spy(store, 'destroy');
      const srv = await createServer(store, { unset: 'destroy' }, (req, res) => {
        req.session = null;
        res.end();
      });
      const r = await srv.get('/');
      assert.equal(r.status, 200);
      noSetCookie(r);
      assert.equal(sets.length, 0);
      assert.equal(destroys.length, 1);
      assert.equal(await store.get(destroys[0][0]), null);
    });

    it('passes a destroy error (sessiond stopped) to next(err)', async () => {
      const sd = await startSessiond();
      const store = newStore(sd);
      const srv = await createServer(store, { unset: 'destroy' }, (req, res) => {
        req.session = null;
        res.end('session destroyed');
      });
      await sd.stop();
      const r = await srv.get('/');
      assert.equal(r.text, 'session destroyed');
      const err = await srv.nextError();
      assert.match(err.message, /^sessiond: /);
    });
  });

  describe('req.session', () => {
    function hits(req, res) {
      req.session.count = (req.session.count || 0) + 1;
      res.end(`hits: ${req.session.count}`);
    }

    it('persists', async () => {
      const store = newStore();
      const srv = await createServer(store, {}, hits);
      const r1 = await srv.get('/');
      assert.equal(r1.text, 'hits: 1');
      const sid = sidOf(sidCookie(r1));
      const loaded = await new Promise((resolve, reject) =>
        store.load(sid, (err, sess) => (err ? reject(err) : resolve(sess))),
      );
      assert.equal(loaded.count, 1);
      assert.equal(typeof loaded.save, 'function', 'store.load answers a Session');
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.text, 'hits: 2');
      assert.equal((await store.get(sid)).count, 2);
    });

    it('sets the cookie only when modified', async () => {
      const store = newStore();
      let modify = true;
      const srv = await createServer(store, {}, (req, res) => {
        if (modify) req.session.count = (req.session.count || 0) + 1;
        res.end(String(req.session.count));
      });
      const r1 = await srv.get('/');
      assert.equal(r1.text, '1');
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.text, '2');
      const c = pair(sidCookie(r2));
      modify = false;
      const r3 = await srv.get('/', { cookie: c });
      assert.equal(r3.text, '2');
      noSetCookie(r3);
      modify = true;
      const r4 = await srv.get('/', { cookie: c });
      assert.equal(r4.text, '3');
      sidCookie(r4);
      assert.equal((await store.get(sidOf(sidCookie(r1)))).count, 3);
    });

    it('has no enumerable methods, after a load from sessiond too', async () => {
      const srv = await createServer(newStore(), {}, (req, res) => {
        if (req.query.set) {
          req.session.foo = 'foo';
          req.session.bar = 'bar';
        }
        const keys = [];
        for (const key in req.session) keys.push(key);
        res.end(keys.sort().join(','));
      });
      const r1 = await srv.get('/?set=1');
      assert.equal(r1.text, 'bar,cookie,foo');
      const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
      assert.equal(r2.text, 'bar,cookie,foo');
    });

    describe('when sessiond goes away and comes back', () => {
      // One sessiond, stopped and started again on its port; the store emits disconnect when a
      // call fails and connect when one succeeds again.
      let sd;
      let store;
      let srv;
      const events = [];
      before(async () => {
        sd = await startSessiond();
        store = newStore(sd);
        store.on('disconnect', () => events.push('disconnect'));
        store.on('connect', () => events.push('connect'));
        srv = await createServer(store, {}, (req, res) => res.end(typeof req.session));
      });

      it('is not set while the store is disconnected', async () => {
        const r1 = await srv.get('/');
        assert.equal(r1.text, 'object');
        await sd.stop();
        const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
        assert.equal(r2.status, 500, 'the failing load is an error');
        assert.deepEqual(events, ['disconnect']);
        const r3 = await srv.get('/');
        assert.equal(r3.status, 200);
        assert.equal(r3.text, 'undefined');
        noSetCookie(r3);
      });

      it(
        'is set again by itself once sessiond is back (no store call but those express-session makes)',
        async () => {
          sd = await startSessiond({ key: sd.key, port: sd.port }); // memory://: the old session is gone
          await waitFor(async () => (await srv.get('/')).text === 'object', {
            timeout: 5000,
            interval: 100,
            what: 'req.session to be set again (the store probes /readyz every second)',
          });
        },
      );

      it('is set again once the store reconnects (after a store call succeeds)', async () => {
        if (sd.child.exitCode !== null) sd = await startSessiond({ key: sd.key, port: sd.port });
        assert.equal(await store.get(crypto.randomBytes(24).toString('base64url')), null);
        assert.deepEqual(events, ['disconnect', 'connect']);
        const r = await srv.get('/');
        assert.equal(r.text, 'object');
        sidCookie(r);
      });
    });

    describe('.destroy()', () => {
      it('destroys the previous session', async () => {
        const store = newStore();
        const srv = await createServer(store, {}, (req, res) => {
          if (!req.query.destroy) {
            req.session.active = true;
            return res.end('created');
          }
          req.session.destroy((err) => {
            if (err) res.statusCode = 500;
            res.end(String(req.session));
          });
        });
        const r1 = await srv.get('/');
        const sid = sidOf(sidCookie(r1));
        assert.equal((await store.get(sid)).active, true);
        const r2 = await srv.get('/?destroy=1', { cookie: pair(sidCookie(r1)) });
        assert.equal(r2.status, 200);
        assert.equal(r2.text, 'undefined');
        noSetCookie(r2);
        assert.equal(await store.get(sid), null);
      });
    });

    describe('.regenerate()', () => {
      it('destroys and replaces the previous session', async () => {
        const store = newStore();
        const srv = await createServer(store, {}, (req, res) => {
          const id = req.session.id;
          req.session.regenerate((err) => {
            if (err) res.statusCode = 500;
            req.session.generation = 'new';
            res.end(String(req.session.id === id));
          });
        });
        const r1 = await srv.get('/');
        const old = sidOf(sidCookie(r1));
        const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
        assert.equal(r2.text, 'false');
        const fresh = sidOf(sidCookie(r2));
        assert.notEqual(fresh, old);
        assert.equal(await store.get(old), null, 'the old session is gone');
        assert.equal((await store.get(fresh)).generation, 'new');
      });
    });

    describe('.reload()', () => {
      it('reloads the session from the store', async () => {
        let cookie;
        const srv = await createServer(newStore(), {}, (req, res, next) => {
          if (req.path === '/') {
            req.session.active = true;
            return res.end('session created');
          }
          req.session.url = req.url;
          if (req.path === '/bar') return res.end(`saw ${req.session.url}`);
          // While this request holds its copy, another one changes the stored session.
          srv.get('/bar', { cookie }).then((r) => {
            assert.equal(r.text, 'saw /bar');
            req.session.reload((err) => {
              if (err) return next(err);
              res.end(`saw ${req.session.url}`);
            });
          }, next);
        });
        const r1 = await srv.get('/');
        cookie = pair(sidCookie(r1));
        const r2 = await srv.get('/foo', { cookie });
        assert.equal(r2.text, 'saw /bar');
      });

      it('errors if the session is missing', async () => {
        const store = newStore();
        const stored = [];
        const srv = await createServer(store, {}, async (req, res) => {
          if (req.path === '/') {
            req.session.active = true;
            return res.end('session created');
          }
          stored.push(await store.get(req.sessionID));
          await store.destroy(req.sessionID);
          req.session.reload((err) => {
            res.statusCode = err ? 500 : 200;
            res.end(err ? err.message : '');
          });
        });
        const r1 = await srv.get('/');
        const r2 = await srv.get('/foo', { cookie: pair(sidCookie(r1)) });
        assert.equal(r2.status, 500);
        assert.equal(r2.text, 'failed to load session');
        assert.equal(stored[0].active, true, 'it was there before the destroy');
      });

      it('does not override an overridden reload when it errors', async () => {
        const store = newStore();
        const gets = spy(store, 'get');
        const srv = await createServer(store, { resave: false }, async (req, res) => {
          if (req.path === '/') {
            req.session.active = true;
            return res.end('session created');
          }
          await store.destroy(req.sessionID);
          // Reload on top of each other (each failing): the wrapper must not wrap itself.
          let left = 20;
          const reload = () => {
            if (!--left) return res.end('ok');
            try {
              req.session.reload(reload);
            } catch (e) {
              res.statusCode = 500;
              res.end(e.message);
            }
          };
          reload();
        });
        const r1 = await srv.get('/');
        assert.equal((await store.get(sidOf(sidCookie(r1)))).active, true);
        gets.length = 0;
        const r2 = await srv.get('/foo', { cookie: pair(sidCookie(r1)) });
        assert.equal(r2.status, 200);
        assert.equal(r2.text, 'ok');
        assert.equal(gets.length, 1 + 19, 'one load, then 19 reloads, each from sessiond');
      });
    });

    describe('.save()', () => {
      it('saves the session to the store', async () => {
        const store = newStore();
        const srv = await createServer(store, {}, (req, res) => {
          req.session.hit = true;
          req.session.save((err) => {
            if (err) return res.end(err.message);
            store.get(req.session.id, (err2, sess) => {
              if (err2) return res.end(err2.message);
              res.end(sess && sess.hit === true ? 'stored' : 'empty');
            });
          });
        });
        const r = await srv.get('/');
        assert.equal(r.text, 'stored');
      });

      function saveThenEnd(req, res) {
        req.session.hit = true;
        req.session.save((err) => res.end(err ? err.message : 'saved'));
      }

      async function oneSetPerRequest(options, respond) {
        const store = newStore();
        const sets = spy(store, 'set');
        const srv = await createServer(store, options, respond);
        const r1 = await srv.get('/');
        assert.equal(r1.text, 'saved');
        assert.equal(sets.length, 1);
        const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
        assert.equal(r2.text, 'saved');
        assert.equal(sets.length, 2);
        assert.equal((await store.get(sidOf(sidCookie(r1)))).hit, true);
      }

      it('prevents the end-of-request save', async () => {
        await oneSetPerRequest({}, saveThenEnd);
      });

      it('prevents the end-of-request save of a reloaded session', async () => {
        await oneSetPerRequest({}, (req, res) => {
          req.session.hit = true;
          // The first request's session is new: its reload fails and the session stays as it was.
          req.session.reload(() => saveThenEnd(req, res));
        });
      });

      it('prevents the end-of-request save when saveUninitialized is false', async () => {
        await oneSetPerRequest({ saveUninitialized: false }, saveThenEnd);
      });
    });

    describe('.touch()', () => {
      // Adapted: SessiondStore.touch moves sessiond's idle deadline and never writes data, so
      // the cookie.expires stored by the last save stays; the deadline is what moves.
      it("resets the session's expiration (sessiond's deadline)", async () => {
        const store = newStore(shared, { touchAfterRead: true });
        const touches = spy(store, 'touch');
        const srv = await createServer(store, { resave: false, cookie: { maxAge: MIN } }, (req, res) => {
          req.session.hit = true;
          req.session.touch();
          res.end();
        });
        const r1 = await srv.get('/');
        const sid = sidOf(sidCookie(r1));
        const first = await peek(shared, sid);
        await waitFor(() => Date.now() > first.last_access_ms + 5, { what: 'the clock to move' });
        await srv.get('/', { cookie: pair(sidCookie(r1)) });
        assert.equal(touches.length, 1);
        const now = await peek(shared, sid);
        assert.ok(now.expires_at_ms > first.expires_at_ms, 'the deadline moved');
        assert.equal(now.data.cookie.expires, first.data.cookie.expires, 'touch wrote no data');
      });
    });

    describe('.cookie', () => {
      it('sets a browser-session cookie only once (expires: null kept in sessiond)', async () => {
        const store = newStore();
        const srv = await createServer(store, { cookie: { path: '/admin' } });
        const r1 = await srv.get('/admin/foo');
        const c = sidCookie(r1);
        assert.equal(c.attrs.expires, undefined);
        assert.equal((await store.get(sidOf(c))).cookie.expires, null);
        const r2 = await srv.get('/admin', { cookie: pair(c) });
        assert.equal(r2.status, 200);
        noSetCookie(r2);
      });

      it('keeps originalMaxAge for all requests through the store', async () => {
        const store = newStore();
        const srv = await createServer(store, { cookie: { maxAge: 2000 } }, (req, res) =>
          res.end(JSON.stringify(req.session.cookie.originalMaxAge)),
        );
        const r1 = await srv.get('/');
        assert.ok(['2000', '1999'].includes(r1.text), r1.text);
        const sid = sidOf(sidCookie(r1));
        assert.equal((await store.get(sid)).cookie.originalMaxAge, 2000);
        const t = Date.now();
        await waitFor(() => Date.now() >= t + 100, { what: '100 ms to pass' });
        const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
        assert.ok(['2000', '1999'].includes(r2.text), r2.text);
      });

      describe('.maxAge (one session through three requests)', () => {
        let srv;
        let store;
        let cookie;
        before(async () => {
          store = newStore();
          srv = await createServer(store, { cookie: { maxAge: 2000 } }, (req, res) => {
            switch (++req.session.count) {
              case 1:
                break;
              case 2:
                req.session.cookie.maxAge = 5000;
                break;
              case 3:
                req.session.cookie.maxAge = 3000000000;
                break;
              default:
                req.session.count = 0;
                break;
            }
            res.end(String(req.session.count));
          });
          const r = await srv.get('/');
          assert.equal(r.text, '0');
          cookie = pair(sidCookie(r));
        });

        // Expires and Date have 1 s resolution and are taken a moment apart.
        function expiresIn(r, delta) {
          const c = sidCookie(r);
          const d = Date.parse(c.attrs.expires) - Date.parse(r.headers.date);
          assert.ok(d === delta || d === delta - 1000, `expires in ${d} ms, want ${delta}`);
        }

        async function step(n, delta) {
          const r = await srv.get('/', { cookie });
          assert.equal(r.text, String(n));
          expiresIn(r, delta);
          assert.equal((await store.get(sidOf(sidCookie(r)))).count, n, 'the count is in sessiond');
        }

        it('sets the cookie expiry relative to maxAge', async () => {
          await step(1, 2000);
        });

        it('changes the cookie expiry when maxAge changes', async () => {
          await step(2, 5000);
        });

        it('changes the cookie expiry when maxAge changes to a large value', async () => {
          await step(3, 3000000000);
        });
      });

      describe('.expires null (browser-session cookie)', () => {
        it('does not reset the cookie', async () => {
          const store = newStore();
          const srv = await createServer(store, {}, (req, res) => {
            req.session.cookie.expires = null;
            res.end();
          });
          const r1 = await srv.get('/');
          assert.equal(sidCookie(r1).attrs.expires, undefined);
          assert.equal((await store.get(sidOf(sidCookie(r1)))).cookie.expires, null);
          const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
          assert.equal(r2.status, 200);
          noSetCookie(r2);
        });

        it('does not reset the cookie when the session is modified', async () => {
          const store = newStore();
          const srv = await createServer(store, {}, (req, res) => {
            req.session.cookie.expires = null;
            req.session.hit = (req.session.hit || 0) + 1;
            res.end();
          });
          const r1 = await srv.get('/');
          assert.equal(sidCookie(r1).attrs.expires, undefined);
          const r2 = await srv.get('/', { cookie: pair(sidCookie(r1)) });
          noSetCookie(r2);
          assert.equal((await store.get(sidOf(sidCookie(r1)))).hit, 2, 'saved all the same');
        });
      });
    });
  });
});
