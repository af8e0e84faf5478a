// sessionkit-demo in a real browser (Debian's Chromium via playwright-core), development mode
// over plain HTTP on 127.0.0.1. Each test starts its own demo (memory store) and uses fresh
// browser contexts; screenshots of each state land in build/browser-screenshots/<test>/.
import assert from 'node:assert/strict';

import {
  ALICE,
  bodyText,
  browserTest,
  button,
  cookieNames,
  expectHtml,
  expectHtmlPage,
  form,
  goto,
  increment,
  login,
  loginOk,
  pageState,
  reload,
  sessionCookie,
  submit,
  useBrowser,
  visits,
} from './lib/harness.mjs';
import { startAttacker } from './lib/processes.mjs';

useBrowser();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rows of "Your active sessions": [{ current, handle }]. */
async function sessionRows(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('#sessions tr')]
      .filter((tr) => tr.querySelector('form'))
      .map((tr) => ({
        handle: tr.querySelector('input[name="handle"]')?.value ?? '',
        current: tr.textContent.includes('this browser'),
        text: tr.innerText.replace(/\s+/g, ' ').trim(),
      })),
  );
}

/** Clicks "Sign out" on the row that is not this browser's. */
async function clickRevokeOther(page) {
  const rows = await sessionRows(page);
  const other = rows.find((r) => !r.current);
  assert.ok(other, `no other session to sign out in "Your active sessions": ${JSON.stringify(rows)}`);
  const row = page.locator('#sessions tr', { has: page.locator(`input[name="handle"][value="${other.handle}"]`) });
  return submit(page, button(row, 'Sign out'));
}

/** Signs the other session out; answers the re-authentication form when the page asks for it. */
async function revokeOther(h, page, password) {
  let result = await clickRevokeOther(page);
  expectHtml(result, 'POST /sessions/revoke (the other session)');
  if ((await page.locator('form#reauth, form[action="/reauth"]').count()) > 0) {
    await h.shot(page, 'reauth asked');
    const f = await form(page, '/reauth');
    await f.locator('input[name="password"]').fill(password);
    result = await submit(page, button(f, 'Confirm'));
    expectHtmlPage(result, 'POST /reauth (re-authentication form)');
    result = await clickRevokeOther(page);
    expectHtmlPage(result, 'POST /sessions/revoke after re-authentication');
  }
  return result;
}

async function expectSignedOut(page, what) {
  const state = await pageState(page);
  assert.equal(state.user, null, `${what}: expected signed out, the page says: ${await bodyText(page)}`);
  assert.ok(state.forms.includes('/login'), `${what}: expected the login form, the page has forms: ${state.forms.join(', ')}`);
}

// 1 --------------------------------------------------------------------------------------------
browserTest('1. visitor: Increment works, and in a second tab opened before the first click', async (h) => {
  const demo = await h.startDemo();
  const context = await h.newContext();
  const tabA = await context.newPage();
  const tabB = await context.newPage();
  expectHtmlPage(await goto(tabA, `${demo.url}/`), 'GET / in tab A');
  expectHtmlPage(await goto(tabB, `${demo.url}/`), 'GET / in tab B (opened before any click)');
  assert.equal(await visits(tabA), 0, 'a new visitor starts at 0 visits');
  await h.shot(tabA, 'tab A visitor');

  let result = await increment(tabA);
  await h.shot(tabA, 'tab A after increment');
  expectHtmlPage(result, 'tab A: Increment (first write, creates the session)');
  assert.equal(await visits(tabA), 1, 'tab A: visits after one Increment');

  result = await increment(tabB);
  await h.shot(tabB, 'tab B after increment');
  expectHtmlPage(result, "tab B: Increment with the page loaded before tab A's first write");
  assert.equal(await visits(tabB), 2, 'tab B: visits after its Increment (tab A made one before)');

  result = await increment(tabA);
  expectHtmlPage(result, 'tab A: Increment again');
  assert.equal(await visits(tabA), 3, 'tab A: visits after its second Increment');
  expectHtmlPage(await reload(tabB), 'tab B reload');
  assert.equal(await visits(tabB), 3, 'tab B sees the count of both tabs after a reload');
  await h.shot(tabB, 'tab B reloaded');
});

