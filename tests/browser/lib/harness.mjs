// Browser, per-test bookkeeping (fresh contexts, console/CSP error watch, screenshots) and the
// page helpers the tests share. Assertion messages say what the browser saw, so a failure in
// CI reads without the screenshots.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startConsole, startDemo } from './processes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const demoBinary = process.env.SESSIONKIT_DEMO;
export const sessionctlBinary = process.env.SESSIONCTL;
export const screenshotRoot = path.resolve(
  repoRoot,
  process.env.BROWSER_SCREENSHOTS || path.join('build', 'browser-screenshots'),
);
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
// Closed network, root, no GPU: never reach out, never update anything.
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const ACTION_TIMEOUT = 10_000;
export const NAVIGATION_TIMEOUT = 15_000;
export const TEST_TIMEOUT = 120_000;
export const ALICE = { user: 'alice', password: 'wonderland' };

let browser;

/** Launches Chromium once for the file (before) and closes it (after). */
export function useBrowser() {
  before(async () => {
    if (!fs.existsSync(chromiumPath)) {
      throw new Error(`${chromiumPath} not found: install Debian's chromium (scripts/install-deps.sh --browser)`);
    }
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 60_000 });
  });
  after(async () => {
    await browser?.close();
  });
}

function slug(name) {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);
}

/**
 * One browser test. `body(h)` gets a helper object:
 *   h.startDemo(args)   the real demo (stopped after the test),
 *   h.startConsole(o)   sessionctl console (processes.mjs startConsole; stopped after the test),
 *   h.track(server)     any other server to stop after the test,
 *   h.newContext(opts)  a fresh browser context whose pages are watched for console errors,
 *                       page errors and CSP violations,
 *   h.shot(page, name)  a screenshot under build/browser-screenshots/<test>/.
 * After the body: any console error / page error / CSP violation fails the test.
 * On failure every open page is photographed and the demo's stderr tail is attached.
 */
