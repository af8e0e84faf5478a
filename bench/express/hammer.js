// Lost-update probe for bench/macro/compare-express.sh: CONNECTIONS keep-alive connections send
// PER_CONNECTION requests each, one after another, all with the same cookie (ONE session), then
// the counter is read back. Every request is awaited (no request is left in flight), each has a
// timeout, so the count sent is exact and the run is bounded.
//   node hammer.js URL COOKIE [CONNECTIONS=64] [PER_CONNECTION=50] [READ_URL]
// Prints one line of JSON: {"sent","ok","non2xx","errors","ms","before","after","lost"};
// lost = ok - (after - before): 2xx answers whose increment the counter does not hold.
'use strict';

const http = require('node:http');

const [url, cookie, conns = '64', per = '50', readUrl] = process.argv.slice(2);
if (!url || !cookie) {
  console.error('usage: node hammer.js URL COOKIE [CONNECTIONS] [PER_CONNECTION] [READ_URL]');
  process.exit(2);
}
const connections = Number(conns);
const perConnection = Number(per);
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });

function call(method, target) {
  return new Promise((resolve) => {
    const req = http.request(target, { method, agent, headers: { cookie }, timeout: 10000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', () => resolve({ status: 0, text: '' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, text: '' }));
    req.end();
  });
}

async function count() {
  const r = await call('GET', readUrl ?? new URL('/api/session', url).href);
  if (r.status !== 200) throw new Error(`reading the counter: HTTP ${r.status} ${r.text}`);
  return JSON.parse(r.text).count ?? 0;
}

async function main() {
  const before = await count();
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      for (let i = 0; i < perConnection; i += 1) {
        const r = await call('POST', url);
        if (r.status === 0) errors += 1;
        else if (r.status >= 200 && r.status < 300) ok += 1;
        else non2xx += 1;
      }
    }),
  );
  const ms = Date.now() - t0;
  const after = await count();
  agent.destroy();
  const sent = connections * perConnection;
  console.log(JSON.stringify({ sent, ok, non2xx, errors, ms, before, after, lost: ok - (after - before) }));
}

main().catch((e) => {
  console.error(`hammer.js: ${e.message}`);
  process.exit(1);
});
