#include "sessionkit/tokens/access_token.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <set>
#include <string>

#include "crypto/crypto.h"
#include "sessionkit/tokens/signing_keys.h"
#include "tokens/jose.h"

namespace sessionkit::tokens {
namespace {

using json = nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::string_view kIssuer = "https://issuer.example";
constexpr std::string_view kAudience = "https://api.example";

std::string b64(std::string_view s) {
  return jose::b64url(s);
}

json decode_segment(std::string_view segment) {
  auto text = jose::b64url_decode(segment);
  EXPECT_TRUE(text.has_value());
  return json::parse(text.value_or("null"));
}

std::vector<std::string> segments(const std::string& token) {
  auto parts = jose::split(token);
  EXPECT_TRUE(parts.has_value());
  if (!parts) return {};
  return {std::string(parts->header), std::string(parts->payload), std::string(parts->signature)};
}

// A token with exactly this header and payload text, signed by `key`.
std::string forge_text(const SigningKey& key, std::string_view header, std::string_view payload) {
  std::string input = b64(header) + "." + b64(payload);
  auto sig = key.sign(input);
  EXPECT_TRUE(sig.ok());
  return input + "." + b64(sig.ok() ? *sig : std::string());
}

std::string forge(const SigningKey& key, const json& header, const json& payload) {
  return forge_text(key, header.dump(), payload.dump());
}

class Fixture : public ::testing::TestWithParam<Algorithm> {
 protected:
  void SetUp() override {
    key_ = ring_.rotate(GetParam(), "k1").value();
    tokens_.emplace(AccessTokens::create(ring_, options()).value());
  }
  static AccessTokenOptions options() {
    AccessTokenOptions o;
    o.issuer = kIssuer;
    o.audience = kAudience;
    return o;
  }
  std::int64_t now_s() const {
    return std::chrono::floor<seconds>(clock_.now().time_since_epoch()).count();
  }
  json header() const { return {{"alg", to_string(GetParam())}, {"kid", "k1"}, {"typ", "at+jwt"}}; }
  json claims() const {
    return {{"iss", kIssuer}, {"aud", kAudience},     {"sub", "alice"}, {"sid", "s-1"},
            {"iat", now_s()}, {"exp", now_s() + 300}, {"jti", "j-1"}};
  }
  // verify's rejection for `token` (none when accepted).
  Rejection why(std::string_view token) const {
    Rejection r = Rejection::bad_claim;
    auto v = tokens_->verify(token, &r);
    EXPECT_EQ(v.ok(), r == Rejection::none) << v.message();
    if (!v.ok()) {
      EXPECT_EQ(v.message().rfind(std::string(to_string(r)) + ": ", 0), 0u) << v.message();
      EXPECT_EQ(v.code(), r == Rejection::too_long ? errc::too_large : errc::invalid_argument);
    }
    return r;
  }
  Rejection why_claims(const json& c) const { return why(forge(*key_, header(), c)); }
  Rejection why_header(const json& h) const { return why(forge(*key_, h, claims())); }

