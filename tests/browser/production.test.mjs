// sessionkit-demo in production mode behind a local TLS-terminating proxy (self-signed
// certificate, X-Forwarded-For / X-Forwarded-Proto: https, --trusted-proxies 127.0.0.1), so that
// the browser handles the __Host- prefixed, Secure session cookie for real.
import assert from 'node:assert/strict';

import {
  ALICE,
  browserTest,
  cookieNames,
  expectHtmlPage,
  goto,
  increment,
  loginOk,
  pageState,
  sessionCookie,
  useBrowser,
  visits,
} from './lib/harness.mjs';
import { startTlsProxy } from './lib/processes.mjs';

useBrowser();

browserTest('8. production mode over https: __Host- Secure HttpOnly cookie, login and Increment', async (h) => {
  const demo = await h.startDemo(['--mode', 'production', '--trusted-proxies', '127.0.0.1']);
  const proxy = h.track(await startTlsProxy(demo.port));
  const context = await h.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();

  expectHtmlPage(await goto(page, `${proxy.url}/`), `GET ${proxy.url}/ through the TLS proxy`);
  await h.shot(page, 'https signed out');
  assert.ok(!(await page.content()).includes('Development mode'), 'production mode must not say "Development mode"');

  await loginOk(page, ALICE, 'login through the form over https');
  await h.shot(page, 'https signed in');
  const cookie = await sessionCookie(context);
  assert.ok(cookie, `after login over https the browser should hold "__Host-sid"; it has: ${await cookieNames(context)}`);
  assert.equal(cookie.name, '__Host-sid', `the production session cookie is __Host- prefixed: ${JSON.stringify(cookie)}`);
  assert.equal(cookie.secure, true, `the session cookie must be Secure: ${JSON.stringify(cookie)}`);
  assert.equal(cookie.httpOnly, true, `the session cookie must be HttpOnly: ${JSON.stringify(cookie)}`);
  assert.equal(cookie.path, '/', `a __Host- cookie has Path=/: ${JSON.stringify(cookie)}`);
  const visible = await page.evaluate(() => document.cookie);
  assert.ok(!visible.includes(cookie.value), `document.cookie contains the session cookie: "${visible}"`);

  const before = await visits(page);
  const result = await increment(page);
  await h.shot(page, 'https after increment');
  expectHtmlPage(result, 'Increment over https');
  assert.equal(await visits(page), before + 1, 'Increment over https adds one visit');
  assert.equal((await pageState(page)).user, 'alice', 'still signed in after Increment');
});
