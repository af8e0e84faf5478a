// sessionkit/session.h — the handler's view of one session during one request.
//
// A `Session` is produced by `SessionManager::load` and handed back to `SessionManager::commit`
// at the end of the request. In between, the handler reads and writes top-level JSON values;
// the session tracks which keys changed so that commit writes only those (a concurrent request
// that changed other keys keeps its changes). Nothing reaches the store before commit, except
// `SessionManager::increment`, which is atomic in the store at once.
//
// `regenerate()` (call it on login and on any privilege change) gives the session a new ID at
// commit, keeps its values, and destroys the old record: a fixated ID becomes worthless.
// `destroy()` removes the record at commit and clears the cookie (logout).
//
// Thread safety: a Session belongs to one request; do not share it between threads.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/clock.h"
#include "sessionkit/record.h"
#include "sessionkit/session_id.h"
#include "sessionkit/store.h"

namespace sessionkit {

class SessionManager;
namespace tokens {
class RefreshTokens;
class SessionCheck;
}  // namespace tokens

class Session {
 public:
  Session();
  ~Session();
  Session(const Session& other);
  Session& operator=(const Session& other);
  // A moved-from Session may only be assigned to or destroyed.
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // True when the request brought no valid, live session (none, tampered, unknown or expired).
  bool is_new() const noexcept { return !st_->loaded_; }
  // True when a record for this session exists in the store (loaded, or created this request).
  bool is_stored() const noexcept { return st_->stored_; }
  bool is_destroyed() const noexcept { return st_->destroy_; }

  // ---- values (top-level keys of a JSON object) ----
  const nlohmann::json& data() const noexcept { return st_->record_.data; }
  const nlohmann::json* find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // The value converted to T, or nullopt when missing or of another type.
  template <class T>
  std::optional<T> get(std::string_view key) const;
  // Keys beginning with "_sk_" are reserved for the library's own per-session values (the
  // CSRF secret, the credential stamp, failure counters); commit refuses a session in which the
  // application set or erased one (errc::invalid_argument).
  void set(std::string key, nlohmann::json value);
  void erase(std::string_view key);
  static bool is_reserved_key(std::string_view key) noexcept { return key.starts_with("_sk_"); }
  // True when set/erase/set_user changed something not yet committed.
  bool is_modified() const noexcept { return st_->modified(); }

  // ---- identity ----
  const std::string& user_id() const noexcept { return st_->record_.user_id; }
  // Binds the session to a user (or unbinds with ""), and records "authenticated now".
  // Call `regenerate()` too when this is a login. Binding a DIFFERENT user than the session's
  // current one (or unbinding) clears every value first: nothing one user left in a browser
  // carries over to the next (an anonymous visitor's values do carry over into a login).
  // Binding any user also starts a new CSRF secret for this browser (tokens of pages loaded
  // before the sign-in stop verifying; see SessionManager::csrf_token).
  // `credential_stamp` ties the session to the credentials the user just proved: an opaque
  // string that changes whenever those credentials change (see credentials.h). With a
  // CredentialSource configured, a session whose stamp is no longer the user's current one
  // ends on its next load. Pass the stamp read TOGETHER with the password check, not after it.
  void set_user(std::string user_id, std::string_view credential_stamp = {});
  // The user's credentials changed and this session stays signed in (e.g. the request that
  // changed the password): the session now carries `credential_stamp`.
  void set_credential(std::string_view credential_stamp);
  // The user has just proved their identity again (re-entered a password, a second factor):
  // commit records now as the authentication time (see SessionManager::authenticated_within).
  void reauthenticated() noexcept { st_->auth_dirty_ = true; }

  // ---- lifecycle ----
  void regenerate() noexcept { st_->regenerate_ = true; }
  void destroy() noexcept { st_->destroy_ = true; }

  // ---- metadata ----
  Time created_at() const noexcept { return st_->record_.created_at; }
  Time last_access() const noexcept { return st_->record_.last_access; }
  Time expires_at() const noexcept { return st_->record_.expires_at; }
  std::optional<Time> auth_at() const noexcept { return st_->record_.auth_at; }
  const SessionRecord& record() const noexcept { return st_->record_; }
  // Why the request's session was refused ("" when it was not): the session was bound to its
  // client (SessionOptions::bind) and this request came from another User-Agent or address.
  // The record has been destroyed and this session is new; answer 403. Commit clears the cookie.
  const std::string& refusal() const noexcept { return st_->refusal_; }
  // The request presented its session credential as a bearer token (SessionOptions::bearer),
  // valid or not (a refused token leaves the session new). Such a session needs no CSRF token,
  // and commit writes no cookie for it (see "Bearer" in manager.h).
  bool via_bearer() const noexcept { return st_->via_bearer_; }
  // After commit of a bearer session: its credential changed (created, rotated, or re-signed
  // under the newest secret), so the client must be given SessionManager::bearer_token.
  bool token_renewed() const noexcept { return st_->token_renewed_; }
  // A short, non-secret label of the session key ("" when there is no session yet).
  std::string id_hint() const { return st_->stored_ ? st_->key_.hint() : std::string(); }

