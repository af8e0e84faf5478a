// connect-redis's lifecycle test (its index_test.ts), rewritten for SessiondStore against a real
// sessiond: defaults, set/get, the deadline a set and a touch give a session, length, ids, all,
// destroy, clear, 1000 sessions, and a cookie expiry in the past.
//
// Where sessiond differs from connect-redis, the test checks sessiond's behaviour (README, "How
// it differs from connect-redis"): the deadline is sessiond's idle timeout (a server setting),
// never a TTL from cookie.expires; touch slides that deadline and writes no data; ids() and all()
// fail with ERR_UNSUPPORTED (sessiond holds SHA-256 digests, never IDs); clear() needs sessiond's
// --allow-clear.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');

const { SessiondStore, SessiondError } = require('..');
const { peek, startSessiond, stopAll, until, waitFor } = require('./support');

const IDLE = 600; // sessiond --idle-timeout, seconds: unlike the cookie expiries below (60 s, 90 s)

const stores = [];
function storeOn(sd) {
  const s = new SessiondStore({ url: sd.url, apiKey: sd.key, timeout: 2000, retries: 1 });
  stores.push(s);
  return s;
}

after(async () => {
  for (const s of stores) s.close();
  await stopAll();
});

function callback(fn) {
  return new Promise((resolve) => fn((err, value) => resolve({ err, value })));
}

/** Stores `count` sessions, `width` at a time. */
async function load(store, count, width = 32) {
  const sids = Array.from({ length: count }, () => store.genid());
  let next = 0;
  async function worker() {
    while (next < sids.length) {
      const sid = sids[next++];
      await store.set(sid, { cookie: { originalMaxAge: 1000, expires: new Date(Date.now() + 1000).toISOString() } });
    }
  }
  await Promise.all(Array.from({ length: width }, worker));
  return sids;
}

