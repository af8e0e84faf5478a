// The design's Express example on sessiond: login regenerates the session, logout destroys
// it, a visit counter, and "log out everywhere" (which express-session alone cannot do).
//
//   SESSIOND_URL=http://127.0.0.1:7400 SESSIOND_KEY=... SESSION_SECRET=... [PORT=3000] node app.js
//
// PORT=0 takes a free port; the first line on stdout names it ("listening on http://...").
'use strict';

const express = require('express');
const session = require('express-session');
const { SessiondStore } = require('sessionkit-express');

const store = new SessiondStore({
  url: process.env.SESSIOND_URL ?? 'http://127.0.0.1:7400',
  apiKey: process.env.SESSIOND_KEY,
});
const users = { alice: 'wonderland', bob: 'builder' }; // demo accounts

const app = express();
app.use(express.json());
app.use(
  session({
    store,
    secret: process.env.SESSION_SECRET ?? 'change me',
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: process.env.NODE_ENV === 'production' },
  }),
);

// While the store is disconnected express-session leaves req.session unset: unavailable, not
// "signed out".
app.use((req, res, next) => {
  if (!req.session) return res.status(503).json({ error: 'the session store is unavailable' });
  next();
});

app.post('/login', (req, res, next) => {
  const { user, password } = req.body ?? {};
  if (!user || users[user] !== password) return res.status(401).json({ error: 'wrong user or password' });
  // A new ID at login (fixation), the user bound in sessiond's index once it is stored.
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = user;
    req.session.save((err2) => {
      if (err2) return next(err2);
      store.bindUser(req.sessionID, user).then(() => res.json({ user }), next);
    });
  });
});

app.post('/logout', (req, res, next) => {
  req.session.destroy((err) => (err ? next(err) : res.json({ ok: true })));
});

app.post('/logout-everywhere', (req, res, next) => {
  if (!req.session.user) return res.status(401).json({ error: 'not signed in' });
  store.destroyUser(req.session.user, req.sessionID).then((n) => res.json({ ended: n }), next);
});

app.get('/', (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  res.json({ user: req.session.user ?? null, views: req.session.views });
});

// A store failure is a 503, never "signed out".
app.use((err, req, res, next) => {
  res.status(err.status === 503 || err.status === 0 ? 503 : 500).json({ error: err.message });
});

const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