  ManualClock clock_;
  KeyRing ring_{clock_};
  std::optional<SigningKey> key_;
  std::optional<AccessTokens> tokens_;
};

INSTANTIATE_TEST_SUITE_P(Algorithms, Fixture, ::testing::Values(Algorithm::eddsa, Algorithm::es256),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST_P(Fixture, RoundTrip) {
  AccessTokenClaims c{"alice", "session-7", {{"scope", "read write"}, {"n", 3}}};
  auto issued = tokens_->issue(c);
  ASSERT_TRUE(issued.ok()) << issued.message();
  const auto parts = segments(issued->token);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(decode_segment(parts[0]),
            (json{{"alg", to_string(GetParam())}, {"kid", "k1"}, {"typ", "at+jwt"}}));
  const json payload = decode_segment(parts[1]);
  EXPECT_EQ(payload["iss"], kIssuer);
  EXPECT_EQ(payload["aud"], kAudience);
  EXPECT_EQ(payload["sub"], "alice");
  EXPECT_EQ(payload["sid"], "session-7");
  EXPECT_EQ(payload["iat"], now_s());
  EXPECT_EQ(payload["exp"], now_s() + 300);  // the default lifetime: 5 minutes
  EXPECT_EQ(payload["scope"], "read write");
  EXPECT_EQ(jose::b64url_decode(payload["jti"].get<std::string>())->size(), 16u);  // 128 bits
  EXPECT_EQ(jose::b64url_decode(parts[2])->size(), 64u);

  Rejection r = Rejection::bad_claim;
  auto v = tokens_->verify(issued->token, &r);
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_EQ(r, Rejection::none);
  EXPECT_EQ(v->issuer, kIssuer);
  EXPECT_EQ(v->audience, std::vector<std::string>{std::string(kAudience)});
  EXPECT_EQ(v->subject, "alice");
  EXPECT_EQ(v->session_id, "session-7");
  EXPECT_EQ(v->issued_at, clock_.now());
  EXPECT_EQ(v->expires_at, clock_.now() + minutes(5));
  EXPECT_EQ(v->jwt_id, issued->claims.jwt_id);
  EXPECT_EQ(v->kid, "k1");
  EXPECT_EQ(v->algorithm, GetParam());
  EXPECT_EQ(v->extra.at("scope"), "read write");
  EXPECT_EQ(v->extra.at("n"), 3);
  EXPECT_EQ(v->extra.size(), 2u);
  EXPECT_FALSE(v->not_before.has_value());
}

TEST_P(Fixture, JwtIdsAreFresh) {
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i)
    ids.insert(tokens_->issue({"alice", "s", {}})->claims.jwt_id);
  EXPECT_EQ(ids.size(), 50u);
}

TEST_P(Fixture, IssueRefusesBadClaims) {
  EXPECT_EQ(tokens_->issue({"", "s", {}}).code(), errc::invalid_argument);
  EXPECT_EQ(tokens_->issue({"alice", "", {}}).code(), errc::invalid_argument);
  EXPECT_EQ(tokens_->issue({"alice", "s", {{"exp", 1}}}).code(), errc::invalid_argument);
  EXPECT_EQ(tokens_->issue({"alice", "s", {{"aud", "x"}}}).code(), errc::invalid_argument);
  EXPECT_EQ(tokens_->issue({"al\xff", "s", {}}).code(), errc::invalid_argument);  // not UTF-8
  KeyRing empty(clock_);
  auto no_keys = AccessTokens::create(empty, options()).value();
  EXPECT_EQ(no_keys.issue({"alice", "s", {}}).code(), errc::not_found);
}

TEST_P(Fixture, ForgedHelperMakesValidTokens) {  // the rejections below differ in one thing only
  EXPECT_EQ(why_claims(claims()), Rejection::none);
  EXPECT_EQ(why_header(header()), Rejection::none);
}

TEST_P(Fixture, TooLong) {
  json c = claims();
  c["pad"] = std::string(8 * 1024, 'x');
  EXPECT_EQ(why_claims(c), Rejection::too_long);
  EXPECT_EQ(why(std::string(8 * 1024 + 1, 'a')), Rejection::too_long);
}

TEST_P(Fixture, Malformed) {
  const std::string good = forge(*key_, header(), claims());
  const auto p = segments(good);
  EXPECT_EQ(why(""), Rejection::malformed);
  EXPECT_EQ(why(p[0] + "." + p[1]), Rejection::malformed);
  EXPECT_EQ(why(good + "."), Rejection::malformed);
  EXPECT_EQ(why(good + ".e30"), Rejection::malformed);
  EXPECT_EQ(why(p[0] + "=." + p[1] + "." + p[2]), Rejection::malformed);  // padding
  EXPECT_EQ(why(p[0] + "." + p[1] + "." + p[2] + "=="), Rejection::malformed);
  EXPECT_EQ(why(p[0] + "+." + p[1] + "." + p[2]), Rejection::malformed);           // not base64url
  EXPECT_EQ(why(p[0] + "." + p[1] + "." + p[2].substr(1)), Rejection::malformed);  // length 4k+1
  // A second spelling of the same signature: non-zero unused bits in the last character.
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string sig = p[2];
  ASSERT_EQ(sig.size(), 86u);  // 64 bytes: the last character carries 2 bits and 4 unused
  sig.back() = kAlphabet[kAlphabet.find(sig.back()) | 1];
  EXPECT_NE(sig, p[2]);
  EXPECT_EQ(why(p[0] + "." + p[1] + "." + sig), Rejection::malformed);
  // Not JSON objects.
  EXPECT_EQ(why(forge_text(*key_, "[1]", claims().dump())), Rejection::malformed);
  EXPECT_EQ(why(forge_text(*key_, "{", claims().dump())), Rejection::malformed);
  EXPECT_EQ(why(forge_text(*key_, header().dump(), "\"x\"")), Rejection::malformed);
  EXPECT_EQ(why(forge_text(*key_, header().dump(), "{\"sub\":\"\xff\"}")), Rejection::malformed);
  // A member named twice: in the header, in the claims, in a nested object.
  const std::string h = header().dump();
  const std::string dup_alg = R"({"alg":"none",)" + h.substr(1);
  EXPECT_EQ(why(forge_text(*key_, dup_alg, claims().dump())), Rejection::malformed);
  const std::string c = claims().dump();
  EXPECT_EQ(why(forge_text(*key_, h, R"({"sub":"mallory",)" + c.substr(1))), Rejection::malformed);
  EXPECT_EQ(why(forge_text(*key_, h, R"({"x":{"a":1,"a":2},)" + c.substr(1))),
            Rejection::malformed);
  EXPECT_EQ(why(forge_text(*key_, h, R"({"x":[{"a":1},{"a":2}],)" + c.substr(1))),
            Rejection::none);  // the same name in two objects is fine
}

TEST_P(Fixture, BadHeader) {
  json h = header();
  h["alg"] = 1;
  EXPECT_EQ(why_header(h), Rejection::bad_header);
  h = header();
  h["kid"] = json::array({"k1"});
  EXPECT_EQ(why_header(h), Rejection::bad_header);
  h = header();
  h.erase("alg");
  EXPECT_EQ(why_header(h), Rejection::bad_header);
  h = header();
  h["crit"] = json::array({"exp"});
  EXPECT_EQ(why_header(h), Rejection::bad_header);
}

TEST_P(Fixture, AlgNone) {
  for (const char* none : {"none", "None", "NONE"}) {
    json h = header();
    h["alg"] = none;
    const std::string unsigned_token = b64(h.dump()) + "." + b64(claims().dump()) + ".";
    EXPECT_EQ(why(unsigned_token), Rejection::alg_none) << none;
    EXPECT_EQ(why_header(h), Rejection::alg_none) << none;  // even with a valid signature
  }
}

TEST_P(Fixture, UnknownKid) {
  json h = header();
  h["kid"] = "k2";
  EXPECT_EQ(why_header(h), Rejection::unknown_kid);
  h.erase("kid");
  EXPECT_EQ(why_header(h), Rejection::unknown_kid);
}

TEST_P(Fixture, AlgorithmIsTheKeys) {
  json h = header();
  h["alg"] = GetParam() == Algorithm::eddsa ? "ES256" : "EdDSA";
  EXPECT_EQ(why_header(h), Rejection::alg_mismatch);
  h["alg"] = "Ed25519";
  EXPECT_EQ(why_header(h), Rejection::alg_mismatch);
  // Algorithm confusion: HS256 with the public key (as published in the JWKS) as the secret.
  const json jwk = json::parse(key_->public_jwk());
  h["alg"] = "HS256";
  for (const std::string& secret :
       {key_->public_jwk(), *jose::b64url_decode(jwk["x"].get<std::string>())}) {
    const std::string input = b64(h.dump()) + "." + b64(claims().dump());
    const auto mac = crypto::hmac_sha256(crypto::as_bytes(secret), input);
    EXPECT_EQ(why(input + "." + jose::b64url(mac)), Rejection::alg_mismatch);
  }
}

TEST_P(Fixture, Typ) {
  json h = header();
  h.erase("typ");
  EXPECT_EQ(why_header(h), Rejection::wrong_typ);
  for (const char* bad : {"JWT", "at+jwt ", "application/jwt", ""}) {
    h["typ"] = bad;
    EXPECT_EQ(why_header(h), Rejection::wrong_typ) << bad;
  }
  for (const char* good : {"at+jwt", "AT+JWT", "application/at+jwt"}) {
    h["typ"] = good;
    EXPECT_EQ(why_header(h), Rejection::none) << good;
  }
}

TEST_P(Fixture, BadSignature) {
  const auto p = segments(forge(*key_, header(), claims()));
  std::string sig = *jose::b64url_decode(p[2]);
  sig[10] = static_cast<char>(sig[10] ^ 1);
  EXPECT_EQ(why(p[0] + "." + p[1] + "." + b64(sig)), Rejection::bad_signature);
  EXPECT_EQ(why(p[0] + "." + p[1] + "." + b64(sig.substr(0, 63))), Rejection::bad_signature);
  EXPECT_EQ(why(p[0] + "." + p[1] + "."), Rejection::bad_signature);
  // Claims changed under the signature.
  json c = claims();
  c["sub"] = "mallory";
  EXPECT_EQ(why(p[0] + "." + b64(c.dump()) + "." + p[2]), Rejection::bad_signature);
  // The same kid, another key.
  auto other = SigningKey::generate(GetParam(), "k1", clock_.now()).value();
  EXPECT_EQ(why(forge(other, header(), claims())), Rejection::bad_signature);
}

TEST_P(Fixture, BadClaims) {
  for (const char* name : {"iss", "aud", "sub", "sid", "iat", "exp", "jti"}) {
    json c = claims();
    c.erase(name);
    EXPECT_EQ(why_claims(c), Rejection::bad_claim) << name;
    c[name] = json::object();
    EXPECT_EQ(why_claims(c), Rejection::bad_claim) << name;
  }
  json c = claims();
  c["iat"] = static_cast<double>(now_s()) + 0.5;  // non-integer times
  EXPECT_EQ(why_claims(c), Rejection::bad_claim);
  c = claims();
  c["exp"] = std::to_string(now_s() + 300);
  EXPECT_EQ(why_claims(c), Rejection::bad_claim);
  c = claims();
  c["nbf"] = -1;
  EXPECT_EQ(why_claims(c), Rejection::bad_claim);
  c = claims();
  c["exp"] = 18'446'744'073'709'551'615ull;
  EXPECT_EQ(why_claims(c), Rejection::bad_claim);
  c = claims();
  c["aud"] = json::array({kAudience, 7});
  EXPECT_EQ(why_claims(c), Rejection::bad_claim);
  c = claims();
  c["exp"] = now_s();  // not after iat
  EXPECT_EQ(why_claims(c), Rejection::bad_claim);
  c["exp"] = now_s() + 301;  // longer than the ring's max_token_lifetime
  EXPECT_EQ(why_claims(c), Rejection::bad_claim);
}

TEST_P(Fixture, IssuerAndAudience) {
  json c = claims();
  c["iss"] = "https://issuer.example/";
  EXPECT_EQ(why_claims(c), Rejection::wrong_issuer);
  c = claims();
  c["aud"] = "https://other.example";
  EXPECT_EQ(why_claims(c), Rejection::wrong_audience);
  c["aud"] = json::array();
  EXPECT_EQ(why_claims(c), Rejection::wrong_audience);
  c["aud"] = json::array({"https://other.example"});
  EXPECT_EQ(why_claims(c), Rejection::wrong_audience);
  c["aud"] = json::array({"https://other.example", kAudience});
  EXPECT_EQ(why_claims(c), Rejection::none);
}

TEST_P(Fixture, ExpiryWithLeeway) {
  const std::string token = tokens_->issue({"alice", "s", {}})->token;
  clock_.advance(minutes(5) + seconds(30) - std::chrono::milliseconds(1));
  EXPECT_EQ(why(token), Rejection::none);
  clock_.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(why(token), Rejection::expired);
}

TEST_P(Fixture, NotBeforeAndIssuedAtWithLeeway) {
  json c = claims();
  c["nbf"] = now_s() + 30;
  EXPECT_EQ(why_claims(c), Rejection::none);
  c["nbf"] = now_s() + 31;
  EXPECT_EQ(why_claims(c), Rejection::not_yet_valid);
  c = claims();
  c["iat"] = now_s() + 30;
  c["exp"] = now_s() + 330;
  EXPECT_EQ(why_claims(c), Rejection::none);
  c["iat"] = now_s() + 31;
  c["exp"] = now_s() + 331;
  EXPECT_EQ(why_claims(c), Rejection::issued_in_future);
}

TEST_P(Fixture, LeewayIsConfigurable) {
  AccessTokenOptions o = options();
  o.leeway = seconds(0);
  auto strict = AccessTokens::create(ring_, o).value();
  const std::string token = tokens_->issue({"alice", "s", {}})->token;
  clock_.advance(minutes(5));
  Rejection r = Rejection::none;
  EXPECT_FALSE(strict.verify(token, &r).ok());
  EXPECT_EQ(r, Rejection::expired);
  EXPECT_TRUE(tokens_->verify(token).ok());
}

TEST_P(Fixture, RotationKeepsOldKeysUntilTheirHorizon) {
  const std::string old_token = tokens_->issue({"alice", "s", {}})->token;
  clock_.advance(minutes(1));
  const Time retired = clock_.now();
  auto k2 =
      ring_.rotate(GetParam() == Algorithm::eddsa ? Algorithm::es256 : Algorithm::eddsa, "k2");
  ASSERT_TRUE(k2.ok()) << k2.message();
  EXPECT_EQ(ring_.signing_key()->kid(), "k2");
  auto fresh = tokens_->issue({"alice", "s", {}});
  EXPECT_EQ(fresh->claims.kid, "k2");
  EXPECT_EQ(decode_segment(segments(fresh->token)[0])["kid"], "k2");
  EXPECT_EQ(why(old_token), Rejection::none);  // the retired key still verifies
  EXPECT_EQ(json::parse(ring_.jwks())["keys"].size(), 2u);

  // The horizon: retired_at + max lifetime (5 min) + max leeway (30 s).
  clock_.set(retired + minutes(5) + seconds(30));
  EXPECT_TRUE(ring_.find("k1").has_value());
  clock_.advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(ring_.find("k1").has_value());
  EXPECT_EQ(why(old_token), Rejection::unknown_kid);
  EXPECT_EQ(why_header(header()), Rejection::unknown_kid);  // even freshly dated claims
  const json jwks = json::parse(ring_.jwks());
  ASSERT_EQ(jwks["keys"].size(), 1u);
  EXPECT_EQ(jwks["keys"][0]["kid"], "k2");
  ring_.prune();
  EXPECT_EQ(ring_.retire("k1").code(), errc::not_found);
  EXPECT_TRUE(ring_.retire("k2").ok());
  EXPECT_EQ(ring_.signing_key().code(), errc::not_found);
  EXPECT_EQ(tokens_->issue({"alice", "s", {}}).code(), errc::not_found);
}

TEST_P(Fixture, JwksHoldsPublicKeysOnly) {
  clock_.advance(seconds(1));
  ASSERT_TRUE(ring_.rotate(Algorithm::eddsa, "k-ed").ok());
  clock_.advance(seconds(1));
  ASSERT_TRUE(ring_.rotate(Algorithm::es256, "k-es").ok());
  const json jwks = json::parse(ring_.jwks());
  ASSERT_EQ(jwks.size(), 1u);
  ASSERT_EQ(jwks["keys"].size(), 3u);
  EXPECT_EQ(jwks["keys"][0]["kid"], "k-es");  // newest first
  EXPECT_EQ(jwks["keys"][1]["kid"], "k-ed");
  for (const json& k : jwks["keys"]) {
    EXPECT_FALSE(k.contains("d"));
    EXPECT_EQ(k["use"], "sig");
    EXPECT_EQ(jose::b64url_decode(k["x"].get<std::string>())->size(), 32u);
    if (k["alg"] == "EdDSA") {
      EXPECT_EQ(k.size(), 6u) << k;
      EXPECT_EQ(k["kty"], "OKP");
      EXPECT_EQ(k["crv"], "Ed25519");
    } else {
      EXPECT_EQ(k.size(), 7u) << k;
      EXPECT_EQ(k["alg"], "ES256");
      EXPECT_EQ(k["kty"], "EC");
      EXPECT_EQ(k["crv"], "P-256");
      EXPECT_EQ(jose::b64url_decode(k["y"].get<std::string>())->size(), 32u);
    }
  }
  // The published Ed25519 x is the key that verifies the signature (libsodium, directly).
  const std::string token = tokens_->issue({"alice", "s", {}})->token;  // signed by k-es
  ASSERT_TRUE(ring_.rotate(Algorithm::eddsa, "k-ed2").ok());
  const std::string ed_token = tokens_->issue({"alice", "s", {}})->token;
  const auto p = segments(ed_token);
  const json ed = json::parse(ring_.jwks())["keys"][0];
  ASSERT_EQ(ed["kid"], "k-ed2");
  const auto x = *jose::b64url_decode(ed["x"].get<std::string>());
  const auto sig = *jose::b64url_decode(p[2]);
  const std::string input = p[0] + "." + p[1];
  EXPECT_EQ(
      crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.data()),
                                  reinterpret_cast<const unsigned char*>(input.data()),
                                  input.size(), reinterpret_cast<const unsigned char*>(x.data())),
      0);
  EXPECT_EQ(why(token), Rejection::none);
}

