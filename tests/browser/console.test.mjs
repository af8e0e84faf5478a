// sessionctl console in a real browser (Debian's Chromium via playwright-core): a demo and the
// console share one SQLite store, the console scrapes the demo's /metrics and /events. Every
// page is visited signed in, with the harness failing the test on any console error or CSP
// violation; screenshots of each page land in build/browser-screenshots/<test>/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import {
  ALICE,
  bodyText,
  browserTest,
  button,
  expectHtmlPage,
  goto,
  loginOk,
  pageState,
  reload,
  sessionctlBinary,
  submit,
  useBrowser,
} from './lib/harness.mjs';
import { hashPassword } from './lib/processes.mjs';

useBrowser();

const ADMIN_PASSWORD = 'console admin password 1';

/** A demo and a console over one new SQLite file; the console scrapes the demo every 0.5 s. */
async function demoAndConsole(h) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sessionkit-console-'));
  h.track({ stop: async () => fs.rmSync(dir, { recursive: true, force: true }) });
  const store = `sqlite://${path.join(dir, 'sessions.db')}`;
  const demo = await h.startDemo(['--store', store, '--anonymous-session-burst', '0']);  // the load below
  const consoleServer = await h.startConsole({
    store,
    passwordHash: hashPassword(sessionctlBinary, ADMIN_PASSWORD),
    scrape: [demo.url],
    interval: 0.5,
  });
  return { demo, console: consoleServer };
}

/** Raw HTTP to the demo (Node 18's fetch cannot read several Set-Cookie headers). */
function request(url, { method = 'GET', headers = {}, body = '' } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, timeout: 10_000 }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Load on the demo: `n` new sessions, each a POST /api/increment without a session cookie
 * (with the pre-session CSRF cookie and its token, as bench/macro/create.lua does).
 */
async function createSessions(demoUrl, n) {
  const first = await request(`${demoUrl}/api/session`);
  assert.equal(first.status, 200, `GET /api/session: ${first.status} ${first.body}`);
  const token = JSON.parse(first.body).csrf_token;
  const cookie = (first.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
  assert.ok(token && cookie, `GET /api/session gave no CSRF token or cookie: ${first.body}`);
  for (let i = 0; i < n; i += 10) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 10); j += 1) {
      batch.push(
        request(`${demoUrl}/api/increment`, {
          method: 'POST',
          headers: { cookie, 'x-csrf-token': token, 'content-type': 'application/json' },
        }),
      );
    }
    for (const r of await Promise.all(batch)) {
      assert.equal(r.status, 200, `POST /api/increment (load): ${r.status} ${r.body}`);
    }
  }
}

/** The last value the chart's legend shows for `series` (a number, or null while unknown). */
async function chartValue(page, chart, series) {
  return page.evaluate(
    ([c, s]) => {
      const item = document.querySelector(`#chart-${c} .legend [data-series="${s}"]`);
      return item && item.dataset.last !== '' ? Number(item.dataset.last) : null;
    },
    [chart, series],
  );
}

async function signIn(page, consoleUrl, password = ADMIN_PASSWORD) {
  await goto(page, `${consoleUrl}/login`);
  await page.locator('input[name="password"]').fill(password);
  return submit(page, button(page.locator('form[action="/login"]'), 'Sign in'));
}

