// sessionkit/manager.h — SessionManager: the policy between HTTP and a SessionStore.
//
// Per request: `load` reads the session cookie, verifies its signature (keyring), and loads the
// record by key (SHA-256 of the ID). Then the handler works on the `Session`, and `commit`
// writes what changed and emits the Set-Cookie / Cache-Control headers. Both are asynchronous
// (the store's completion rules apply: the callback may run inline).
//
// Policy, all server-side:
// - Strict mode, always: an ID the store does not know is never adopted; a session is created
//   only under a fresh CSPRNG ID. A cookie with a bad signature is ignored ("no session").
// - Idle and absolute timeouts are re-checked on every load, whatever the store returned; an
//   expired record is destroyed and reported as an `expired` event.
// - Save rules (express-session semantics): a new session is stored only when it was modified
//   (or `save_uninitialized`); an unchanged loaded session is rewritten only with `resave`,
//   otherwise only its access time is refreshed, lazily (at most once per `touch_interval`).
//   `rolling` re-sends the cookie on every response.
// - A store failure is an error result (`errc::unavailable`), never "no session": the caller
//   answers 503 and commit sends no cookie.
// - Limits: the encoded payload may not exceed `max_payload_bytes` nor hold more than `max_keys`
//   keys; commit then fails with `errc::too_large` and writes nothing.
//
// CSRF: `csrf_token` returns a token masked afresh on every call (BREACH-safe). Its secret is
// HMAC(keyring, "csrf:secret", seed), where the seed is 32 random bytes per browser: kept in a
// signed cookie (`<cookie name>-csrf`, signed under another purpose than the secret's, so the
// cookie does not reveal it) while the visitor has no stored session, so anonymous visitors cost
// no store record, and copied into the session record (reserved key `_sk_csrf`) when the first
// write creates one. Every page a browser loaded therefore keeps working when any tab's first
// write creates the session, and when the ID rotates. Signing a user in (`Session::set_user`
// with a user) starts a new seed, as Django does: pages loaded before the sign-in must be
// reloaded (the demo answers them with the page again and a notice). `csrf_token` may be called
// before or after `commit`, any number of times: it writes the browser's CSRF cookie into the
// response itself when the browser needs one. A token reflects the session as it stands: call
// it after `set_user`. Records made before seeds existed use HMAC(session ID) instead.
//
// Bearer (opt-in, `SessionOptions::bearer`): clients without cookies (native apps, service
// calls) present the session credential as `Authorization: Bearer <token>` (RFC 6750) and/or a
// custom header (e.g. `X-Session-Token: <token>`). The token is exactly the signed value the
// session cookie carries, verified the same way (keyring, strict mode: a bad signature, an
// unknown or expired ID, an empty or garbage token is "no session", never adopted). Such a
// request is a bearer request (`Session::via_bearer()`, also when its token was refused):
// - commit never writes a cookie for it (neither the session cookie nor the CSRF cookie): the
//   client did not ask for cookies. A session created, rotated (`regenerate`) or re-signed
//   under the newest secret during it has a new credential (`Session::token_renewed()` after
//   commit): commit writes it into the response header `bearer.response_header` (default
//   `X-Session-Token`, in place of a Set-Cookie), and the app may also hand
//   `bearer_token(session)` out itself (e.g. in its JSON answer, after commit).
//   A native app's first request (no token yet) sends `Authorization: Bearer` with no token,
//   or the custom header empty: a bearer request without a session.
// - rotation and destroy work as with cookies: after `regenerate` the old token is dead, after
//   `destroy` the token is dead.
// - it needs no CSRF token: `verify_csrf` accepts it (and the adapters skip their CSRF and Origin
//   checks), since a browser never attaches a bearer credential on its own (docs/security.md).
// - a request with both a session cookie and a bearer credential (or both bearer headers) is
//   refused by `load` with errc::invalid_argument (answer 400), never resolved silently: a
//   cookie riding along with a bearer call is the ambient credential CSRF exploits.
// - an Authorization header of another scheme (Basic, ...) is ignored (it may be for something
//   else), and so is every bearer header while the option is off.
// Bearer needs a store: the constructor refuses it with client-side sessions.
//
// Client-side sessions: given `ClientSideOptions` instead of a store (client_side.h), the manager
// keeps each session in its sealed cookie; the policy above is the same, except that nothing can
// be revoked on the server (the operations that need a store answer `errc::unsupported`),
// `increment` is not atomic across requests, and `max_sessions_per_user` cannot be enforced (the
// constructor rejects it).
//
// Thread safety: a SessionManager is shared by all request threads; every member is thread-safe.
// Lifetime: the manager must outlive every operation it started (a store completion calls back
// into it); stop the request threads, and with them the store calls, before destroying it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/client_side.h"
#include "sessionkit/clock.h"
#include "sessionkit/cookie_sealer.h"
#include "sessionkit/credentials.h"
#include "sessionkit/events.h"
#include "sessionkit/http/cookie.h"
#include "sessionkit/http/request.h"
#include "sessionkit/keyring.h"
#include "sessionkit/metrics.h"
#include "sessionkit/rate_limiter.h"
#include "sessionkit/session.h"
#include "sessionkit/store.h"