TEST_P(Fixture, ExportImportSharesTheRing) {
  clock_.advance(seconds(5));
  ASSERT_TRUE(ring_.rotate(GetParam(), "k2").ok());
  const std::string text = ring_.export_private();
  const json exported = json::parse(text);
  ASSERT_EQ(exported["keys"].size(), 2u);
  EXPECT_EQ(exported["keys"][1]["retired_ms"], to_millis(clock_.now()));
  EXPECT_TRUE(exported["keys"][0].contains("d"));

  auto copy = KeyRing::import(text, clock_);
  ASSERT_TRUE(copy.ok()) << copy.message();
  EXPECT_EQ((*copy)->jwks(), ring_.jwks());
  EXPECT_EQ((*copy)->export_private(), text);
  EXPECT_EQ((*copy)->signing_key()->kid(), "k2");
  auto other = AccessTokens::create(**copy, options()).value();
  const std::string here = tokens_->issue({"alice", "s", {}})->token;
  const std::string there = other.issue({"bob", "s", {}})->token;
  EXPECT_EQ(other.verify(here)->subject, "alice");
  EXPECT_EQ(tokens_->verify(there)->subject, "bob");
  // The retired key's horizon travels with it.
  clock_.advance(minutes(5) + seconds(31));
  EXPECT_FALSE((*copy)->find("k1").has_value());
  EXPECT_TRUE((*copy)->find("k2").has_value());
}