 private:
  friend class SessionManager;
  friend class tokens::RefreshTokens;  // reads the ID and key of the session it rotates
  friend class tokens::SessionCheck;   // reads the ID it seals into an access token's sid

  void mark_dirty(const std::string& key);
  // Library-owned values ("_sk_…"), exempt from the reserved-key rule.
  void set_reserved(std::string key, nlohmann::json value);
  void erase_reserved(std::string_view key);

  // Everything a session carries, behind one pointer: a Session passes through several
  // callbacks and awaitables per request, and moving it is then one pointer, not 20 members.
  //
  // The manager moves a session through its states (new → loaded or created → rotated,
  // destroyed) only through the transitions below, each the one place where its fields change
  // together; policy (what to write, when) stays in the manager.
  struct State {
    // A loaded record passed every check and is this request's session. `reissue`: its cookie
    // was signed or sealed by a secret being retired (commit re-sends it under the newest).
    void adopt_loaded(SessionId id, const SessionKey& key, SessionRecord record, bool reissue);
    // Commit stored `record` under a new ID (a new session, or a rotation): nothing is pending
    // and the cookie is due.
    void adopt_created(SessionId id, const SessionKey& key, SessionRecord record);
    // The record is gone from the store (destroyed by this request, or concurrently): no
    // session cookie is sent for it.
    void ended() noexcept {
      stored_ = false;
      set_cookie_ = false;
    }
    // Values, user, authentication time or credential changed and are not yet written.
    bool modified() const noexcept {
      return !dirty_.empty() || !erased_.empty() || user_dirty_ || auth_dirty_ || credential_dirty_;
    }
    // The pending changes as one store patch with `touch`; a sign-in or re-authentication
    // records `touch.last_access` as the authentication time.
    SessionPatch pending_patch(const TouchSpec& touch);
    // Commit wrote every change: nothing is pending any more.
    void changes_saved() noexcept;

    std::optional<SessionId> id_;  // the live ID (loaded, or created/rotated at commit)
    SessionKey key_;
    SessionRecord record_;
    bool loaded_ = false;  // record came from the store at load
    bool stored_ = false;  // record exists in the store now
    std::vector<std::string> dirty_;
    std::vector<std::string> erased_;
    bool user_dirty_ = false;
    bool auth_dirty_ = false;
    bool reserved_misuse_ = false;  // the application set or erased a "_sk_" key
    // A credential stamp given by set_user/set_credential, not yet written (the manager MACs it
    // into the record at commit and re-checks it against the CredentialSource afterwards).
    std::optional<std::string> credential_;
    bool credential_dirty_ = false;
    bool recheck_credential_ = false;  // commit wrote a stamp: re-read it after the write
    bool csrf_rotate_ = false;         // set_user: commit gives the browser a new CSRF seed
    bool bound_now_ = false;  // this commit binds a user: the per-user cap is enforced after it
    bool regenerate_ = false;
    bool destroy_ = false;
    bool touched_at_load_ = false;  // the load refreshed the access time: no touch at commit
    bool cookie_present_ = false;   // the request carried a session cookie (valid or not)
    bool set_cookie_ = false;       // commit must send the session cookie
    bool via_bearer_ = false;       // the credential came as a bearer token: no cookies, no CSRF
    bool token_renewed_ = false;    // a bearer session's commit made a new credential
    // Pre-session CSRF seed: from its signed cookie, verified only when first needed (a request
    // with a stored session never needs it), or new. (The const
    // SessionManager::presession_seed fills it lazily: State is behind a pointer.)
    std::string csrf_seed_;
    std::string csrf_cookie_;           // the pre-session cookie's value, unverified
    bool csrf_cookie_checked_ = false;  // csrf_cookie_ has been verified (or rejected)
    bool csrf_seed_new_ = false;        // the browser's CSRF cookie must be (re)sent
    // The request carried several session cookies: never answer with a clearing Set-Cookie (it
    // could delete the rightful one rather than the planted one).
    bool duplicate_cookies_ = false;
    std::string client_ip_;  // recorded on a record created during this request
    std::string user_agent_;
    std::string refusal_;
  };

  std::unique_ptr<State> st_;
};

template <class T>
std::optional<T> Session::get(std::string_view key) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return std::nullopt;
  try {
    return v->get<T>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace sessionkit