// 2 --------------------------------------------------------------------------------------------
browserTest('2. login through the form; the session cookie is HttpOnly and not in document.cookie', async (h) => {
  const demo = await h.startDemo();
  const context = await h.newContext();
  const page = await context.newPage();
  expectHtmlPage(await goto(page, `${demo.url}/`), 'GET /');
  await h.shot(page, 'signed out');
  await loginOk(page, ALICE);
  await h.shot(page, 'signed in');

  const cookie = await sessionCookie(context);
  assert.ok(cookie, `after login the browser should hold the session cookie "sid"; it has: ${await cookieNames(context)}`);
  assert.equal(cookie.httpOnly, true, `the session cookie must be HttpOnly: ${JSON.stringify(cookie)}`);
  assert.equal(cookie.sameSite, 'Lax', `the session cookie should be SameSite=Lax: ${JSON.stringify(cookie)}`);
  const visible = await page.evaluate(() => document.cookie);
  const names = visible.split(';').map((c) => c.trim().split('=')[0]);
  assert.ok(!names.includes(cookie.name), `document.cookie shows the session cookie: "${visible}"`);
  assert.ok(!visible.includes(cookie.value), `document.cookie contains the session cookie's value: "${visible}"`);
});

// 3 --------------------------------------------------------------------------------------------
browserTest('3. two browsers of one user: "Your active sessions" lists both; revoking the other logs it out', async (h) => {
  const demo = await h.startDemo();
  const laptop = await h.newContext();
  const phone = await h.newContext();
  const pagePhone = await phone.newPage();
  expectHtmlPage(await goto(pagePhone, `${demo.url}/`), 'phone: GET /');
  await loginOk(pagePhone, ALICE, 'phone: login');
  const pageLaptop = await laptop.newPage();
  expectHtmlPage(await goto(pageLaptop, `${demo.url}/`), 'laptop: GET /');
  await loginOk(pageLaptop, ALICE, 'laptop: login');

  const rows = await sessionRows(pageLaptop);
  await h.shot(pageLaptop, 'laptop sessions list');
  assert.equal(rows.length, 2, `"Your active sessions" should list 2 sessions: ${JSON.stringify(rows)}`);
  assert.equal(rows.filter((r) => r.current).length, 1, `exactly one row is this browser: ${JSON.stringify(rows)}`);
  // The mark is on the right row: the phone's own page marks the laptop's other row as current.
  expectHtmlPage(await reload(pagePhone), 'phone: reload');
  const phoneRows = await sessionRows(pagePhone);
  await h.shot(pagePhone, 'phone sessions list');
  assert.equal(
    phoneRows.find((r) => r.current)?.handle,
    rows.find((r) => !r.current).handle,
    `the laptop's "other" row should be the phone's "this browser" row: laptop ${JSON.stringify(rows)}, phone ${JSON.stringify(phoneRows)}`,
  );

  await revokeOther(h, pageLaptop, ALICE.password);
  await h.shot(pageLaptop, 'laptop after revoking the phone');
  const after = await sessionRows(pageLaptop);
  assert.equal(after.length, 1, `after revoking, only this browser is listed: ${JSON.stringify(after)}`);
  assert.equal((await pageState(pageLaptop)).user, 'alice', 'the laptop stays signed in');

  expectHtmlPage(await reload(pagePhone), 'phone: reload after being revoked');
  await h.shot(pagePhone, 'phone after reload');
  await expectSignedOut(pagePhone, 'phone after the laptop revoked it');
});