export function browserTest(name, body, { timeout = TEST_TIMEOUT } = {}) {
  test(name, { timeout }, async () => {
    const dir = path.join(screenshotRoot, slug(name));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const contexts = [];
    const servers = [];
    const demos = [];
    const problems = []; // console errors, page errors, CSP violations
    const tolerated = []; // [{ pattern, page }] while a step expects such errors
    let shots = 0;

    const h = {
      dir,
      async startDemo(args = []) {
        const demo = await startDemo(demoBinary, args);
        demos.push(demo);
        return demo;
      },
      async startConsole(options) {
        const console = await startConsole(sessionctlBinary, options);
        demos.push(console);
        return console;
      },
      track(server) {
        servers.push(server);
        return server;
      },
      async newContext(options = {}) {
        const context = await browser.newContext({ ...options });
        context.setDefaultTimeout(ACTION_TIMEOUT);
        context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT);
        const label = `context ${contexts.length + 1}`;
        // A CSP violation also shows up as a console error; this makes it unmistakable.
        await context.addInitScript(() => {
          document.addEventListener('securitypolicyviolation', (e) => {
            console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
          });
        });
        // Chromium logs "Failed to load resource: the server responded with a status of 4xx"
        // for a top-level document too: the status of a page the test navigated to is checked
        // by the test itself (a 401 page asking for the password is fine), so only such
        // messages about subresources (a missing favicon, say) count as errors.
        const documents = new Set();
        context.on('response', (r) => {
          if (r.request().isNavigationRequest() && !r.frame().parentFrame()) documents.add(r.url());
        });
        context.on('console', (msg) => {
          if (msg.type() !== 'error') return;
          const page = msg.page();
          const text = msg.text();
          if (text.startsWith('Failed to load resource: the server responded with a status of') && documents.has(msg.location().url)) return;
          if (tolerated.some((t) => t.page === page && t.pattern.test(text))) return;
          problems.push(`${label} console error on ${page?.url() ?? '?'}: ${text}`);
        });
        context.on('weberror', (e) => problems.push(`${label} page error on ${e.page()?.url() ?? '?'}: ${e.error()}`));
        contexts.push(context);
        return context;
      },
      /**
       * Runs `step` while console errors matching `pattern` on `page` are expected (Chromium
       * logs "Failed to load resource: ... 403" for a refused navigation, for instance).
       */
      async tolerate(page, pattern, step) {
        const entry = { page, pattern };
        tolerated.push(entry);
        try {
          return await step();
        } finally {
          await new Promise((r) => setTimeout(r, 300)); // late console messages of that step
          tolerated.splice(tolerated.indexOf(entry), 1);
        }
      },
      async shot(page, state) {
        shots += 1;
        const file = path.join(dir, `${String(shots).padStart(2, '0')}-${slug(state)}.png`);
        await page.screenshot({ path: file, fullPage: true, timeout: ACTION_TIMEOUT });
        return file;
      },
    };

    let failure;
    try {
      await body(h);
      // Let late console messages of the last navigation arrive.
      await new Promise((r) => setTimeout(r, 200));
      if (problems.length > 0) {
        throw new Error(`the browser reported ${problems.length} console/page/CSP error(s):\n  ${problems.join('\n  ')}`);
      }
    } catch (e) {
      failure = e;
      let n = 0;
      for (const context of contexts) {
        for (const page of context.pages()) {
          n += 1;
          await page
            .screenshot({ path: path.join(dir, `failure-page${n}.png`), fullPage: true, timeout: 5_000 })
            .catch(() => {});
        }
      }
      const extra = [];
      if (problems.length > 0 && !String(e.message).includes('console/page/CSP')) {
        extra.push(`browser errors seen:\n  ${problems.join('\n  ')}`);
      }
      for (const demo of demos) {
        const tail = demo.stderr().split('\n').slice(-15).join('\n');
        extra.push(`${demo.name} (pid ${demo.pid}) stderr, last lines:\n${tail}`);
      }
      extra.push(`screenshots: ${dir}`);
      e.message = `${e.message}\n${extra.join('\n')}`;
    } finally {
      for (const context of contexts) await context.close().catch(() => {});
      for (const server of servers) await server.stop().catch(() => {});
      for (const demo of demos) {
        const exit = await demo.stop().catch((err) => ({ error: err.message }));
        if (!failure && exit && exit.code !== 0) {
          failure = new Error(`${demo.name} (pid ${demo.pid}) did not exit cleanly: ${JSON.stringify(exit)}`);
        }
      }
    }
    if (failure) throw failure;
  });
}

// ---------------------------------------------------------------------------------------------
// Page helpers

/** "POST /increment → 303, GET / → 200" for a navigation's redirect chain. */
async function chainOf(response) {
  const requests = [];
  for (let r = response.request(); r; r = r.redirectedFrom()) requests.unshift(r);
  const parts = [];
  for (const r of requests) {
    const res = await r.response();
    parts.push(`${r.method()} ${new URL(r.url()).pathname}${new URL(r.url()).search} → ${res ? res.status() : '?'}`);
  }
  return parts.join(', ');
}

/**
 * Clicks `locator` (a submit button) and waits for the main frame's final (non-redirect)
 * navigation response. Returns { status, contentType, url, chain, body }.
 */
export async function submit(page, locator) {
  const responded = page.waitForResponse(
    (r) =>
      r.request().isNavigationRequest() &&
      r.frame() === page.mainFrame() &&
      !(r.status() >= 300 && r.status() < 400),
    { timeout: NAVIGATION_TIMEOUT },
  );
  await locator.click();
  const response = await responded;
  await page.waitForLoadState('load');
  return describe(response);
}

export async function goto(page, url) {
  const response = await page.goto(url, { waitUntil: 'load' });
  return describe(response);
}

export async function reload(page) {
  const response = await page.reload({ waitUntil: 'load' });
  return describe(response);
}

async function describe(response) {
  const body = await response.text().catch(() => '');
  return {
    status: response.status(),
    contentType: response.headers()['content-type'] ?? '',
    url: response.url(),
    chain: await chainOf(response),
    body,
  };
}

