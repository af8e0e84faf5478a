// Internal: reading an access token's claims set (RFC 7519 §4) into an AccessToken. Not
// installed.
//
// Two readers, one answer:
// - `read` is the general one: any JSON object (nlohmann, strict: a member named twice anywhere
//   is malformed). It answers the registered claims typed and every other claim as JSON, or the
//   first refusal in the order access_token.h lists (malformed, then bad_claim: iss, sub, sid
//   and jti strings; aud a string or an array of strings; iat, exp, nbf integer NumericDates;
//   iat and exp present).
// - `read_flat` is the fast path for the claims this library (and PyJWT, jose, ...) mints: one
//   object, no whitespace, each value a plain string (printable ASCII, no escape), a
//   non-negative integer, true, false or null; every registered claim well typed and in range;
//   no name twice; at most 16 members. Anything else answers nullopt, and the caller reads the
//   text with `read`. Whenever it answers, `read` answers the same AccessToken (jwt_fuzz checks
//   this on every input).
// Neither fills kid or algorithm (the key's) nor checks the values against the options and the
// clock: that is AccessTokens::verify's work.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sessionkit/tokens/access_token.h"

namespace sessionkit::tokens::claims {

// The latest NumericDate accepted: 9999-12-31T23:59:59Z.
constexpr std::int64_t kMaxNumericDate = 253'402'300'799;

// iss, aud, sub, sid, iat, exp, nbf or jti: the claims AccessTokens reads and mints itself.
bool is_registered(std::string_view name);

struct Read {
  std::optional<AccessToken> token;  // set when the claims are readable
  Rejection why = Rejection::none;   // else malformed or bad_claim
  std::string detail = {};
};
Read read(std::string_view text);

std::optional<AccessToken> read_flat(std::string_view text);

}  // namespace sessionkit::tokens::claims