it('defaults', () => {
  const store = new SessiondStore({ apiKey: 'a key' });
  stores.push(store);
  assert.equal(store.base.href, 'http://127.0.0.1:7400/');
  assert.equal(store.apiKey, 'a key');
  assert.equal(store.timeout, 2000);
  assert.equal(store.retries, 2);
  assert.equal(store.agent.maxSockets, 64);
  assert.equal(store.connected, true);
  assert.match(store.genid(), /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(store.genid(), store.genid());
});

describe(`the Store calls (sessiond --idle-timeout ${IDLE})`, () => {
  let sd;
  let store;
  const sid1 = 'connect-redis-lifecycle-123';
  const sid2 = 'connect-redis-lifecycle-456';
  let expires;
  before(async () => {
    sd = await startSessiond({ args: ['--idle-timeout', String(IDLE)] });
    store = storeOn(sd);
  });

  it('set then get answers what was set', async () => {
    const sess = { foo: 'bar', cookie: { originalMaxAge: null } };
    await store.set(sid1, sess);
    assert.deepEqual(await store.get(sid1), sess);
  });

  it("gives a session sessiond's idle timeout as its deadline", async () => {
    const rec = await peek(sd, sid1);
    const left = rec.expires_at_ms - Date.now();
    assert.ok(left > (IDLE - 5) * 1000 && left <= IDLE * 1000, `${left} ms left`);
  });

  it('takes no TTL from cookie.expires: the deadline stays the idle timeout', async () => {
    expires = new Date(Date.now() + 60 * 1000);
    await store.set(sid2, { cookie: { originalMaxAge: null, expires } });
    const rec = await peek(sd, sid2);
    const left = rec.expires_at_ms - Date.now();
    assert.ok(left > (IDLE - 5) * 1000, `${left} ms left, not the cookie's 60 s`);
    assert.equal(rec.data.cookie.expires, expires.toISOString(), 'cookie.expires is kept as data');
  });

  it('touch slides the deadline and writes no data', async () => {
    const first = await peek(sd, sid2);
    await waitFor(() => Date.now() > first.last_access_ms + 5, { what: 'the clock to move' });
    const expires2 = new Date(Date.now() + 90 * 1000);
    await store.touch(sid2, { cookie: { originalMaxAge: null, expires: expires2 } });
    const now = await peek(sd, sid2);
    assert.ok(now.expires_at_ms > first.expires_at_ms, 'the deadline slid');
    assert.equal(now.data.cookie.expires, expires.toISOString(), 'the stored cookie is untouched');
  });

  it('ids() fails with ERR_UNSUPPORTED: sessiond holds digests, never IDs', async () => {
    await assert.rejects(store.ids(), (e) => e.code === 'ERR_UNSUPPORTED' && /SHA-256/.test(e.message));
    const { err, value } = await callback((cb) => store.ids(cb));
    assert.equal(err.code, 'ERR_UNSUPPORTED');
    assert.equal(value, undefined);
  });

  it('all() fails with ERR_UNSUPPORTED', async () => {
    await assert.rejects(store.all(), (e) => e.code === 'ERR_UNSUPPORTED' && /all\(\) is not supported/.test(e.message));
    const { err } = await callback((cb) => store.all(cb));
    assert.equal(err.code, 'ERR_UNSUPPORTED');
  });

  it('destroy ends one session and leaves the other', async () => {
    await store.destroy(sid2);
    assert.equal(await store.get(sid2), null);
    assert.equal(await peek(sd, sid2), null);
    assert.deepEqual(await store.get(sid1), { foo: 'bar', cookie: { originalMaxAge: null } });
  });

  it('keeps a session set with a cookie expiry in the past (connect-redis deletes it)', async () => {
    const sid = 'connect-redis-lifecycle-789';
    await store.set(sid, { cookie: { originalMaxAge: null, expires: new Date(Date.now() + 90 * 1000) } });
    const past = new Date(Date.now() - 90 * 1000);
    await store.set(sid, { cookie: { originalMaxAge: null, expires: past } });
    const got = await store.get(sid);
    assert.equal(got.cookie.expires, past.toISOString(), "sessiond's idle timeout decides, not the cookie");
  });

  it('clear() is refused without --allow-clear, and nothing is cleared', async () => {
    await assert.rejects(
      store.clear(),
      (e) => e instanceof SessiondError && e.status === 403 && /refuses clear without --allow-clear/.test(e.message),
    );
    const { err } = await callback((cb) => store.clear(cb));
    assert.equal(err.status, 403);
    assert.ok(await store.get(sid1), 'still there');
  });
});

describe('length and clear (sessiond --allow-clear)', () => {
  let sd;
  let store;
  let sids;
  before(async () => {
    sd = await startSessiond({ args: ['--allow-clear', '--idle-timeout', String(IDLE)] });
    store = storeOn(sd);
  });

  it('clear on an empty store clears nothing; length is 0', async () => {
    assert.equal(await store.clear(), 0);
    assert.equal(await store.length(), 0);
  });

  it('length counts the sessions set', async () => {
    sids = [store.genid(), store.genid()];
    await store.set(sids[0], { foo: 'bar', cookie: { originalMaxAge: null } });
    await store.set(sids[1], { cookie: { originalMaxAge: null, expires: new Date(Date.now() + 60 * 1000) } });
    assert.equal(await store.length(), 2);
    const { err, value } = await callback((cb) => store.length(cb));
    assert.equal(err, null);
    assert.equal(value, 2);
  });

  it('destroy: one session remains', async () => {
    await store.destroy(sids[1]);
    assert.equal(await store.length(), 1);
  });

  it('clear: no session remains', async () => {
    const { err, value } = await callback((cb) => store.clear(cb));
    assert.equal(err, null);
    assert.equal(value, 1);
    assert.equal(await store.length(), 0);
    assert.equal(await store.get(sids[0]), null);
  });

  it('1000 sessions: length 1000, then clear ends them all', async () => {
    const many = await load(store, 1000);
    assert.equal(await store.length(), 1000);
    assert.equal(await store.clear(), 1000);
    assert.equal(await store.length(), 0);
    assert.equal(await store.get(many[0]), null);
    assert.equal(await store.get(many[999]), null);
  });

  it('length counts an expired session until sessiond\'s janitor purges it (--janitor-interval)', async () => {
    const short = await startSessiond({ args: ['--allow-clear', '--idle-timeout', '1', '--janitor-interval', '1'] });
    try {
      const s = storeOn(short);
      const sid = s.genid();
      await s.set(sid, { cookie: { originalMaxAge: null } });
      assert.equal(await s.length(), 1);
      const rec = await peek(short, sid);
      await until(rec.expires_at_ms + 20);
      assert.equal(await s.get(sid), null, 'expired: never served');
      await waitFor(async () => (await s.length()) === 0, {
        timeout: 5000,
        interval: 100,
        what: 'the janitor to purge the expired session',
      });
    } finally {
      await short.stop();
    }
  });
});