TEST_P(Fixture, ImportKeepsTheSignerAmongKeysCreatedTogether) {
  ASSERT_TRUE(ring_.add(SigningKey::generate(GetParam(), "k2", clock_.now()).value()).ok());
  ASSERT_EQ(ring_.signing_key()->kid(), "k2");  // same created_at: the one added last
  auto copy = KeyRing::import(ring_.export_private(), clock_);
  ASSERT_TRUE(copy.ok()) << copy.message();
  EXPECT_EQ((*copy)->signing_key()->kid(), "k2");
  EXPECT_EQ((*copy)->export_private(), ring_.export_private());
}

TEST_P(Fixture, ImportRefusesBadKeys) {
  const json good = json::parse(key_->export_jwk());
  ASSERT_TRUE(SigningKey::import_jwk(good.dump()).ok());
  const auto refused = [](const json& jwk) {
    auto k = SigningKey::import_jwk(jwk.dump());
    return !k.ok() && k.code() == errc::invalid_argument;
  };
  for (const char* name : {"kty", "crv", "alg", "kid", "d", "created_ms"}) {
    json j = good;
    j.erase(name);
    EXPECT_TRUE(refused(j)) << name;
  }
  json j = good;
  j["alg"] = GetParam() == Algorithm::eddsa ? "ES256" : "EdDSA";  // alg / kty mismatch
  EXPECT_TRUE(refused(j));
  j = good;
  j["alg"] = "HS256";
  EXPECT_TRUE(refused(j));
  j = good;
  j["d"] = b64(std::string(31, 'x'));
  EXPECT_TRUE(refused(j));
  j = good;
  j["d"] = good["d"].get<std::string>() + "=";
  EXPECT_TRUE(refused(j));
  // The private part of another key under this public part.
  const json stranger = json::parse(SigningKey::generate(GetParam(), "k9", {})->export_jwk());
  j = good;
  j["d"] = stranger["d"];
  EXPECT_TRUE(refused(j));
  j = good;
  j["x"] = stranger["x"];
  EXPECT_TRUE(refused(j));
  EXPECT_FALSE(SigningKey::import_jwk("").ok());
  EXPECT_FALSE(SigningKey::import_jwk("[]").ok());
  EXPECT_FALSE(SigningKey::import_jwk(R"({"kid":"a","kid":"b"})").ok());
  EXPECT_EQ(SigningKey::generate(GetParam(), "", {}).code(), errc::invalid_argument);
  EXPECT_EQ(SigningKey::generate(GetParam(), "a\nb", {}).code(), errc::invalid_argument);

  // Rings: a duplicate kid, a non-object, a bad retired_ms.
  const json ring = json::parse(ring_.export_private());
  json twice = ring;
  twice["keys"].push_back(ring["keys"][0]);
  EXPECT_EQ(KeyRing::import(twice.dump(), clock_).code(), errc::invalid_argument);
  EXPECT_EQ(KeyRing::import(R"({"keys":[1]})", clock_).code(), errc::invalid_argument);
  EXPECT_EQ(KeyRing::import(R"({"keys":{}})", clock_).code(), errc::invalid_argument);
  json retired = ring;
  retired["keys"][0]["retired_ms"] = "soon";
  EXPECT_EQ(KeyRing::import(retired.dump(), clock_).code(), errc::invalid_argument);
  EXPECT_TRUE(KeyRing::import(R"({"keys":[]})", clock_).ok());
  EXPECT_EQ(ring_.add(*key_).code(), errc::conflict);
}

