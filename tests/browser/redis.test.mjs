// Two sessionkit-demo instances on one private Redis, in one real browser (Debian's Chromium):
// what a user of a scaled-out app sees. Instance A attaches the store to its event loops (the
// default), instance B uses the store's own I/O thread (--redis-io-thread); both share the
// secret. Browsers scope cookies by host, not port, so the tab on A and the tab on B send the
// same session cookie, and every step on one instance must hold on the other's next request.
// What Redis holds is read with redis-cli, not through the demo.
import assert from 'node:assert/strict';

import {
  ALICE,
  bodyText,
  browserTest,
  button,
  expectHtmlPage,
  form,
  goto,
  increment,
  loginOk,
  pageState,
  reload,
  sessionCookie,
  submit,
  useBrowser,
  visits,
} from './lib/harness.mjs';
import { newSecret, startRedis } from './lib/processes.mjs';

useBrowser();

/** The session hashes in Redis whose user field is `user` ("" for anonymous ones). */
function storedSessions(redis, user) {
  const keys = redis
    .cli('--scan', '--pattern', 'sk:s:*')
    .split('\n')
    .map((k) => k.trim())
    .filter(Boolean);
  return keys.filter((k) => redis.cli('HGET', k, 'u').trim() === user);
}

browserTest('10. two demos on one Redis: a session made, signed in and ended on one holds on the other', async (h) => {
  const redis = h.track(await startRedis());
  const secret = newSecret();
  const a = await h.startDemo(['--store', redis.url, '--secret', secret]);
  const b = await h.startDemo(['--store', redis.url, '--secret', secret, '--redis-io-thread']);
  const context = await h.newContext();
  const tabA = await context.newPage();
  const tabB = await context.newPage();
  expectHtmlPage(await goto(tabA, `${a.url}/`), 'GET / on instance A');
  expectHtmlPage(await goto(tabB, `${b.url}/`), 'GET / on instance B (opened before any click)');
  assert.equal(await visits(tabA), 0, 'a new visitor starts at 0 visits');

  // The first write, on A, creates the session; B's page, loaded before it, still works.
  expectHtmlPage(await increment(tabA), 'instance A: Increment (creates the session)');
  assert.equal(await visits(tabA), 1, 'instance A: visits after one Increment');
  expectHtmlPage(await increment(tabB), "instance B: Increment with the page loaded before A's first write");
  assert.equal(await visits(tabB), 2, 'instance B counts on the session instance A created');
  await h.shot(tabB, 'B after increment');

  // Sign in on A through the form: the session is regenerated and keeps its visits.
  await loginOk(tabA, ALICE, 'login through the form on instance A');
  assert.equal(await visits(tabA), 2, 'the regenerated session keeps the visits');
  const cookie = await sessionCookie(context);
  assert.ok(cookie?.httpOnly, `the session cookie is HttpOnly: ${JSON.stringify(cookie)}`);
  const alices = storedSessions(redis, ALICE.user);
  assert.equal(alices.length, 1, `redis-cli: one session hash of alice after the login, found ${alices.join(', ') || 'none'}`);
  assert.equal(redis.cli('EXISTS', `sk:u:${ALICE.user}`).trim(), '1', "redis-cli: alice's user index exists");
  await h.shot(tabA, 'A signed in');

  // B sees the signed-in session at once, and writes to it.
  expectHtmlPage(await reload(tabB), 'instance B: reload after the login on A');
  assert.equal((await pageState(tabB)).user, ALICE.user, `instance B: signed in as alice, the page says: ${await bodyText(tabB)}`);
  expectHtmlPage(await increment(tabB), 'instance B: Increment while signed in');
  assert.equal(await visits(tabB), 3, 'instance B: visits after its Increment');
  expectHtmlPage(await reload(tabA), 'instance A: reload');
  assert.equal(await visits(tabA), 3, "instance A sees B's Increment");
  await h.shot(tabB, 'B signed in after increment');

  // Log out on B: A's next request is signed out, and Redis no longer holds the session.
  const result = await submit(tabB, button(await form(tabB, '/logout'), 'Log out'));
  expectHtmlPage(result, 'instance B: POST /logout');
  assert.equal((await pageState(tabB)).user, null, `instance B: signed out after Log out: ${await bodyText(tabB)}`);
  expectHtmlPage(await reload(tabA), 'instance A: reload after the logout on B');
  const state = await pageState(tabA);
  assert.equal(state.user, null, `instance A: the session ended on B must be over here too: ${await bodyText(tabA)}`);
  assert.ok(state.forms.includes('/login'), `instance A: the login form, the page has: ${state.forms.join(', ')}`);
  assert.deepEqual(storedSessions(redis, ALICE.user), [], 'redis-cli: no session of alice left after the logout');
  await h.shot(tabA, 'A signed out after logout on B');
});