namespace sessionkit {

struct CookieOptions {
  std::string name = "sid";  // without prefix
  http::CookiePrefix prefix = http::CookiePrefix::none;
  std::string path = "/";
  std::string domain;  // empty: host-only (required with the __Host- prefix)
  bool secure = true;
  bool http_only = true;
  http::SameSite same_site = http::SameSite::lax;
  bool partitioned = false;
  // true: Max-Age = time left until the absolute deadline ("remember me"); false (default): a
  // browser-session cookie, gone when the browser closes (OWASP's advice for shared computers).
  // The server-side timeouts apply either way.
  bool persistent = false;

  std::string full_name() const { return std::string(http::prefix_string(prefix)) + name; }
};

struct SessionOptions {
  CookieOptions cookie;
  Duration idle_timeout = std::chrono::minutes(30);
  Duration absolute_timeout = std::chrono::hours(12);
  // Lazy touch: an unchanged session's access time is written at most this often. The idle
  // timeout is therefore enforced with this granularity. Capped at half the idle timeout.
  Duration touch_interval = std::chrono::seconds(60);
  bool rolling = false;
  bool resave = false;
  bool save_uninitialized = false;
  std::size_t max_payload_bytes = std::size_t{64} * 1024;
  std::size_t max_keys = 256;
  // Opt-in binding of a session to the client that created it (hijacking defence in depth).
  // A request whose User-Agent (`user_agent`) or address (`ip`) differs from the one recorded
  // at creation gets no session: the record is destroyed, an `anomaly` event names the
  // reason, and `Session::refusal()` says why. Addresses change legitimately (mobile networks,
  // dual-stack clients): bind `ip` only where clients have stable addresses.
  struct Binding {
    bool user_agent = false;
    bool ip = false;
  } bind;
  // At most this many sessions per user (0: no cap). When a commit binds a user and the user
  // then has more, the newest this many are kept, by creation time and then by key, and the
  // rest are destroyed (a `destroyed` event each). The order is the same on every app server,
  // so logins that race end no more sessions than the cap demands. If a newer login of the
  // same user took the last slot meanwhile, the committing session is ended as well and commit
  // fails with errc::conflict (no cookie is set).
  std::size_t max_sessions_per_user = 0;
  // Records created for visitors who are not signed in, per client address (IPv6: per /64),
  // limited by a token bucket in this process (RateLimiter): a client that has created `burst`
  // anonymous sessions gets errc::rate_limited (answer 429) until tokens refill at `per_minute`.
  // Sign-ins are not limited by this. burst = 0: no limit.
  struct AnonymousLimit {
    std::size_t burst = 30;
    std::size_t per_minute = 30;
  } anonymous_sessions;
  // Failed re-authentications (wrong password for an action that demands it) a session may have
  // before it is ended (see SessionManager::reauthentication_failed). 0: never ended.
  std::size_t max_reauth_failures = 5;
  // The shortest keyring secret the manager accepts, in bytes. A keyring with a shorter secret,
  // an older one included (it still verifies cookies, so it is as good as a forging key), is
  // refused at construction with std::invalid_argument. Default and production():
  // Keyring::kMinSecretBytes (32 bytes: 256 bits, as strong as HMAC-SHA256's output). development()
  // sets 0 (any non-empty secret) for local runs; never deploy with it.
  std::size_t min_secret_bytes = Keyring::kMinSecretBytes;
  // Bearer session credentials (see "Bearer" at the top of this file). Off by default. When on,
  // the session's signed ID is also read from `Authorization: Bearer <token>` (`authorization`)
  // and/or from the custom header `header` (its whole value is the token; "" for none). An app
  // that also puts other bearer tokens (e.g. JWT access tokens) into Authorization should set
  // `authorization = false` and use a custom header. A commit that gives a bearer session a new
  // credential writes it into the response header `response_header` ("": none; the app then
  // hands out bearer_token itself). A browser app on another origin must list it in
  // Access-Control-Expose-Headers. validate() refuses `enabled` with neither source, and a
  // header that is not a valid header name or is Cookie / Authorization / Set-Cookie.
  struct BearerOptions {
    bool enabled = false;
    bool authorization = true;
    std::string header;  // e.g. "X-Session-Token"
    std::string response_header = "X-Session-Token";
  } bearer;