TEST(AccessTokensCreate, RefusesBadOptions) {
  ManualClock clock;
  KeyRing ring(clock);
  AccessTokenOptions o;
  o.issuer = "i";
  o.audience = "a";
  EXPECT_TRUE(AccessTokens::create(ring, o).ok());
  EXPECT_EQ(o.lifetime, minutes(5));
  EXPECT_EQ(o.leeway, seconds(30));
  EXPECT_EQ(o.max_token_bytes, 8192u);
  const auto refused = [&](auto edit) {
    AccessTokenOptions bad = o;
    edit(bad);
    return AccessTokens::create(ring, bad).code() == errc::invalid_argument;
  };
  EXPECT_TRUE(refused([](auto& b) { b.issuer.clear(); }));
  EXPECT_TRUE(refused([](auto& b) { b.audience.clear(); }));
  EXPECT_TRUE(refused([](auto& b) { b.lifetime = Duration::zero(); }));
  EXPECT_TRUE(refused([](auto& b) { b.lifetime = minutes(5) + seconds(1); }));
  EXPECT_TRUE(refused([](auto& b) { b.leeway = seconds(-1); }));
  EXPECT_TRUE(refused([](auto& b) { b.leeway = seconds(31); }));
  EXPECT_TRUE(refused([](auto& b) { b.max_token_bytes = 100; }));
  KeyRing longer(clock, {minutes(60), seconds(60)});
  o.lifetime = minutes(60);
  o.leeway = seconds(60);
  EXPECT_TRUE(AccessTokens::create(longer, o).ok());
}

}  // namespace
}  // namespace sessionkit::tokens
