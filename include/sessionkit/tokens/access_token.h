// sessionkit/tokens/access_token.h — short-lived JWT access tokens (RFC 9068 profile).
//
// `AccessTokens` mints and verifies JWS-signed JWTs in compact serialization with the keys of a
// KeyRing (signing_keys.h). A token is
//     base64url(header) "." base64url(claims) "." base64url(signature)
// with header {"alg": the key's algorithm, "kid", "typ":"at+jwt"} and claims iss, aud (one
// string), sub, sid (the session), iat, exp (iat + lifetime, 5 minutes by default), jti (128
// random bits) and the caller's extra claims.
//
// Verification (RFC 8725) answers the claims, or refuses with one `Rejection` (each a distinct
// reason; every one of them means RFC 6750 `invalid_token`). In order:
//   too_long        the token is over AccessTokenOptions::max_token_bytes (default 8 KiB);
//   malformed       not three segments, a segment that is not canonical unpadded base64url, a
//                   header or claims that are not a JSON object, a member named twice;
//   bad_header      alg / kid / typ present but not strings, or a "crit" member (none understood);
//   alg_none        "alg":"none" (any case);
//   unknown_kid     no kid, or no key of that kid verifies now (never heard of, or retired past
//                   its horizon);
//   alg_mismatch    the header's alg is not the key's own (the key decides: RFC 8725 §3.1);
//   wrong_typ       typ missing or not "at+jwt" / "application/at+jwt" (case-insensitive);
//   bad_signature   the signature does not verify with that key;
//   bad_claim       iss, aud, sub, sid, iat, exp or jti missing or of the wrong type; a time
//                   (iat, exp, nbf) not an integer number of seconds in [0, 253402300799];
//                   exp not after iat, or exp - iat over the ring's max_token_lifetime;
//   wrong_issuer    iss is not AccessTokenOptions::issuer;
//   wrong_audience  aud (a string, or an array of strings) does not contain the audience;
//   expired         now >= exp + leeway;
//   not_yet_valid   nbf > now + leeway;
//   issued_in_future  iat > now + leeway.
// The leeway (default 30 s) absorbs clock skew between instances; it may not exceed the ring's
// max_leeway, since that bounds how long a retired key keeps verifying.
//
// Results are values: `verify` answers errc::invalid_argument (errc::too_large for too_long) with
// a message "<rejection>: <detail>", and reports the Rejection through its optional out
// parameter. Nothing throws on bad input. Time comes from the ring's clock.
//
// Thread safety: an AccessTokens is immutable; issue and verify from any number of threads
// (the ring may rotate meanwhile). The ring must outlive it.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/clock.h"
#include "sessionkit/result.h"
#include "sessionkit/tokens/signing_keys.h"

namespace sessionkit::tokens {

struct AccessTokenOptions {
  std::string issuer;    // "iss" minted and required; non-empty
  std::string audience;  // "aud" minted, and required among the token's audiences; non-empty
  Duration lifetime = std::chrono::minutes(5);  // exp - iat; at most the ring's maximum
  Duration leeway = std::chrono::seconds(30);   // clock skew allowed on exp, nbf, iat
  std::size_t max_token_bytes = 8192;           // 8 KiB; longer tokens are refused unread
};

// What a caller puts in a token.
struct AccessTokenClaims {
  std::string subject;     // "sub": the user; non-empty
  std::string session_id;  // "sid": the session it belongs to; non-empty
  // Further claims; none may be a registered one (iss, aud, sub, sid, iat, exp, nbf, jti).
  std::map<std::string, nlohmann::json> extra;
};

// A verified token's claims, or what `issue` minted.
struct AccessToken {
  std::string issuer;
  std::vector<std::string> audience;
  std::string subject;
  std::string session_id;
  Time issued_at;
  Time expires_at;
  std::optional<Time> not_before;
  std::string jwt_id;
  std::string kid;  // the key that signed it
  Algorithm algorithm = Algorithm::eddsa;
  std::map<std::string, nlohmann::json> extra;  // every other claim
};

// A minted token: the compact JWS and its claims.
struct IssuedToken {
  std::string token;
  AccessToken claims;
};

enum class Rejection {
  none = 0,  // accepted
  too_long,
  malformed,
  bad_header,
  alg_none,
  unknown_kid,
  alg_mismatch,
  wrong_typ,
  bad_signature,
  bad_claim,
  wrong_issuer,
  wrong_audience,
  expired,
  not_yet_valid,
  issued_in_future,
};
// The enumerator's name ("expired", "unknown_kid", ...).
const char* to_string(Rejection r) noexcept;

class AccessTokens {
 public:
  // invalid_argument if the issuer or audience is empty, the lifetime is not positive or over
  // ring.options().max_token_lifetime, the leeway is negative or over max_leeway, or
  // max_token_bytes is under 256.
  static Result<AccessTokens> create(const KeyRing& ring, AccessTokenOptions options);

  // A token signed by the ring's signing key, issued now. invalid_argument for an empty subject
  // or session ID, a registered name among the extra claims, or a string that is not UTF-8;
  // not_found when the ring has no active key.
  Result<IssuedToken> issue(const AccessTokenClaims& claims) const;

  // The token's claims if it is valid now; see the top of this file for the rules.
  Result<AccessToken> verify(std::string_view token, Rejection* why = nullptr) const;

  const AccessTokenOptions& options() const noexcept { return options_; }

 private:
  AccessTokens(const KeyRing& ring, AccessTokenOptions options)
      : ring_(&ring), options_(std::move(options)) {}
  const KeyRing* ring_;
  AccessTokenOptions options_;
};

}  // namespace sessionkit::tokens