  // Secure defaults for HTTPS deployments: __Host- prefix, Secure, HttpOnly, SameSite=Lax.
  static SessionOptions production();
  // Plain-HTTP localhost: like production but without Secure and without the prefix.
  static SessionOptions development();
  // errc::invalid_argument when the options contradict each other (e.g. __Host- with Domain).
  Status validate() const;
};

class SessionManager {
 public:
  struct Dependencies {
    const Clock* clock = nullptr;       // default: system_clock()
    std::shared_ptr<EventSink> events;  // default: make_log_sink()
    std::shared_ptr<Metrics> metrics;   // default: a private Metrics
    // Ties sessions to the credentials they were created with (credentials.h). Default: none
    // (stamps given to set_user are recorded but not checked).
    std::shared_ptr<const CredentialSource> credentials;
    // Client-side sessions (client_side.h) instead of a store: set this and pass no store
    // (nullptr). A manager has exactly one of the two.
    std::optional<ClientSideOptions> client_side = std::nullopt;
  };

  // Throws std::invalid_argument when `options.validate()` fails, when it is given both a store
  // and `deps.client_side` or neither, and for `max_sessions_per_user` with client-side sessions
  // (start-up code).
  SessionManager(std::shared_ptr<SessionStore> store, Keyring keyring, SessionOptions options,
                 Dependencies deps);
  SessionManager(std::shared_ptr<SessionStore> store, Keyring keyring,
                 SessionOptions options = SessionOptions::production());

  // Loads the request's session. Errors: store failures (unavailable/timeout/corrupt), and
  // errc::invalid_argument for a request carrying both a session cookie and a bearer
  // credential, or two bearer credentials (bearer enabled only; answer 400).
  void load(const http::RequestView& request, Callback<Session> done);

  // Persists the session's changes and writes cookie headers into `out`. `session` must
  // stay alive until `done` runs. Errors: store failures (nothing is half-applied from the
  // client's point of view: no cookie is sent), `too_large`, and `not_found` when the session
  // was destroyed concurrently (the changes are dropped, never resurrected; the cookie is
  // cleared).
  void commit(Session& session, http::ResponseHeaders& out, Callback<void> done);

  // Atomically adds `delta` to integer value `field` in the store and answers the new value;
  // a session without a record is created with `field = delta`. The session's view is updated.
  void increment(Session& session, std::string field, std::int64_t delta,
                 Callback<std::int64_t> done);