// 4a -------------------------------------------------------------------------------------------
browserTest('4a. re-authentication form: a stale login must confirm the password before ending another session', async (h) => {
  const demo = await h.startDemo(['--reauth-after', '1']);
  const laptop = await h.newContext();
  const phone = await h.newContext();
  const pagePhone = await phone.newPage();
  expectHtmlPage(await goto(pagePhone, `${demo.url}/`), 'phone: GET /');
  await loginOk(pagePhone, ALICE, 'phone: login');
  const page = await laptop.newPage();
  expectHtmlPage(await goto(page, `${demo.url}/`), 'laptop: GET /');
  await loginOk(page, ALICE, 'laptop: login');
  await sleep(2_500); // the login is now older than --reauth-after 1

  let result = await clickRevokeOther(page);
  expectHtml(result, 'revoke with a stale login');
  await h.shot(page, 'reauth asked');
  let state = await pageState(page);
  assert.ok(state.forms.includes('/reauth'), `a stale login should get the re-authentication form; forms: ${state.forms.join(', ')}; page: ${await bodyText(page)}`);
  assert.equal((await sessionRows(page)).length, 2, 'nothing was revoked without the password');

  let f = await form(page, '/reauth');
  await f.locator('input[name="password"]').fill('not-the-password');
  result = await submit(page, button(f, 'Confirm'));
  expectHtml(result, 'POST /reauth with a wrong password');
  await h.shot(page, 'reauth wrong password');
  state = await pageState(page);
  assert.match(state.notice ?? '', /wrong password/i, `a wrong password should say so: ${await bodyText(page)}`);
  assert.equal(await page.locator('.notice.error[role=alert]').count(), 1, 'a wrong password is an error notice');
  assert.ok(state.forms.includes('/reauth'), 'the re-authentication form is offered again');

  f = await form(page, '/reauth');
  await f.locator('input[name="password"]').fill(ALICE.password);
  result = await submit(page, button(f, 'Confirm'));
  expectHtmlPage(result, 'POST /reauth with the right password');
  await h.shot(page, 'reauthenticated');

  result = await clickRevokeOther(page);
  expectHtmlPage(result, 'revoke after re-authentication');
  await h.shot(page, 'other session revoked');
  assert.equal((await sessionRows(page)).length, 1, 'after re-authentication the other session is ended');
  expectHtmlPage(await reload(pagePhone), 'phone: reload');
  await expectSignedOut(pagePhone, 'phone after being revoked');
});

// 4b -------------------------------------------------------------------------------------------
browserTest('4b. password change through the form: other sessions end, the new password works', async (h) => {
  const demo = await h.startDemo();
  const laptop = await h.newContext();
  const phone = await h.newContext();
  const pagePhone = await phone.newPage();
  expectHtmlPage(await goto(pagePhone, `${demo.url}/`), 'phone: GET /');
  await loginOk(pagePhone, ALICE, 'phone: login');
  const page = await laptop.newPage();
  expectHtmlPage(await goto(page, `${demo.url}/`), 'laptop: GET /');
  await loginOk(page, ALICE, 'laptop: login');
  await h.shot(page, 'signed in');

  const replacement = 'through-the-looking-glass';
  const f = await form(page, '/password', 'expected a password-change form with fields current, replacement, _csrf');
  for (const field of ['current', 'replacement', '_csrf']) {
    assert.equal(await f.locator(`input[name="${field}"]`).count(), 1, `the password form has no input named "${field}"`);
  }
  await f.locator('input[name="current"]').fill(ALICE.password);
  await f.locator('input[name="replacement"]').fill(replacement);
  const result = await submit(page, f.locator('button[type="submit"], input[type="submit"]').first());
  await h.shot(page, 'password changed');
  expectHtmlPage(result, 'POST /password');
  // A success is not shown as an error: its own style (and role=status, not alert).
  assert.equal(await page.locator('.notice.success[role=status]').count(), 1, `"password changed" should be a success notice: ${await page.content()}`);
  assert.equal(await page.locator('.notice.error').count(), 0, 'no error notice after a successful password change');
  assert.equal((await pageState(page)).user, 'alice', `the browser that changed the password stays signed in: ${await bodyText(page)}`);

  expectHtmlPage(await reload(pagePhone), 'phone: reload');
  await h.shot(pagePhone, 'phone after the change');
  await expectSignedOut(pagePhone, 'the other session after a password change');

  const fresh = await (await h.newContext()).newPage();
  expectHtmlPage(await goto(fresh, `${demo.url}/`), 'fresh browser: GET /');
  expectHtml(await login(fresh, ALICE), 'login with the old password');
  await h.shot(fresh, 'old password refused');
  assert.equal((await pageState(fresh)).user, null, 'the old password no longer signs in');
  await loginOk(fresh, { user: 'alice', password: replacement }, 'login with the new password');
  await h.shot(fresh, 'new password works');
});

