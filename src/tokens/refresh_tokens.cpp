// Rotating refresh tokens (include/sessionkit/tokens/refresh_tokens.h).
#include "sessionkit/tokens/refresh_tokens.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "crypto/crypto.h"
#include "sessionkit/events.h"
#include "sessionkit/metrics.h"

namespace sessionkit::tokens {
namespace {

constexpr std::string_view kSealContext = "refresh-token";
constexpr std::string_view kNextContext = "refresh-token:next/1";
constexpr std::size_t kSecretBytes = 32;

// Equality of two stored digests in time independent of where they differ.
bool same_digest(std::string_view a, std::string_view b) {
  return a.size() == b.size() && crypto::equal(crypto::as_bytes(a), crypto::as_bytes(b));
}

// b64url(SHA-256(secret)): the only form in which a secret is stored.
std::string digest_of(std::string_view secret) {
  return crypto::base64url_encode(crypto::sha256(secret));
}

// The client a (re)load is judged against, copied once: the caller's request view may be gone
// by the time a lost compare-and-swap loads the session again.
struct Client {
  explicit Client(const http::RequestView& request)
      : peer(request.peer_address()), user_agent(request.header("User-Agent").value_or("")) {}
  std::string peer;
  std::string user_agent;
};

// Destroys a session loaded by load_id through the manager (its `destroyed` event, no cookie:
// the headers are discarded). Success also when it had ended concurrently (not_found).
void end_session(SessionManager& manager, Session session, Callback<void> done) {
  struct NoHeaders final : http::ResponseHeaders {
    void add(std::string_view, std::string_view) override {}
    void set(std::string_view, std::string_view) override {}
  };
  auto holder = std::make_shared<Session>(std::move(session));
  auto headers = std::make_shared<NoHeaders>();
  holder->destroy();
  manager.commit(*holder, *headers, [holder, headers, done = std::move(done)](Status r) {
    done(r.code() == errc::not_found ? Status() : std::move(r));
  });
}

}  // namespace

std::string_view to_string(Refresh::Outcome outcome) noexcept {
  switch (outcome) {
    case Refresh::Outcome::rotated:
      return "rotated";
    case Refresh::Outcome::replayed:
      return "replayed";
    case Refresh::Outcome::invalid:
      return "invalid";
    case Refresh::Outcome::reused:
      return "reused";
  }
  return "invalid";
}

struct RefreshTokens::Opened {
  SessionId id;
  std::string secret;  // kSecretBytes raw bytes
};

// One redemption: load the session, decide, and either swap the family (retrying a lost race),
// answer the successor, or end the session. Kept alive by the callbacks that hold it.
class RefreshTokens::Attempt : public std::enable_shared_from_this<Attempt> {
 public:
  Attempt(const RefreshTokens& owner, const http::RequestView& request, Opened opened,
          Callback<Refresh> done)
      : owner_(owner), client_(request), opened_(std::move(opened)), done_(std::move(done)) {}

  void run() {
    owner_.manager_->load_id(opened_.id, client_.peer, client_.user_agent,
                             [self = shared_from_this()](Result<Session> r) {
                               if (!r.ok()) return self->done_(r.status());
                               self->decide(std::move(r).value());
                             });
  }