  // Optimistic concurrency: a read-modify-write of several keys that concurrent requests on the
  // same session cannot interleave (a cart and its total; a list and its count). `fn` gets the
  // record's payload as the store holds it now and answers the changes to make (`set` / `erase`
  // of ordinary keys; the other SessionPatch fields must be empty) or an error to abort with,
  // answered as is. The changes are written only if no other `update` wrote the session since
  // that read: the record's version (reserved key `_sk_ver`, 0 before the first update) is the
  // condition of a `SessionStore::patch_if` that also advances it. On `conflict` the record is
  // read again and `fn` runs again, at most `max_attempts` times in all (then errc::conflict);
  // every conflict means another update was written, so n concurrent updates of one session
  // each succeed within n attempts. `fn` must be pure: it may run several times, on a store
  // thread (so it must not block on the store: no sync:: calls inside). `done` answers the
  // version written; the session's view holds the written values.
  //
  // Use it when the new value depends on several values; `increment` for one counter (one
  // atomic store step, no retries); plain `set` + `commit` when the last writer may win
  // (docs/architecture.md, "Concurrent writers of one session"). Keys written by `update`
  // should be written only by `update`: the version orders updates against updates, not
  // against a concurrent plain `set` of the same key; and with `resave` on, every commit writes
  // the whole record back and so can undo a concurrent update. A session without a record
  // applies the changes to its view (commit creates it with them; nobody else can hold it yet:
  // answers version 0); so do client-side sessions (each cookie is its own copy). Errors:
  // not_found when the session ended meanwhile, invalid_argument for a reserved key or other
  // changes, unsupported when the store has no patch_if, store failures.
  using Updater = std::function<Result<SessionPatch>(const nlohmann::json& data)>;
  void update(Session& session, Updater fn, Callback<std::uint64_t> done,
              std::size_t max_attempts = 16);

  // Whether the session's user authenticated (logged in, or `Session::reauthenticated()`)
  // within `max_age` by the manager's clock: the check before a sensitive action (ASVS 3.7.1).
  // False for a session not bound to a user.
  bool authenticated_within(const Session& session, Duration max_age) const;

  // A CSRF token for this session, masked afresh on every call. Writes the browser's CSRF
  // cookie into `out` when the browser needs one (a visitor's first token, or a new seed
  // after a sign-in); commit writes it too if it is still due. Any order with commit is fine.
  std::string csrf_token(Session& session, http::ResponseHeaders& out);
  // Whether `token` is a valid CSRF token for this session (constant time). Counts failures.
  // Always true for a bearer request (`Session::via_bearer()`): it carries no cookie.
  bool verify_csrf(const Session& session, std::string_view token) const;
  // The request's X-CSRF-Token header, if any.
  static std::optional<std::string_view> csrf_header(const http::RequestView& request);

  // Loads the session with ID `id` for a component that holds a credential of its own for it
  // (tokens::RefreshTokens): the policy of `load` — deadlines, binding against the client's
  // address and User-Agent (`user_agent`: the header's value, "" when absent), credential
  // stamps, the lazy touch — as for a bearer request (no cookie is ever written for it, no CSRF
  // token applies). A new session when the ID names no live session. errc::unsupported with
  // client-side sessions; store failures.
  void load_id(const SessionId& id, std::string_view peer_address, std::string_view user_agent,
               Callback<Session> done);

  // Reports an anomaly found by a component built on this manager (refresh tokens) through the
  // manager's event sink, counted like the manager's own (sessionkit_anomalies_total{reason}).
  void report_anomaly(Anomaly which, const SessionKey& key, std::string user_id,
                      std::string reason) const;

  // The session's bearer token: the signed value of its current ID (the one a session cookie
  // would carry, signed with the newest secret). Call it after commit (a new or rotated session
  // has its ID only then); "" for a session that is not stored (none, destroyed, ended).
  std::string bearer_token(const Session& session) const;

