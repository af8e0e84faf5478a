// AccessTokens: minting and verifying RFC 9068 access tokens; the rules are in access_token.h.
//
// Verification reads as little as it can before the signature holds: the length, the segments,
// the header (alg, kid, typ) and the key. The claims are decoded only from a token the key
// signed. Besides the signature check, the work is kept near 1 µs (issue 15): a header is parsed
// once per thread (read_header's cache: every token of one key shares its header), and claims in
// the plain shape minted here are read by claims::read_flat without building a JSON DOM.
#include "sessionkit/tokens/access_token.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "crypto/crypto.h"
#include "tokens/claims.h"
#include "tokens/jose.h"

namespace sessionkit::tokens {

namespace {

using json = nlohmann::json;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::int64_t seconds(Time t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

const char* to_string(Rejection r) noexcept {
  switch (r) {
    case Rejection::none:
      return "none";
    case Rejection::too_long:
      return "too_long";
    case Rejection::malformed:
      return "malformed";
    case Rejection::bad_header:
      return "bad_header";
    case Rejection::alg_none:
      return "alg_none";
    case Rejection::unknown_kid:
      return "unknown_kid";
    case Rejection::alg_mismatch:
      return "alg_mismatch";
    case Rejection::wrong_typ:
      return "wrong_typ";
    case Rejection::bad_signature:
      return "bad_signature";
    case Rejection::bad_claim:
      return "bad_claim";
    case Rejection::wrong_issuer:
      return "wrong_issuer";
    case Rejection::wrong_audience:
      return "wrong_audience";
    case Rejection::expired:
      return "expired";
    case Rejection::not_yet_valid:
      return "not_yet_valid";
    case Rejection::issued_in_future:
      return "issued_in_future";
  }
  return "unknown";
}

Result<AccessTokens> AccessTokens::create(const KeyRing& ring, AccessTokenOptions options) {
  const KeyRingOptions& limits = ring.options();
  std::string bad;
  if (options.issuer.empty()) bad = "issuer is empty";
  if (options.audience.empty()) bad = "audience is empty";
  if (options.lifetime <= Duration::zero() || options.lifetime > limits.max_token_lifetime) {
    bad = "lifetime must be positive and at most the ring's max_token_lifetime";
  }
  if (options.leeway < Duration::zero() || options.leeway > limits.max_leeway) {
    bad = "leeway must be between 0 and the ring's max_leeway";
  }
  if (options.max_token_bytes < 256) bad = "max_token_bytes must be at least 256";
  if (!bad.empty()) return Status(errc::invalid_argument, "access tokens: " + bad);
  return AccessTokens(ring, std::move(options));
}

Result<IssuedToken> AccessTokens::issue(const AccessTokenClaims& claims) const {
  if (claims.subject.empty() || claims.session_id.empty()) {
    return Status(errc::invalid_argument, "access token: subject and session_id are required");
  }
  for (const auto& [name, value] : claims.extra) {
    if (claims::is_registered(name)) {
      return Status(errc::invalid_argument,
                    "access token: \"" + name + "\" is a registered claim, not an extra one");
    }
  }
  auto key = ring_->signing_key();
  if (!key) return key.status();
  const Time now = ring_->clock().now();

  IssuedToken out;
  AccessToken& c = out.claims;
  c.issuer = options_.issuer;
  c.audience = {options_.audience};
  c.subject = claims.subject;
  c.session_id = claims.session_id;
  c.issued_at = from_millis(seconds(now) * 1000);
  c.expires_at = c.issued_at + std::chrono::ceil<std::chrono::seconds>(options_.lifetime);
  std::array<std::uint8_t, 16> jti{};  // 128 bits
  crypto::random_bytes(jti);
  c.jwt_id = jose::b64url(jti);
  c.kid = key->kid();
  c.algorithm = key->algorithm();
  c.extra = claims.extra;

  json payload(claims.extra);
  payload["iss"] = c.issuer;
  payload["aud"] = options_.audience;
  payload["sub"] = c.subject;
  payload["sid"] = c.session_id;
  payload["iat"] = seconds(c.issued_at);
  payload["exp"] = seconds(c.expires_at);
  payload["jti"] = c.jwt_id;
  const json header = {
      {"alg", to_string(key->algorithm())}, {"kid", key->kid()}, {"typ", "at+jwt"}};
  const auto header_text = jose::dump(header);
  const auto payload_text = jose::dump(payload);
  if (!header_text || !payload_text) {
    return Status(errc::invalid_argument, "access token: a claim is not valid UTF-8");
  }
  std::string token = jose::b64url(*header_text);
  token += '.';
  token += jose::b64url(*payload_text);
  auto signature = key->sign(token);
  if (!signature) return signature.status();
  token += '.';
  token += jose::b64url(*signature);
  out.token = std::move(token);
  return out;
}

namespace {

// What a JWS header says, once it passed the checks that need no key.
struct Header {
  std::string alg;
  std::string kid;
  bool typ_ok = false;  // "at+jwt" or "application/at+jwt", checked after the key's own checks
};
// A Header, or the rejection that parse_header chose (why, detail).
struct HeaderOrRejection {
  std::optional<Header> header;
  Rejection why = Rejection::none;
  const char* detail = "";
};

HeaderOrRejection parse_header(std::string_view segment) {
  const auto refusal = [](Rejection why, const char* detail) {
    return HeaderOrRejection{std::nullopt, why, detail};
  };
  const auto text = jose::b64url_decode(segment);
  if (!text) return refusal(Rejection::malformed, "the header is not base64url");
  const auto header = jose::parse_object(*text);
  if (!header) {
    return refusal(Rejection::malformed, "the header is not one JSON object");
  }
  const auto alg = header->find("alg");
  const auto kid = header->find("kid");
  const auto typ = header->find("typ");
  if (alg == header->end() || !alg->is_string() || (kid != header->end() && !kid->is_string()) ||
      (typ != header->end() && !typ->is_string())) {
    return refusal(Rejection::bad_header, "alg missing, or alg/kid/typ not strings");
  }
  if (header->contains("crit")) {
    return refusal(Rejection::bad_header, "crit is not supported");
  }
  Header out;
  out.alg = alg->get_ref<const std::string&>();
  if (iequals(out.alg, "none")) {
    return refusal(Rejection::alg_none, "unsigned tokens are refused");
  }
  if (kid == header->end()) {
    return refusal(Rejection::unknown_kid, "the header names no kid");
  }
  out.kid = kid->get_ref<const std::string&>();
  out.typ_ok =
      typ != header->end() && (iequals(typ->get_ref<const std::string&>(), "at+jwt") ||
                               iequals(typ->get_ref<const std::string&>(), "application/at+jwt"));
  return {std::move(out)};
}

// parse_header behind a small per-thread cache. What a header says is a function of its text
// alone (the key lookup happens after, on every call), so a cached answer is never stale, and
// every token of one key shares one header. Only headers that pass are kept, four per thread,
// replaced in turn: a stream of distinct headers costs a parse each and no memory.
HeaderOrRejection read_header(std::string_view segment) {
  struct Entry {
    std::string segment;
    Header header;
  };
  thread_local std::array<Entry, 4> cache;
  thread_local std::size_t next = 0;
  for (const Entry& e : cache) {
    if (!e.segment.empty() && e.segment == segment) return {e.header};
  }
  auto parsed = parse_header(segment);
  if (parsed.header) {
    cache[next] = Entry{std::string(segment), *parsed.header};
    next = (next + 1) % cache.size();
  }
  return parsed;
}

}  // namespace

Result<AccessToken> AccessTokens::verify(std::string_view token, Rejection* why) const {
  const auto refuse = [why](Rejection r, std::string_view detail) -> Status {
    if (why) *why = r;
    return {r == Rejection::too_long ? errc::too_large : errc::invalid_argument,
            std::string(to_string(r)) + ": " + std::string(detail)};
  };
  if (why) *why = Rejection::none;
  if (token.size() > options_.max_token_bytes) {
    return refuse(Rejection::too_long,
                  "the token is over " + std::to_string(options_.max_token_bytes) + " bytes");
  }
  const auto parts = jose::split(token);
  if (!parts) return refuse(Rejection::malformed, "not three dot-separated segments");
  const auto read = read_header(parts->header);
  if (!read.header) return refuse(read.why, read.detail);
  const Header& header = *read.header;
  const auto key = ring_->find(header.kid);
  if (!key) return refuse(Rejection::unknown_kid, "no key with that kid verifies now");
  if (header.alg != to_string(key->algorithm())) {
    return refuse(Rejection::alg_mismatch,
                  "the header says " + header.alg + ", the key is " + to_string(key->algorithm()));
  }
  if (!header.typ_ok) return refuse(Rejection::wrong_typ, "typ must be at+jwt");
  const auto signature = jose::b64url_decode(parts->signature);
  if (!signature) return refuse(Rejection::malformed, "the signature is not base64url");
  if (!key->verify(parts->signing_input, crypto::as_bytes(*signature))) {
    return refuse(Rejection::bad_signature, "the signature does not verify");
  }

  const auto payload_text = jose::b64url_decode(parts->payload);
  if (!payload_text) return refuse(Rejection::malformed, "the claims are not base64url");
  auto flat = claims::read_flat(*payload_text);
  if (!flat) {
    auto read_claims = claims::read(*payload_text);
    if (!read_claims.token) return refuse(read_claims.why, read_claims.detail);
    flat = std::move(read_claims.token);
  }
  AccessToken& out = *flat;
  out.kid = key->kid();
  out.algorithm = key->algorithm();
  if (out.expires_at <= out.issued_at ||
      out.expires_at - out.issued_at > ring_->options().max_token_lifetime) {
    return refuse(Rejection::bad_claim, "exp must be after iat by at most the ring's lifetime");
  }
  if (out.issuer != options_.issuer) return refuse(Rejection::wrong_issuer, "iss does not match");
  if (std::find(out.audience.begin(), out.audience.end(), options_.audience) ==
      out.audience.end()) {
    return refuse(Rejection::wrong_audience, "aud does not name this audience");
  }
  const Time now = ring_->clock().now();
  if (now >= out.expires_at + options_.leeway) return refuse(Rejection::expired, "exp has passed");
  if (out.not_before && *out.not_before > now + options_.leeway) {
    return refuse(Rejection::not_yet_valid, "nbf is in the future");
  }
  if (out.issued_at > now + options_.leeway) {
    return refuse(Rejection::issued_in_future, "iat is in the future");
  }
  return std::move(out);
}

}  // namespace sessionkit::tokens