 private:
  void decide(Session session) {
    const nlohmann::json* family = session.find(kFamilyKey);
    if (!session.is_stored() || family == nullptr || !family->is_object()) {
      return invalid("the session has ended or has no refresh token family");
    }
    const std::string presented = digest_of(opened_.secret);
    const auto field = [&](const char* name) -> std::string {
      const auto it = family->find(name);
      return it != family->end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const std::string current = field("cur");
    const std::string previous = field("prev");
    const Time now = owner_.manager_->clock().now();
    if (same_digest(presented, current)) {
      return rotate(std::move(session), *family, now);
    }
    if (same_digest(presented, previous)) {
      const auto at = family->find("at");
      const auto grace =
          std::chrono::duration_cast<std::chrono::milliseconds>(owner_.options_.grace).count();
      const bool in_grace = at != family->end() && at->is_number_integer() &&
                            to_millis(now) < at->get<std::int64_t>() + grace;
      if (in_grace) return replay(std::move(session), current);
      return reused(std::move(session),
                    "refresh token reuse: the previous token after the grace window");
    }
    reused(std::move(session), "refresh token reuse: a token older than the previous one");
  }

  void rotate(Session session, const nlohmann::json& family, Time now) {
    std::string next = owner_.successor(opened_, 0);
    nlohmann::json updated = {{"cur", digest_of(next)},
                              {"prev", digest_of(opened_.secret)},
                              {"at", to_millis(now)},
                              {"gen", family.value("gen", std::int64_t{0}) + 1}};
    SessionPatch patch;
    patch.set.emplace_back(std::string(kFamilyKey), std::move(updated));
    const Duration idle = owner_.manager_->options().idle_timeout;
    patch.touch = TouchSpec{now, now + idle, std::nullopt};
    const SessionKey key = session.st_->key_;
    PayloadCondition condition{std::string(kFamilyKey), family};  // the family as loaded
    owner_.manager_->store()->patch_if(
        key, condition, patch,
        [self = shared_from_this(), session = std::move(session),
         next = std::move(next)](Result<void> r) mutable {
          if (r.ok()) return self->answer(Refresh::Outcome::rotated, std::move(session), next);
          if (r.code() == errc::conflict &&
              ++self->attempts_ < self->owner_.options_.max_attempts) {
            return self->run();  // another redemption of this family won: decide again
          }
          if (r.code() == errc::not_found) return self->invalid("the session ended meanwhile");
          self->done_(std::move(r));
        });
  }

  void replay(Session session, const std::string& current) {
    // The successor of the presented secret under the secret that derived it (normally the
    // newest; an older one if the keyring rotated since).
    for (std::size_t i = 0; i < owner_.keyring_.size(); ++i) {
      std::string next = owner_.successor(opened_, i);
      if (digest_of(next) == current) {
        return answer(Refresh::Outcome::replayed, std::move(session), next);
      }
    }
    invalid("the successor's secret has been retired from the keyring");
  }

  void reused(Session session, const std::string& why) {
    owner_.manager_->metrics().refresh_reuse.fetch_add(1, std::memory_order_relaxed);
    owner_.manager_->report_anomaly(Anomaly::refresh_reuse, session.st_->key_, session.user_id(),
                                    why);
    end_session(*owner_.manager_, std::move(session), [self = shared_from_this(), why](Status r) {
      if (!r.ok()) return self->done_(std::move(r));
      Refresh out;
      out.outcome = Refresh::Outcome::reused;
      out.reason = why;
      self->done_(std::move(out));
    });
  }

  void answer(Refresh::Outcome outcome, Session session, const std::string& secret) {
    auto token = owner_.seal(opened_.id, secret);
    if (!token.ok()) return done_(token.status());
    auto& metrics = owner_.manager_->metrics();
    (outcome == Refresh::Outcome::rotated ? metrics.refresh_rotated : metrics.refresh_replayed)
        .fetch_add(1, std::memory_order_relaxed);
    Refresh out;
    out.outcome = outcome;
    out.refresh_token = std::move(token).value();
    out.session = std::move(session);
    done_(std::move(out));
  }

  void invalid(std::string why) {
    owner_.manager_->metrics().refresh_invalid.fetch_add(1, std::memory_order_relaxed);
    Refresh out;
    out.outcome = Refresh::Outcome::invalid;
    out.reason = std::move(why);
    done_(std::move(out));
  }

  const RefreshTokens& owner_;
  Client client_;
  Opened opened_;
  Callback<Refresh> done_;
  int attempts_ = 1;
};

RefreshTokens::RefreshTokens(SessionManager& manager, Keyring keyring, RefreshTokenOptions options)
    : manager_(&manager),
      keyring_(std::move(keyring)),
      sealer_(keyring_, kSealContext),
      options_(options) {
  if (options_.grace < Duration::zero()) {
    throw std::invalid_argument("RefreshTokenOptions::grace must not be negative");
  }
  if (options_.max_attempts < 1) {
    throw std::invalid_argument("RefreshTokenOptions::max_attempts must be at least 1");
  }
}

std::string RefreshTokens::successor(const Opened& opened, std::size_t key_index) const {
  const Keyring::Mac mac =
      keyring_.mac(key_index, kNextContext, opened.id.str() + "." + opened.secret);
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

Result<std::string> RefreshTokens::seal(const SessionId& id, std::string_view secret) const {
  return sealer_.seal(id.str() + "." + crypto::base64url_encode(crypto::as_bytes(secret)));
}

std::optional<RefreshTokens::Opened> RefreshTokens::open(std::string_view token) const {
  auto opened = sealer_.open(token);
  if (!opened) return std::nullopt;
  const std::string_view text = opened->plaintext;
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto id = SessionId::parse(text.substr(0, dot));
  std::array<std::uint8_t, kSecretBytes> raw{};
  const auto n = crypto::base64url_decode(text.substr(dot + 1), raw);
  if (!id || !n || *n != kSecretBytes) return std::nullopt;
  return Opened{std::move(*id), std::string(reinterpret_cast<const char*>(raw.data()), raw.size())};
}

std::optional<SessionKey> RefreshTokens::session_key(std::string_view token) const {
  auto opened = open(token);
  if (!opened) return std::nullopt;
  return SessionKey::of(opened->id);
}

void RefreshTokens::start(const Session& session, Callback<std::string> done) {
  SessionStore* store = manager_->store();
  if (store == nullptr) {
    return done(Status{errc::unsupported, "refresh tokens need a server-side store"});
  }
  if (!session.is_stored() || session.is_destroyed() || !session.st_->id_) {
    return done(
        Status{errc::invalid_argument, "refresh tokens need a stored session (commit first)"});
  }
  std::array<std::uint8_t, kSecretBytes> raw{};
  crypto::random_bytes(raw);
  std::string secret(reinterpret_cast<const char*>(raw.data()), raw.size());
  auto token = seal(*session.st_->id_, secret);
  if (!token.ok()) return done(token.status());
  SessionPatch patch;
  patch.set.emplace_back(std::string(kFamilyKey),
                         nlohmann::json{{"cur", digest_of(secret)}, {"gen", 0}});
  store->patch(session.st_->key_, patch,
               [done = std::move(done), token = std::move(token).value()](Result<void> r) {
                 if (!r.ok()) return done(std::move(r));
                 done(token);
               });
}

void RefreshTokens::refresh(const http::RequestView& request, std::string_view token,
                            Callback<Refresh> done) {
  auto opened = open(token);
  if (!opened) {
    manager_->metrics().refresh_invalid.fetch_add(1, std::memory_order_relaxed);
    Refresh out;
    out.reason = "not a refresh token of this server";
    return done(std::move(out));
  }
  std::make_shared<Attempt>(*this, request, std::move(*opened), std::move(done))->run();
}

void RefreshTokens::revoke(const http::RequestView& request, std::string_view token,
                           Callback<bool> done) {
  auto opened = open(token);
  if (!opened) return done(false);
  const Client client(request);
  manager_->load_id(opened->id, client.peer, client.user_agent,
                    [this, done = std::move(done)](Result<Session> r) {
                      if (!r.ok()) return done(r.status());
                      if (!r->is_stored()) return done(false);
                      end_session(*manager_, std::move(r).value(), [done](Status ended) {
                        if (!ended.ok()) return done(std::move(ended));
                        done(true);
                      });
                    });
}

}  // namespace sessionkit::tokens