  // Counts a failed re-authentication of `session`'s user (a wrong password where a sensitive
  // action demanded one) atomically in the store. At `max_reauth_failures` the session is
  // marked for destruction (`Session::destroy()`, an `anomaly` event): the callback answers true
  // then; commit destroys the record and clears the cookie, and the caller answers as for a
  // signed-out client. A later `Session::reauthenticated()` resets the count. A session without
  // a record answers false. Errors: store failures only.
  void reauthentication_failed(Session& session, Callback<bool> done);

  // Destroys every session of `user_id` except `keep` (e.g. the caller's current session).
  // Errors: store failures; errc::unsupported with client-side sessions (nothing to destroy).
  void revoke_user_sessions(const std::string& user_id, const Session* keep,
                            Callback<std::size_t> done);

  // One of a user's sessions as that user may see it (ASVS 3.3.4): never its ID or store key.
  struct SessionSummary {
    std::string handle;    // opaque and stable: HMAC(newest secret, store key), 22 characters
    bool current = false;  // the session of the request that asked
    Time created_at{};
    Time last_seen_at{};  // the last access written to the store (lazy: touch interval)
    std::string ip;
    std::string user_agent;
  };
  // The sessions of `current`'s user, newest first; none when `current` is not bound to a user.
  // Errors: store failures; errc::unsupported with client-side sessions (for a signed-in one).
  void list_sessions(const Session& current, Callback<std::vector<SessionSummary>> done);
  // Destroys the session named by `handle` if it belongs to `current`'s user: true when one was
  // destroyed, false when this user has no such session (answer 404: another user's handle
  // looks exactly like a wrong one). Errors: store failures; errc::unsupported with client-side
  // sessions (for a signed-in one).
  void revoke_session(const Session& current, std::string_view handle, Callback<bool> done);
  // The handle of a stored session (see SessionSummary); "" for a session not stored.
  std::string session_handle(const SessionKey& key) const;
  std::string session_handle_of(const Session& session) const;

  const SessionOptions& options() const noexcept { return options_; }
  // The store; nullptr with client-side sessions.
  SessionStore* store() noexcept { return store_.get(); }
  // The client-side options; empty with a store.
  const std::optional<ClientSideOptions>& client_side() const noexcept { return client_side_; }
  Metrics& metrics() noexcept { return *metrics_; }
  const Clock& clock() const noexcept { return *clock_; }
  const std::string& csrf_cookie_name() const noexcept { return csrf_cookie_name_; }
  RateLimiter& anonymous_limiter() noexcept { return anonymous_limiter_; }

 private:
  // ---- shared policy helpers (manager.cpp)
  std::optional<Time> touch_due(const Session& s, Time now) const;
  TouchSpec touch_spec(Time now) const;
  SessionRecord fresh_record(const Session& s, Time now) const;
  // Reports a lifecycle event and counts the metric that matches it (created, rotated,
  // destroyed by `count`, expired, anomaly; a store error is counted once per failed store call,
  // by `timed`). `emit` takes the key hint and user from the session. An anomaly is reported
  // with `flag` / `flag_for`, which name which one.
  void emit(EventType type, const Session& s, std::string reason, std::string old_hint = {}) const;
  void emit_for(EventType type, std::string key_hint, std::string user, std::string reason,
                std::uint64_t count = 1, std::string old_hint = {},
                Anomaly which = Anomaly::none) const;
  void flag(Anomaly which, const Session& s, std::string reason) const;
  void flag_for(Anomaly which, std::string key_hint, std::string user, std::string reason) const;
  // "" when the request may use the record; otherwise why binding refuses it.
  std::string binding_violation(const Session& s, const SessionRecord& record) const;
  // Before any write: a new CSRF seed after set_user, the credential stamp staged, a
  // re-authentication's reset of the failure count.
  void prepare_write(Session& s) const;
  // Whether an anonymous record may be created for this client now; errc::rate_limited if not.
  Status admit_anonymous(const Session& s);