// 5 --------------------------------------------------------------------------------------------
browserTest('5. a form on another origin is refused and the session is unchanged', async (h) => {
  const demo = await h.startDemo();
  const attacker = h.track(await startAttacker());
  const context = await h.newContext();
  const victim = await context.newPage();
  expectHtmlPage(await goto(victim, `${demo.url}/`), 'GET /');
  // Set up the victim's state through the JSON API (what is tested here is only the refusal).
  const api = context.request;
  const first = await (await api.get(`${demo.url}/api/session`)).json();
  const loginRes = await api.post(`${demo.url}/api/login`, {
    headers: { 'X-CSRF-Token': first.csrf_token },
    data: { username: ALICE.user, password: ALICE.password },
  });
  assert.equal(loginRes.status(), 200, `setup: POST /api/login: ${await loginRes.text()}`);
  const { csrf_token: token } = await loginRes.json();
  const inc = await api.post(`${demo.url}/api/increment`, { headers: { 'X-CSRF-Token': token } });
  assert.equal(inc.status(), 200, `setup: POST /api/increment: ${await inc.text()}`);

  expectHtmlPage(await reload(victim), 'victim page');
  const before = await pageState(victim);
  const cookieBefore = await sessionCookie(context);
  assert.equal(before.user, 'alice', 'setup: signed in');
  assert.equal(before.visits, 1, 'setup: one visit');
  await h.shot(victim, 'victim before');
  const leaked = await victim.locator('form[action="/logout"] input[name="_csrf"]').inputValue();

  const evil = await context.newPage();
  const target = encodeURIComponent(demo.url);
  expectHtmlPage(await goto(evil, `${attacker.url}/?target=${target}&token=${encodeURIComponent(leaked)}`), 'attacker page');
  await h.shot(evil, 'attacker page');

  for (const [id, what] of [
    ['increment', `POST ${demo.url}/increment from ${attacker.url} (no token)`],
    ['logout', `POST ${demo.url}/logout from ${attacker.url} (with a leaked token)`],
  ]) {
    // Chromium asks for /favicon.ico when it shows a non-HTML (JSON) refusal: a 404 then is
    // expected here, on the attacker's tab only.
    const result = await h.tolerate(evil, /^Failed to load resource: the server responded with a status of 404/, () =>
      submit(evil, evil.locator(`form#${id} button`)),
    );
    await h.shot(evil, `attacker ${id} answer`);
    assert.ok(result.status >= 400, `${what} should be refused, got ${result.status} [${result.chain}]: ${result.body.slice(0, 200)}`);
    assert.ok(!result.chain.includes('→ 303'), `${what} must not be accepted: [${result.chain}]`);
    expectHtmlPage(await goto(victim, `${demo.url}/`), 'victim page after the attack');
    const now = await pageState(victim);
    assert.equal(now.user, 'alice', `${what}: the victim must still be signed in`);
    assert.equal(now.visits, before.visits, `${what}: the visit count must not change`);
    assert.equal((await sessionCookie(context))?.value, cookieBefore.value, `${what}: the session cookie must not change`);
    expectHtmlPage(await goto(evil, `${attacker.url}/?target=${target}&token=${encodeURIComponent(leaked)}`), 'attacker page');
  }
  await h.shot(victim, 'victim after');
});

// 6 --------------------------------------------------------------------------------------------
browserTest('6. logout through the form; the old cookie replayed in a fresh browser is no session', async (h) => {
  const demo = await h.startDemo();
  const context = await h.newContext();
  const page = await context.newPage();
  expectHtmlPage(await goto(page, `${demo.url}/`), 'GET /');
  await loginOk(page, ALICE);
  await h.shot(page, 'signed in');
  const old = await sessionCookie(context);
  assert.ok(old, `no session cookie after login; cookies: ${await cookieNames(context)}`);

  const result = await submit(page, button(await form(page, '/logout'), 'Log out'));
  await h.shot(page, 'logged out');
  expectHtmlPage(result, 'POST /logout');
  await expectSignedOut(page, 'after Log out');
  assert.equal((await sessionCookie(context))?.value, undefined, 'the browser dropped the session cookie');

  const replay = await h.newContext();
  await replay.addCookies([old]);
  const again = await replay.newPage();
  expectHtmlPage(await goto(again, `${demo.url}/`), 'GET / with the replayed cookie');
  await h.shot(again, 'replayed cookie');
  await expectSignedOut(again, 'the replayed cookie');
  const state = await pageState(again);
  assert.ok(state.noSession, `the replayed cookie must be "no session": ${await bodyText(again)}`);
  const json = await (await replay.request.get(`${demo.url}/api/session`)).json();
  assert.equal(json.authenticated, false, `GET /api/session with the replayed cookie: ${JSON.stringify(json)}`);
  assert.equal(json.session.id_hint, null, `GET /api/session with the replayed cookie: ${JSON.stringify(json)}`);
});