/** Fails unless the navigation ended on the demo's HTML page with 200. */
export function expectHtmlPage(result, what) {
  const html = result.contentType.startsWith('text/html');
  if (result.status !== 200 || !html) {
    const snippet = result.body.replace(/\s+/g, ' ').trim().slice(0, 240);
    assert.fail(
      `${what}: expected the demo's HTML page (200 text/html), got ${result.status} ${result.contentType || '(no type)'}` +
        ` [${result.chain}]: ${snippet}`,
    );
  }
}

/**
 * Like expectHtmlPage, but the status may be a 4xx too: a refusal or a "confirm your password"
 * page may say so in its status, as long as it is a page and not raw JSON.
 */
export function expectHtml(result, what) {
  if (!result.contentType.startsWith('text/html') || result.status >= 500) {
    const snippet = result.body.replace(/\s+/g, ' ').trim().slice(0, 240);
    assert.fail(
      `${what}: expected an HTML page, got ${result.status} ${result.contentType || '(no type)'} [${result.chain}]: ${snippet}`,
    );
  }
}

/** What the demo's page shows: { visits, user, noSession, notice, forms }. */
export async function pageState(page) {
  return page.evaluate(() => {
    const visits = document.querySelector('#visits');
    const signedIn = [...document.querySelectorAll('p')].find((p) => p.textContent.startsWith('Signed in as'));
    const notice = document.querySelector('[role=alert], .notice');
    return {
      visits: visits ? Number(visits.textContent.trim()) : null,
      user: signedIn ? signedIn.querySelector('strong')?.textContent ?? '' : null,
      noSession: document.body ? document.body.innerText.includes('No session is stored for you yet') : false,
      notice: notice ? notice.textContent.trim() : null,
      forms: [...document.querySelectorAll('form')].map((f) => f.getAttribute('action')),
    };
  });
}

export async function visits(page) {
  const state = await pageState(page);
  if (state.visits === null) {
    assert.fail(`no visit count (#visits) on the page at ${page.url()}: ${await bodyText(page)}`);
  }
  return state.visits;
}

export async function bodyText(page) {
  const text = await page.evaluate(() => document.body?.innerText ?? '').catch(() => '');
  return text.replace(/\s+/g, ' ').trim().slice(0, 240);
}

/** The form with this action, or a clear failure naming the forms the page does have. */
export async function form(page, action, why = '') {
  const f = page.locator(`form[action="${action}"]`);
  const n = await f.count();
  if (n === 0) {
    const state = await pageState(page).catch(() => ({ forms: [] }));
    assert.fail(
      `the page at ${page.url()} has no form posting to ${action}${why ? ` (${why})` : ''}; ` +
        `its forms post to: ${state.forms.join(', ') || '(none)'}`,
    );
  }
  return f.first();
}

export function button(scope, name) {
  return scope.getByRole('button', { name, exact: true });
}

export async function increment(page, what = 'Increment') {
  return submit(page, button(await form(page, '/increment'), 'Increment'));
}

/** Logs in through the page's form. Returns the navigation result. */
export async function login(page, { user, password } = ALICE) {
  const f = await form(page, '/login', 'the login form: is the page signed out?');
  await f.locator('input[name="username"]').fill(user);
  await f.locator('input[name="password"]').fill(password);
  return submit(page, button(f, 'Log in'));
}

/** Logs in and checks the page says so. */
export async function loginOk(page, creds = ALICE, what = 'login through the form') {
  const result = await login(page, creds);
  expectHtmlPage(result, what);
  const state = await pageState(page);
  assert.equal(state.user, creds.user, `${what}: the page should say "Signed in as ${creds.user}", it shows: ${await bodyText(page)}`);
  return result;
}

/** The session cookie (development: "sid", production: "__Host-sid") of a context. */
export async function sessionCookie(context, name = 'sid') {
  const cookies = await context.cookies();
  return cookies.find((c) => c.name === name || c.name === `__Host-${name}`);
}

export async function cookieNames(context) {
  return (await context.cookies()).map((c) => c.name).join(', ') || '(none)';
}
