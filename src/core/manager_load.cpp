// SessionManager::load: the request's cookies, the candidate records, and the checks a loaded
// record passes (deadlines, binding, credentials) before the request may use it.
#include <algorithm>

#include "core/manager_timed.h"
#include "http/ascii.h"
#include "sessionkit/http/authorization.h"
#include "sessionkit/manager.h"

namespace sessionkit {

namespace {

constexpr std::size_t kMaxUserAgent = 512;
// Validly signed session IDs tried per request, in the order the browser sent them: a request
// with more is hostile and the rest are ignored.
constexpr std::size_t kMaxCandidates = 4;

using http::ascii::trim_ows;

}  // namespace

const char* SessionManager::expiry_reason(const SessionRecord& record, Time now) const {
  if (now >= record.absolute_expires_at || now >= record.created_at + options_.absolute_timeout) {
    return "absolute timeout";
  }
  if (now >= record.expires_at || now >= record.last_access + options_.idle_timeout) {
    return "idle timeout";
  }
  return nullptr;
}

std::size_t SessionManager::read_cookies(const http::RequestView& request, Session& s,
                                         Candidates& ids,
                                         std::optional<CookieSealer::Opened>& opened) const {
  std::size_t session_cookies = 0;
  auto header = request.header("Cookie");
  if (!header) return 0;
  http::for_each_cookie(*header, [&](std::string_view name, std::string_view value) {
    if (name == cookie_name_) {
      ++session_cookies;
      if (sealer_) {
        if (!opened) opened = sealer_->open(value);
      } else if (ids.size() < kMaxCandidates) {
        if (auto v = keyring_.verify_detailed(value, sign_context_)) {
          if (auto id = SessionId::parse(v->value)) {
            const bool seen =
                std::any_of(ids.begin(), ids.end(), [&](const auto& c) { return c.first == *id; });
            if (!seen) ids.emplace_back(std::move(*id), v->key_index > 0);
          }
        }
      }
    } else if (name == csrf_cookie_name_ && s.st_->csrf_cookie_.empty()) {
      s.st_->csrf_cookie_ = std::string(value);  // verified only if needed: presession_seed()
    }
    return true;
  });
  return session_cookies;
}

Status SessionManager::read_bearer(const http::RequestView& request, Session& s, Candidates& ids,
                                   std::size_t session_cookies) const {
  const SessionOptions::BearerOptions& bearer = options_.bearer;
  std::optional<std::string_view> token;
  if (bearer.authorization) {
    if (auto header = request.header("Authorization")) token = http::bearer_credential(*header);
  }
  if (!bearer.header.empty()) {
    if (auto header = request.header(bearer.header)) {
      if (token) {
        return {errc::invalid_argument,
                "two bearer credentials (Authorization and " + bearer.header + "): send one"};
      }
      token = trim_ows(*header);
    }
  }
  if (!token) return {};
  if (session_cookies > 0) {
    // Never resolved silently: a cookie riding along with a bearer call is the ambient
    // credential CSRF exploits (docs/security.md).
    return {errc::invalid_argument, "both a session cookie and a bearer token: send one"};
  }
  s.st_->via_bearer_ = true;
  if (auto v = keyring_.verify_detailed(*token, sign_context_)) {
    if (auto id = SessionId::parse(v->value)) ids.emplace_back(std::move(*id), v->key_index > 0);
  }
  return {};
}

void SessionManager::load(const http::RequestView& request, Callback<Session> done) {
  Session s;
  Candidates ids;                              // ID, signed by a secret being retired
  std::optional<CookieSealer::Opened> opened;  // client-side sessions
  const std::size_t session_cookies = read_cookies(request, s, ids, opened);
  if (options_.bearer.enabled) {
    if (Status st = read_bearer(request, s, ids, session_cookies); !st.ok()) {
      done(std::move(st));
      return;
    }
  }
  s.st_->cookie_present_ = session_cookies > 0;
  s.st_->duplicate_cookies_ = session_cookies > 1;
  note_client(s, request.peer_address(), request.header("User-Agent"));
  if (session_cookies > 1) {
    // Without the __Host- prefix a sibling subdomain can plant a cookie of the same name with a
    // longer Path, which the browser sends first. Every validly signed one is tried in order and
    // the first live session wins; no cookie is cleared in answer (see write_commit_cookies).
    flag(Anomaly::duplicate_cookies, s,
         "request from " + (s.st_->client_ip_.empty() ? std::string("?") : s.st_->client_ip_) +
             " carried " + std::to_string(session_cookies) + " session cookies (" +
             std::to_string(ids.size()) + " validly signed); the first live one is used");
  }
  if (opened) {
    load_sealed(std::move(s), *opened, std::move(done));
    return;
  }
  if (ids.empty()) {
    done(std::move(s));
    return;
  }
  load_candidate(std::move(s), std::move(ids), 0, std::move(done));
}

void SessionManager::note_client(Session& s, std::string_view peer_address,
                                 std::optional<std::string_view> user_agent) {
  s.st_->client_ip_ = std::string(peer_address);
  if (user_agent) s.st_->user_agent_ = std::string(user_agent->substr(0, kMaxUserAgent));
}

void SessionManager::load_id(const SessionId& id, std::string_view peer_address,
                             std::string_view user_agent, Callback<Session> done) {
  if (sealer_) {
    done(Status{errc::unsupported, "client-side sessions cannot be loaded by ID"});
    return;
  }
  Session s;
  s.st_->via_bearer_ = true;  // a credential of its own: no cookies, no CSRF
  note_client(s, peer_address,
              user_agent.empty() ? std::nullopt : std::optional<std::string_view>(user_agent));
  Candidates ids;
  ids.emplace_back(id, false);
  load_candidate(std::move(s), std::move(ids), 0, std::move(done));
}

void SessionManager::report_anomaly(Anomaly which, const SessionKey& key, std::string user_id,
                                    std::string reason) const {
  flag_for(which, key.hint(), std::move(user_id), std::move(reason));
}

TouchSpec SessionManager::lazy_touch(Time now) const {
  // Due when commit's touch would be (touch_due): not refreshed within the touch interval, or
  // always with `rolling`; never for a record idle past the idle timeout, which accept_loaded
  // must see as it is (and end), whatever deadline the store holds for it.
  constexpr Duration kTick(1);
  TouchSpec touch = touch_spec(now);
  touch.only_if_accessed_in =
      AccessWindow{now - options_.idle_timeout + kTick,
                   options_.rolling ? Time::max() : now - options_.touch_interval + kTick};
  return touch;
}

void SessionManager::load_candidate(Session s, Candidates ids, std::size_t i,
                                    Callback<Session> done) {
  SessionKey key = SessionKey::of(ids[i].first);
  const Time now = clock_->now();
  store_->load(
      key, lazy_touch(now),
      timed<std::optional<SessionRecord>>([this, s = std::move(s), ids = std::move(ids), i, key,
                                           now, done = std::move(done)](
                                              Result<std::optional<SessionRecord>> r) mutable {
        if (!r.ok()) {
          emit_for(EventType::store_error, key.hint(), {}, "load: " + r.status().to_string());
          done(r.status());
          return;
        }
        const bool last = i + 1 == ids.size();
        if (!r->has_value()) {  // unknown or store-expired ID: never adopted
          if (last) return done(std::move(s));
          return load_candidate(std::move(s), std::move(ids), i + 1, std::move(done));
        }
        // Refreshed by this load (or by another request this very millisecond): commit needs
        // no touch of its own.
        s.st_->touched_at_load_ = (**r).last_access == now;
        SessionId id = ids[i].first;
        const bool reissue = ids[i].second;
        if (last) {
          accept_loaded(std::move(s), std::move(id), key, std::move(**r), reissue, std::move(done));
          return;
        }
        // Not the last candidate: if this one is refused (expired, bound elsewhere, stale
        // credentials), the next one is tried with the request's state as it was.
        Session base = s;
        accept_loaded(std::move(s), std::move(id), key, std::move(**r), reissue,
                      [this, base = std::move(base), ids = std::move(ids), i,
                       done = std::move(done)](Result<Session> accepted) mutable {
                        if (!accepted.ok() || accepted->is_stored()) {
                          return done(std::move(accepted));
                        }
                        load_candidate(std::move(base), std::move(ids), i + 1, std::move(done));
                      });
      }));
}

void SessionManager::accept_loaded(Session s, SessionId id, const SessionKey& key,
                                   SessionRecord record, bool reissue, Callback<Session> done) {
  if (const char* why = expiry_reason(record, clock_->now()); why != nullptr) {
    emit_for(EventType::expired, key.hint(), record.user_id, why);
    // Best effort: the store's own expiry removes it later anyway. (A client-side session has
    // nothing to remove: commit clears its cookie.)
    if (!sealer_) store_->destroy(key, timed<bool>([](const Result<bool>&) {}));
    done(std::move(s));
    return;
  }
  if (std::string why_not = binding_violation(s, record); !why_not.empty()) {
    end_loaded(std::move(s), key, record.user_id, std::move(why_not), Ending::refused,
               std::move(done));
    return;
  }
  if (credentials_ && !record.user_id.empty()) {
    check_credentials(std::move(s), std::move(id), key, std::move(record), reissue,
                      std::move(done));
    return;
  }
  s.st_->adopt_loaded(std::move(id), key, std::move(record), reissue);
  done(std::move(s));
}

void SessionManager::end_loaded(Session s, const SessionKey& key, const std::string& user,
                                std::string why, Ending ending, Callback<Session> done) {
  const bool refused = ending == Ending::refused;
  if (!refused) metrics_->credential_revocations.fetch_add(1, std::memory_order_relaxed);
  if (sealer_) {  // client-side: nothing to destroy; commit clears the cookie
    std::string what = why + " (client-side session: cleared, not revocable)";
    if (refused) {
      flag_for(Anomaly::binding_mismatch, key.hint(), user, std::move(what));
    } else {
      emit_for(EventType::destroyed, key.hint(), user, std::move(what));
    }
    if (refused) s.st_->refusal_ = std::move(why);
    done(std::move(s));
    return;
  }
  if (refused) flag_for(Anomaly::binding_mismatch, key.hint(), user, why);
  // Fail closed: if the record cannot be destroyed now, the request fails (503) instead of
  // going on as a visitor while the session lives.
  store_->destroy(
      key, timed<bool>([this, s = std::move(s), hint = key.hint(), user, why = std::move(why),
                        refused, done = std::move(done)](Result<bool> r) mutable {
        if (!r.ok()) {
          emit_for(EventType::store_error, hint, user,
                   "destroy of an ended session: " + r.status().to_string());
          return done(r.status());
        }
        if (*r) emit_for(EventType::destroyed, hint, user, why);
        if (refused) s.st_->refusal_ = std::move(why);
        done(std::move(s));
      }));
}

}  // namespace sessionkit