// 7 --------------------------------------------------------------------------------------------
browserTest('7. a stale page (login in another tab) answers HTML with a notice and a working form', async (h) => {
  const demo = await h.startDemo();
  const context = await h.newContext();
  const tabA = await context.newPage();
  const tabB = await context.newPage();
  expectHtmlPage(await goto(tabA, `${demo.url}/`), 'tab A: GET /');
  expectHtmlPage(await goto(tabB, `${demo.url}/`), 'tab B: GET /');
  await loginOk(tabA, ALICE, 'tab A: login');
  await h.shot(tabA, 'tab A signed in');

  // The refusal may be a 403 HTML page or a redirect to a page with a notice: both are fine, a
  // JSON answer is not.
  let result = await increment(tabB);
  await h.shot(tabB, 'tab B stale submit');
  expectHtml(result, 'tab B: Increment from the page loaded before the login');
  const stale = await pageState(tabB);
  assert.ok(stale.notice, `the stale submit should show a notice; the page says: ${await bodyText(tabB)}`);
  assert.ok(stale.forms.includes('/increment'), `the answer should offer a working Increment form; forms: ${stale.forms.join(', ')}`);
  const shown = stale.visits ?? 0;

  result = await increment(tabB);
  await h.shot(tabB, 'tab B submit again');
  expectHtmlPage(result, 'tab B: Increment again from the notice page');
  assert.equal(await visits(tabB), shown + 1, 'submitting again from the notice page increments');
  assert.equal((await pageState(tabB)).user, 'alice', 'tab B now shows the login made in tab A');
});

// 9 --------------------------------------------------------------------------------------------
browserTest('9. guessing through the login form meets the throttle: a 429 page that says how long to wait', async (h) => {
  const demo = await h.startDemo(['--login-pair-free', '2', '--login-max-delay', '60']);
  const context = await h.newContext();
  const page = await context.newPage();
  expectHtmlPage(await goto(page, `${demo.url}/`), 'GET /');
  for (let i = 1; i <= 3; i += 1) {
    const result = await login(page, { user: 'alice', password: `guess ${i}` });
    expectHtml(result, `wrong password ${i}`);
    assert.equal(result.status, 401, `wrong password ${i}: 401 (the third puts a 1 s delay in force)`);
  }
  const throttled = await login(page, ALICE);
  await h.shot(page, 'throttled');
  expectHtml(throttled, 'the right password during the delay');
  assert.equal(throttled.status, 429, 'within the delay even the right password answers 429');
  const notice = (await pageState(page)).notice ?? '';
  assert.match(notice, /Too many failed sign-ins\. Please wait 1 second before trying again\./,
    `the page should say why and how long to wait; it says: ${await bodyText(page)}`);
  assert.ok((await form(page, '/login', 'the 429 page keeps the login form')), 'a login form to try again');

  await sleep(1100);
  await loginOk(page, ALICE, 'after the delay, the right password');
  await h.shot(page, 'signed in after the delay');
  const device = (await context.cookies()).find((c) => c.name === 'device');
  assert.ok(device, `a successful sign-in leaves the device cookie; cookies: ${await cookieNames(context)}`);
  assert.equal(device.httpOnly, true, `the device cookie must be HttpOnly: ${JSON.stringify(device)}`);
  assert.equal(device.sameSite, 'Strict', `the device cookie should be SameSite=Strict: ${JSON.stringify(device)}`);
  assert.ok(!(await page.evaluate(() => document.cookie)).includes('device='), 'document.cookie does not show it');
});
