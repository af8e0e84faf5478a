// The design's Express example (express-session, login with regenerate, a counter), on one of two
// stores, for bench/macro/compare-express.sh:
//   STORE=sessiond       sessionkit-express's SessiondStore (SESSIOND_URL, SESSIOND_KEY)
//   STORE=connect-redis  connect-redis 9 with the `redis` client (REDIS_URL), as the design does it
// Also: PORT (0 = any; the bound port is printed as "listening on http://127.0.0.1:PORT"),
// SESSION_SECRET. Loopback only. Run with `node --preserve-symlinks app.js`: sessionkit-express
// is a file: dependency (a symlink to packages/sessionkit-express), and without the flag its
// require('express-session') fails unless the package has a node_modules of its own (a fresh
// checkout has none); with it, the package finds this directory's express-session.
//
// Routes (the same JSON API as ../shared/bench/peer):
//   GET  /healthz                 no session (before the middleware): bare Express
//   POST /login                   {"user","password"}: regenerate, set the user (sessiond: bindUser)
//   GET  /api/session             read: {"user","count"}
//   POST /api/increment           req.session.count = (req.session.count || 0) + 1, the usual
//                                 read-modify-write; what concurrent requests lose is measured
//   POST /api/increment-atomic    sessiond only: sessiond's atomic increment of the same field
//                                 (store.increment: POST /v1/sessions/{id}/increment); req.session
//                                 is left unmodified, so express-session writes no stale copy back.
'use strict';

const express = require('express');
const session = require('express-session');

const STORE = process.env.STORE ?? 'sessiond';
const SECRET = process.env.SESSION_SECRET;
if (!SECRET) {
  console.error('SESSION_SECRET must be set');
  process.exit(2);
}
const users = { alice: 'wonderland', bob: 'builder' }; // demo accounts, as in examples/express

async function makeStore() {
  if (STORE === 'sessiond') {
    const { SessiondStore } = require('sessionkit-express');
    return new SessiondStore({
      url: process.env.SESSIOND_URL ?? 'http://127.0.0.1:7400',
      apiKey: process.env.SESSIOND_KEY,
    });
  }
  if (STORE === 'connect-redis') {
    const { createClient } = require('redis');
    const { RedisStore } = require('connect-redis');
    const client = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
    client.on('error', (err) => console.error('redis error', err.message));
    await client.connect();
    return new RedisStore({ client, prefix: 'sess:' });
  }
  throw new Error('STORE must be sessiond or connect-redis');
}

async function main() {
  const store = await makeStore();
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (req, res) => {
    res.type('text/plain').send('ok');
  });

  app.use(express.json({ limit: '16kb' }));
  // The same options for both stores (those of examples/express; no `secure`: plain HTTP here).
  app.use(
    session({
      store,
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax' },
    }),
  );

  app.post('/login', (req, res, next) => {
    const { user, password } = req.body ?? {};
    if (!user || users[user] !== password) return res.status(401).json({ error: 'wrong user or password' });
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = user;
      req.session.save((err2) => {
        if (err2) return next(err2);
        if (STORE !== 'sessiond') return res.json({ user });
        // As examples/express does: the user goes into sessiond's index (log out everywhere).
        store.bindUser(req.sessionID, user).then(() => res.json({ user }), next);
      });
    });
  });

  app.get('/api/session', (req, res) => {
    res.json({ user: req.session.user ?? null, count: req.session.count ?? 0 });
  });

  app.post('/api/increment', (req, res) => {
    if (!req.session.user) return res.status(401).json({ error: 'not signed in' });
    req.session.count = (req.session.count || 0) + 1;
    res.json({ count: req.session.count });
  });

  app.post('/api/increment-atomic', (req, res, next) => {
    if (STORE !== 'sessiond') return res.status(501).json({ error: 'no atomic increment on this store' });
    if (!req.session.user) return res.status(401).json({ error: 'not signed in' });
    store.increment(req.sessionID, 'count', 1).then(
      (value) => res.json({ count: value }),
      (e) => (e.status === 404 ? res.status(401).json({ error: 'session ended' }) : next(e)),
    );
  });

  // A store failure is a 503, never "signed out" (as in examples/express).
  app.use((err, req, res, next) => {
    res.status(err.status === 503 || err.status === 0 ? 503 : 500).json({ error: err.message });
  });

  const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port} store=${STORE} pid=${process.pid}`);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
