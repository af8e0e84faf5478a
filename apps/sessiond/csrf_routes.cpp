// csrf_routes.cpp — CSRF tokens for a session (synchronizer tokens, docs/sessiond.md):
//   POST /v1/sessions/{id}/csrf          -> 200 {"token": "..."}
//   POST /v1/sessions/{id}/csrf/verify   {"token": "..."} -> 200 {"valid": true|false}
//
// Each session has one secret: 32 random bytes kept in its payload under a reserved key
// (kCsrfSeedKey, never shown to or set by a client), made on the first request for a token
// with a compare-and-swap (SessionStore::patch_if), so two first requests racing agree on one.
// A token is base64url(mask || mask XOR secret), with a fresh random mask each time: every
// token differs (BREACH-safe when a page is compressed), and any of them stays valid while the
// session lives. The secret ends with the session and is not carried over by regenerate.
// Verification compares in constant time; a token of the wrong shape is simply not valid.
#include <array>

#include <nlohmann/json.hpp>

#include <sodium.h>

#include "api.h"
#include "call.h"

namespace sessiond {

namespace asio = boost::asio;
namespace sk = sessionkit;
using nlohmann::json;
using verb = boost::beast::http::verb;

namespace {

constexpr std::size_t kSecretBytes = 32;
using Secret = std::array<unsigned char, kSecretBytes>;

std::string b64(const unsigned char* data, std::size_t n) {
  std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// Exactly `out.size()` bytes of unpadded base64url, or false.
bool unb64(std::string_view text, std::span<unsigned char> out) {
  std::size_t n = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &n, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return false;
  }
  return n == out.size() && end == text.data() + text.size();
}

// The session's secret, if it has a well-formed one.
std::optional<Secret> secret_of(const sk::SessionRecord& r) {
  if (!r.data.is_object()) return std::nullopt;
  const auto it = r.data.find(kCsrfSeedKey);
  if (it == r.data.end() || !it->is_string()) return std::nullopt;
  Secret s;
  if (!unb64(it->get_ref<const std::string&>(), s)) return std::nullopt;
  return s;
}

std::string token_of(const Secret& secret) {
  std::array<unsigned char, 2 * kSecretBytes> t;
  randombytes_buf(t.data(), kSecretBytes);
  for (std::size_t i = 0; i < kSecretBytes; ++i)
    t[kSecretBytes + i] = t[i] ^ secret[i];
  return b64(t.data(), t.size());
}

bool token_matches(std::string_view token, const Secret& secret) {
  std::array<unsigned char, 2 * kSecretBytes> t;
  if (!unb64(token, t)) return false;
  Secret given;
  for (std::size_t i = 0; i < kSecretBytes; ++i)
    given[i] = t[i] ^ t[kSecretBytes + i];
  return sodium_memcmp(given.data(), secret.data(), kSecretBytes) == 0;
}

}  // namespace

asio::awaitable<Response> Api::csrf_route(Call& c, const sk::SessionKey& key,
                                          std::string_view action) {
  if (!c.method_is({verb::post})) co_return c.not_allowed();
  if (auto bad = c.parse_body()) co_return std::move(*bad);
  std::string token;
  if (action == "csrf/verify") {
    if (!c.body.contains("token") || !c.body["token"].is_string()) {
      co_return c.error(HttpStatus::bad_request, "\"token\" must be a string");
    }
    token = c.body["token"].get<std::string>();
  }
  auto loaded = [&]() -> asio::awaitable<sk::Result<std::optional<sk::SessionRecord>>> {
    co_return co_await call_store<std::optional<sk::SessionRecord>>(
        *metrics_, [&](sk::Callback<std::optional<sk::SessionRecord>> done) {
          store_->load(key, std::nullopt, std::move(done));
        });
  };
  auto r = co_await loaded();
  if (!r) co_return c.store_error(status_of(r));
  if (!*r) co_return c.error(HttpStatus::not_found, "no such session (or it has expired)");
  std::optional<Secret> secret = secret_of(**r);

  if (action == "csrf/verify") {
    const bool valid = secret && token_matches(token, *secret);
    if (!valid) metrics_->csrf_failures.fetch_add(1, std::memory_order_relaxed);
    co_return c.answer(HttpStatus::ok, json{{"valid", valid}});
  }

  if (!secret) {
    // The first token of this session: store a secret unless a racing request did first (then
    // read theirs). A malformed value (no client can write one) is replaced the same way.
    Secret fresh;
    randombytes_buf(fresh.data(), fresh.size());
    const auto it = (**r).data.is_object() ? (**r).data.find(kCsrfSeedKey) : (**r).data.end();
    const json before = (**r).data.is_object() && it != (**r).data.end() ? *it : json();
    sk::SessionPatch p;
    p.set.emplace_back(std::string(kCsrfSeedKey), b64(fresh.data(), fresh.size()));
    auto set = co_await call_store<void>(*metrics_, [&](sk::Callback<void> done) {
      store_->patch_if(key, sk::PayloadCondition{.key = std::string(kCsrfSeedKey), .value = before},
                       p, std::move(done));
    });
    if (set) {
      secret = fresh;
    } else if (set.code() == sk::errc::conflict) {
      auto again = co_await loaded();
      if (!again) co_return c.store_error(status_of(again));
      if (!*again) co_return c.error(HttpStatus::not_found, "no such session (or it has expired)");
      secret = secret_of(**again);
      if (!secret) co_return c.error(HttpStatus::service_unavailable, "retry: a concurrent change");
    } else {
      co_return c.store_error(status_of(set));
    }
  }
  co_return c.answer(HttpStatus::ok, json{{"token", token_of(*secret)}});
}

}  // namespace sessiond