  // ---- load (manager_load.cpp)
  // Validly signed session IDs of the request, each with "signed by a secret being retired".
  using Candidates = std::vector<std::pair<SessionId, bool>>;
  // Reads the request's session and CSRF cookies; answers how many session cookies it carried.
  std::size_t read_cookies(const http::RequestView& request, Session& s, Candidates& ids,
                           std::optional<CookieSealer::Opened>& opened) const;
  // Reads the request's bearer credential (bearer enabled): marks `s` as a bearer request and
  // adds its ID when validly signed. errc::invalid_argument when the request also carried
  // `session_cookies` session cookies, or both bearer headers.
  Status read_bearer(const http::RequestView& request, Session& s, Candidates& ids,
                     std::size_t session_cookies) const;
  // The lazy touch a load asks the store for: due by the same rule as commit's touch.
  TouchSpec lazy_touch(Time now) const;
  // Records the client a request comes from (binding checks, new records), for load and load_id.
  static void note_client(Session& s, std::string_view peer_address,
                          std::optional<std::string_view> user_agent);
  // Loads the i-th candidate; a refused one falls through to the next.
  void load_candidate(Session s, Candidates ids, std::size_t i, Callback<Session> done);
  // Why a loaded record may not be used any more ("idle timeout", ...), or nullptr.
  const char* expiry_reason(const SessionRecord& record, Time now) const;
  // The checks a loaded record (from the store or a sealed cookie) passes before the request
  // uses it: deadlines, then binding, then credentials; answers the adopted session or a visitor.
  void accept_loaded(Session s, SessionId id, const SessionKey& key, SessionRecord record,
                     bool reissue, Callback<Session> done);
  // Destroys a loaded record the request may not use (client-side: only reports it) and answers
  // `s` as a visitor (commit clears the cookie); a failed destroy fails the request (503).
  // `refused`: binding refused it (an anomaly; `refusal()` is set); `stale_credentials`: the
  // user's credentials changed since it signed in.
  enum class Ending { refused, stale_credentials };
  void end_loaded(Session s, const SessionKey& key, const std::string& user, std::string why,
                  Ending ending, Callback<Session> done);

  // ---- commit (manager_commit.cpp)
  // errc::too_large when the session's changed payload breaks max_keys / max_payload_bytes.
  Status check_limits(const Session& s) const;
  // What commit does with a session that is not being destroyed, by the save rules (the same
  // for stored and client-side sessions); errc::too_large from check_limits first.
  struct CommitPlan {
    bool modified;    // values, user or authentication changed
    bool create_new;  // no record yet, and one is to be made
    bool rotate;      // a stored record gets a new ID
  };
  Result<CommitPlan> plan_commit(const Session& s) const;
  void commit_destroy(Session& s, http::ResponseHeaders& out, Callback<void> done);
  // Stores the session under a new ID: a new session, or (`rotate`) the rotation of a stored
  // one, whose old record is then destroyed (best effort). Reports the event.
  void create_record(Session& s, bool rotate, Callback<void> done);
  // A stored session that keeps its ID: its changes, a resave, a due touch, or nothing.
  void commit_update(Session& s, http::ResponseHeaders& out, bool modified, Callback<void> done);
  // The end of every successful commit path: the credential re-check, the per-user cap, then
  // the cookies.
  void finish_commit(Session& s, http::ResponseHeaders& out, Callback<void> done);

  // ---- update (manager_update.cpp)
  void update_stored(Session& s, std::shared_ptr<const Updater> fn, std::size_t attempt,
                     std::size_t max_attempts, Callback<std::uint64_t> done);
  // The session's view after a write of `patch`: the values in place, no longer dirty.
  static void adopt_written(Session& s, const SessionPatch& patch);

  // ---- increment (manager_increment.cpp)
  // `increment` without the reserved-key check (the library's own counters).
  void increment_field(Session& s, std::string field, std::int64_t delta,
                       Callback<std::int64_t> done);
  // A session without a record: created with the value in place.
  void increment_new(Session& s, const std::string& field, std::int64_t delta,
                     Callback<std::int64_t> done);

