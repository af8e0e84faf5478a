// libFuzzer target: JWT access tokens and key text (sessionkit/tokens).
//
// Checks, for any input:
// - as a token, AccessTokens::verify never accepts it (the fuzzer cannot forge an Ed25519 or
//   P-256 signature with the harness's keys, which are made fresh at start-up and never sign
//   anything here), and its refusal is consistent: a Rejection other than none, a message
//   starting with that Rejection's name, too_large exactly for too_long;
// - split at its first two newlines, its three parts base64url-encoded and joined with dots: the
//   same, so the header and claims JSON readers see the raw bytes (seeds name the harness's kids
//   "fuzz-ed" and "fuzz-es", so inputs reach the key lookup and the signature check);
// - as a private JWK Set, KeyRing::import either refuses it or reads a ring whose export reads
//   back to the same text, and whose JWKS is a JSON object without a private member;
// - as a private JWK, SigningKey::import_jwk either refuses it or reads a key whose export
//   reads back to the same public key;
// - as JSON text, jose::parse_object (a SAX builder) answers what nlohmann's own parser with a
//   duplicate-name callback answers (the reference), and as a claims set, whenever the fast
//   claims::read_flat answers, claims::read answers the same claims (the claims are otherwise
//   read only behind a valid signature, which the fuzzer cannot make).
// The seed corpus holds throwaway keys and tokens made for it (tests/interop/jwt_interop_tool).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "sessionkit/tokens/access_token.h"
#include "sessionkit/tokens/signing_keys.h"
#include "tokens/claims.h"
#include "tokens/jose.h"

namespace {

using namespace sessionkit;
using namespace sessionkit::tokens;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Harness {
  ManualClock clock{from_millis(1'735'689'600'000)};  // 2025-01-01T00:00:00Z
  KeyRing ring{clock};
  std::optional<AccessTokens> tokens;
  Harness() {
    check(ring.add(SigningKey::generate(Algorithm::eddsa, "fuzz-ed", clock.now()).value()).ok());
    check(ring.add(SigningKey::generate(Algorithm::es256, "fuzz-es", clock.now()).value()).ok());
    AccessTokenOptions o;
    o.issuer = "https://issuer.example";
    o.audience = "https://api.example";
    tokens.emplace(AccessTokens::create(ring, o).value());
  }
};

const Harness& harness() {
  static const Harness h;
  return h;
}

void check_refused(std::string_view token) {
  Rejection why = Rejection::none;
  auto v = harness().tokens->verify(token, &why);
  check(!v.ok());
  check(why != Rejection::none);
  check(v.message().starts_with(std::string(to_string(why)) + ": "));
  check((v.code() == errc::too_large) == (why == Rejection::too_long));
}

// The reference for jose::parse_object: nlohmann's DOM parser, a callback noting a name seen
// twice in one object.
std::optional<nlohmann::json> parse_object_reference(std::string_view text) {
  using json = nlohmann::json;
  std::vector<std::set<std::string>> names;
  bool duplicate = false;
  const json::parser_callback_t note = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) names.emplace_back();
    if (event == json::parse_event_t::object_end && !names.empty()) names.pop_back();
    if (event == json::parse_event_t::key && !names.empty() &&
        !names.back().insert(parsed.get<std::string>()).second) {
      duplicate = true;
    }
    return true;
  };
  json value = json::parse(text.begin(), text.end(), note, /*allow_exceptions=*/false);
  if (duplicate || value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

void check_claims_readers(std::string_view text) {
  const auto flat = claims::read_flat(text);
  if (!flat) return;
  const auto general = claims::read(text);
  check(general.token.has_value());
  const AccessToken& a = *flat;
  const AccessToken& b = *general.token;
  check(a.issuer == b.issuer && a.audience == b.audience && a.subject == b.subject &&
        a.session_id == b.session_id && a.issued_at == b.issued_at &&
        a.expires_at == b.expires_at && a.not_before == b.not_before && a.jwt_id == b.jwt_id &&
        a.extra == b.extra);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check_refused(in);
  check(jose::parse_object(in) == parse_object_reference(in));
  check_claims_readers(in);

  const std::size_t a = in.find('\n');
  const std::size_t b = a == std::string_view::npos ? a : in.find('\n', a + 1);
  if (b != std::string_view::npos) {
    check_refused(jose::b64url(in.substr(0, a)) + "." + jose::b64url(in.substr(a + 1, b - a - 1)) +
                  "." + jose::b64url(in.substr(b + 1)));
  }

  if (auto ring = KeyRing::import(in, harness().clock)) {
    const std::string exported = (*ring)->export_private();
    auto again = KeyRing::import(exported, harness().clock);
    check(again.ok() && (*again)->export_private() == exported);
    const auto jwks = nlohmann::json::parse((*ring)->jwks(), nullptr, false);
    check(jwks.is_object() && jwks["keys"].is_array());
    for (const auto& k : jwks["keys"])
      check(!k.contains("d"));
  }

  if (auto key = SigningKey::import_jwk(in)) {
    auto again = SigningKey::import_jwk(key->export_jwk());
    check(again.ok() && again->public_jwk() == key->public_jwk() && again->kid() == key->kid());
  }
  return 0;
}