browserTest('console: sign in, live charts move under load, search, detail, revoke, revoke all, events', async (h) => {
  const { demo, console: con } = await demoAndConsole(h);

  // A visitor signs in to the demo: the session the operator will revoke.
  const userContext = await h.newContext();
  const user = await userContext.newPage();
  expectHtmlPage(await goto(user, demo.url), 'the demo');
  await loginOk(user, ALICE);
  await h.shot(user, 'demo alice signed in');

  const adminContext = await h.newContext();
  const admin = await adminContext.newPage();
  const first = await goto(admin, `${con.url}/`);
  assert.match(first.chain, /GET \/ → 303, GET \/login → 200/, 'signed out, / sends to the sign-in page');
  await h.shot(admin, 'console sign in');
  const signedIn = await signIn(admin, con.url);
  expectHtmlPage(signedIn, 'sign in with the admin password');
  assert.equal(new URL(signedIn.url).pathname, '/', 'after signing in: the overview');
  const sessions = await admin.locator('.figure', { hasText: 'sessions' }).first().locator('b').textContent();
  assert.ok(Number(sessions) >= 1, `the overview counts the demo's sessions, it shows ${sessions}`);

  // The charts fill from the scrapes without reloading the page.
  await admin.waitForFunction(() => Number(document.getElementById('chart-active')?.dataset.points) >= 3, null, {
    timeout: 15_000,
  });
  const activeBefore = await chartValue(admin, 'active', 'active');
  assert.ok(activeBefore >= 1, `active sessions before the load: ${activeBefore}`);
  const updatesBefore = Number(await admin.locator('#charts').getAttribute('data-updates'));
  await h.shot(admin, 'overview before load');

  await createSessions(demo.url, 60);
  await admin
    .waitForFunction(
      (before) => {
        const last = (c, s) => Number(document.querySelector(`#chart-${c} .legend [data-series="${s}"]`)?.dataset.last || 0);
        return last('active', 'active') >= before + 60 && last('lifecycle', 'created_per_min') > 0;
      },
      activeBefore,
      { timeout: 15_000 },
    )
    .catch(async () => {
      assert.fail(
        `the charts did not move after 60 new sessions: active ${await chartValue(admin, 'active', 'active')} ` +
          `(before ${activeBefore}), created/min ${await chartValue(admin, 'lifecycle', 'created_per_min')}; ` +
          `status: ${await admin.locator('#live-status').textContent()}`,
      );
    });
  const updatesAfter = Number(await admin.locator('#charts').getAttribute('data-updates'));
  assert.ok(updatesAfter > updatesBefore, 'the charts updated in place (no reload)');
  const line = await admin.locator('#chart-lifecycle polyline[data-series="created_per_min"]').getAttribute('points');
  assert.ok(line.split(' ').length >= 3, `the created/min line has points: "${line}"`);
  const targets = await admin.locator('#targets tbody').innerText();
  assert.match(targets, new RegExp(`${demo.url}\\s+up`), `the instance is listed as up: ${targets}`);
  await h.shot(admin, 'overview under load');

  // Search by user (the index), open alice's session.
  await submit(admin, admin.getByRole('link', { name: 'Search', exact: true }));
  await admin.locator('input[name="user"]').fill('alice');
  expectHtmlPage(await submit(admin, button(admin.locator('form[action="/search"]'), 'Search')), 'search alice');
  const found = admin.locator('main table tbody tr');
  assert.equal(await found.count(), 1, `one session of alice: ${await bodyText(admin)}`);
  await h.shot(admin, 'search by user');
  expectHtmlPage(await submit(admin, found.first().locator('a')), 'open the session');
  const detail = await admin.locator('main').innerText();
  assert.match(detail, /user\s+alice/, 'the detail names the user');
  assert.match(detail, /Redacted/, 'the payload is redacted');
  assert.match(detail, /user_agent\s+\S+/, 'the detail shows the User-Agent');
  await h.shot(admin, 'session detail');

  // Revoke it, through the confirmation page.
  expectHtmlPage(await submit(admin, admin.getByRole('link', { name: 'Revoke this session…' })), 'revoke: confirm page');
  await h.shot(admin, 'revoke confirmation');
  expectHtmlPage(await submit(admin, button(admin.locator('main form'), 'Revoke')), 'revoke');
  assert.match(await bodyText(admin), /The session has ended/);
  await h.shot(admin, 'revoked');

  // The demo now treats alice's browser as having no session.
  expectHtmlPage(await reload(user), 'the demo after the revocation');
  const state = await pageState(user);
  assert.equal(state.user, null, `alice is signed out in the demo: ${await bodyText(user)}`);
  assert.ok(state.forms.includes('/login'), 'the demo offers the login form again');
  await h.shot(user, 'demo after revoke');

  // Revoke all of a user's sessions: bob, signed in from two browsers, is signed out of both.
  const BOB = { user: 'bob', password: 'builder' };
  const bobPages = [];
  for (let i = 0; i < 2; i += 1) {
    const page = await (await h.newContext()).newPage();
    expectHtmlPage(await goto(page, demo.url), `the demo (bob's browser ${i + 1})`);
    await loginOk(page, BOB);
    bobPages.push(page);
  }
  await submit(admin, admin.getByRole('link', { name: 'Search', exact: true }));
  await admin.locator('input[name="user"]').fill('bob');
  expectHtmlPage(await submit(admin, button(admin.locator('form[action="/search"]'), 'Search')), 'search bob');
  assert.equal(await admin.locator('main table tbody tr').count(), 2, `two sessions of bob: ${await bodyText(admin)}`);
  expectHtmlPage(
    await submit(admin, admin.getByRole('link', { name: "Revoke all of bob's sessions…" })),
    'revoke all: confirm page',
  );
  assert.match(await bodyText(admin), /End all 2 sessions of user bob/);
  await h.shot(admin, 'revoke all confirmation');
  expectHtmlPage(await submit(admin, button(admin.locator('main form'), 'Revoke all')), 'revoke all');
  assert.match(await bodyText(admin), /2 sessions of user bob ended/);
  await h.shot(admin, 'revoked all of bob');
  for (const page of bobPages) {
    expectHtmlPage(await reload(page), "bob's browser after revoke all");
    assert.equal((await pageState(page)).user, null, `bob is signed out: ${await bodyText(page)}`);
  }

  // Events: alice's sign-in (a new session: "created", user alice) and the load's sessions,
  // scraped from the demo's /events, filterable.
  expectHtmlPage(await submit(admin, admin.getByRole('link', { name: 'Events', exact: true })), 'events');
  const all = await admin.locator('main table tbody tr').count();
  assert.ok(all >= 60, `the events page lists the load's sessions and the login: ${all} rows`);
  await h.shot(admin, 'events');
  await admin.locator('input[name="user"]').fill('alice');
  await admin.locator('select[name="type"]').selectOption('created');
  expectHtmlPage(await submit(admin, button(admin.locator('#event-filter'), 'Filter')), 'filter events');
  const rows = await admin.locator('main table tbody tr').allInnerTexts();
  assert.equal(rows.length, 1, `alice's sign-in created one session: ${await bodyText(admin)}`);
  assert.match(rows[0], /created\s+alice/, `only alice's: ${rows[0]}`);
  await h.shot(admin, 'events filtered');

  // Signing out ends the console session: the API answers 401 and pages send to /login.
  await submit(admin, button(admin.locator('header form'), 'Sign out'));
  assert.equal(new URL(admin.url()).pathname, '/login');
  const api = await h.tolerate(admin, /status of 401/, () =>
    admin.evaluate(async () => (await fetch('/api/series')).status),
  );
  assert.equal(api, 401, '/api/series after signing out');
});

browserTest('console: a wrong password is refused, then throttled; the right one then waits too', async (h) => {
  const { console: con } = await demoAndConsole(h);
  const context = await h.newContext();
  const page = await context.newPage();
  const statuses = [];
  for (let i = 0; i < 8 && !statuses.includes(429); i += 1) {
    const r = await signIn(page, con.url, `wrong password ${i}`);
    statuses.push(r.status);
    if (r.status === 401) assert.match(await bodyText(page), /Wrong password/);
  }
  assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401], `the first five: ${statuses}`);
  assert.equal(statuses.at(-1), 429, `then refused without trying: ${statuses}`);
  assert.match(await bodyText(page), /Too many wrong passwords/);
  await h.shot(page, 'throttled');
  const right = await signIn(page, con.url);
  assert.equal(right.status, 429, 'while the delay holds, even the right password is not tried');
});