  // ---- a user's sessions (manager_sessions.cpp)
  // After a sign-in: destroys the user's sessions beyond max_sessions_per_user.
  void evict_over_cap(const Session& s, Callback<void> done);

  // ---- cookies (manager_cookie.cpp)
  http::SetCookie cookie_template(std::string name) const;
  void write_session_cookie(const Session& s, http::ResponseHeaders& out) const;
  void write_session_cookie(const Session& s, std::string value, http::ResponseHeaders& out) const;
  void write_clear_cookie(std::string_view name, http::ResponseHeaders& out) const;
  void write_commit_cookies(Session& s, http::ResponseHeaders& out) const;

  // ---- client-side sessions (manager_client_side.cpp)
  void load_sealed(Session s, const CookieSealer::Opened& opened, Callback<Session> done);
  void commit_sealed(Session& s, http::ResponseHeaders& out, const Callback<void>& done);
  // Writes the revocation-list tombstone of `s`'s current key (ClientSideOptions::revocations).
  void revoke_sealed(const Session& s, std::string_view reason, Callback<void> done);
  // The sealed cookie of a session to keep (new, rotated, changed or due), when one is due.
  void seal_session(Session& s, http::ResponseHeaders& out, const CommitPlan& plan,
                    const Callback<void>& done);

  // ---- CSRF (manager_csrf.cpp)
  void write_presession_cookie(Session& s, http::ResponseHeaders& out) const;
  // The CSRF seed of the browser: the record's (stored sessions), else the verified cookie's,
  // else none (""); `fresh_csrf_seed` draws a new one that the next cookie write sends.
  const std::string& csrf_seed(const Session& s) const;
  static void fresh_csrf_seed(Session& s, bool send_cookie = true);
  // Before a record is created: copies the browser's seed into it (a new one if it has none).
  void carry_csrf_seed(Session& s) const;
  Keyring::Mac csrf_secret(const Session& s, std::size_t key_index) const;
  // The pre-session CSRF seed, verifying the request's pre-session cookie on first use.
  const std::string& presession_seed(const Session& s) const;

  // ---- credentials (manager_credentials.cpp)
  // The stamp's MAC as stored in the record.
  std::string credential_mac(std::size_t key_index, const std::string& user,
                             std::string_view stamp) const;
  // Which secret of the keyring the record's stamp MAC was made with; nullopt: no match.
  std::optional<std::size_t> stamp_matches(const SessionRecord& record,
                                           std::string_view stamp) const;
  // Load: adopts a user's record only if its stamp is the user's current one; ends it otherwise.
  void check_credentials(Session s, SessionId id, const SessionKey& key, SessionRecord record,
                         bool reissue, Callback<Session> done);
  // Commit: records the pending stamp (before the write) / re-checks it (after the write).
  void stage_credential(Session& s) const;
  void recheck_credentials(Session& s, Callback<void> done);

  // `f` wrapped to record the store call's latency and errors (src/core/manager_timed.h): the
  // one Callback<T> a store call takes, not a Callback wrapped in another.
  template <class T, class F>
  Callback<T> timed(F&& f) const;

  std::shared_ptr<SessionStore> store_;  // null with client-side sessions
  std::optional<ClientSideOptions> client_side_;
  Keyring keyring_;
  SessionOptions options_;
  const Clock* clock_;
  std::shared_ptr<EventSink> events_;
  std::shared_ptr<Metrics> metrics_;
  std::string cookie_name_;
  std::string csrf_cookie_name_;  // <cookie name>-csrf
  std::string sign_context_;
  std::optional<CookieSealer> sealer_;  // set with client-side sessions
  std::shared_ptr<const CredentialSource> credentials_;
  // Identifies this manager in the per-thread cache of verified stamps (0 until first used).
  mutable std::atomic<std::uint64_t> instance_id_{0};
  RateLimiter anonymous_limiter_;
};

}  // namespace sessionkit
