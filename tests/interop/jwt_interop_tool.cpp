// The C++ side of tests/interop/jwt_interop_test.py: a ring file in, tokens and verdicts out.
//
//   jwt_interop_tool add RING ALG KID            add a fresh EdDSA|ES256 key (created now) to the
//                                                ring file (created if absent); it signs next
//   jwt_interop_tool jwks RING                   print the public JWK Set
//   jwt_interop_tool mint RING ISS AUD SUB SID   print a token from the ring's signing key
//   jwt_interop_tool verify RING ISS AUD TOKEN   print "ok <sub> <sid> <kid>" (exit 0) or
//                                                "rejected <reason>" (exit 1)
// Exit 2 on a usage or file error. Time is the system clock.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "sessionkit/tokens/access_token.h"
#include "sessionkit/tokens/signing_keys.h"

namespace {

using namespace sessionkit;
using namespace sessionkit::tokens;

int fail(const std::string& message) {
  std::cerr << "jwt_interop_tool: " << message << "\n";
  return 2;
}

std::unique_ptr<KeyRing> load(const std::string& path, bool may_be_absent) {
  std::ifstream in(path);
  if (!in) return may_be_absent ? std::make_unique<KeyRing>() : nullptr;
  std::stringstream text;
  text << in.rdbuf();
  auto ring = KeyRing::import(text.str());
  if (!ring) {
    std::cerr << "jwt_interop_tool: " << ring.message() << "\n";
    return nullptr;
  }
  return std::move(ring).value();
}

Result<AccessTokens> tokens_for(const KeyRing& ring, const std::string& iss,
                                const std::string& aud) {
  AccessTokenOptions o;
  o.issuer = iss;
  o.audience = aud;
  return AccessTokens::create(ring, o);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() < 2) return fail("usage: add|jwks|mint|verify RING ...");
  const std::string& command = a[0];
  auto ring = load(a[1], command == "add");
  if (!ring) return fail("cannot read the ring " + a[1]);
  if (command == "add" && a.size() == 4) {
    if (a[2] != "EdDSA" && a[2] != "ES256") return fail("ALG is EdDSA or ES256");
    const Algorithm alg = a[2] == "ES256" ? Algorithm::es256 : Algorithm::eddsa;
    auto key = SigningKey::generate(alg, a[3], system_clock().now());
    if (!key) return fail(key.message());
    if (auto added = ring->add(std::move(key).value()); !added) return fail(added.message());
    std::ofstream out(a[1], std::ios::trunc);
    out << ring->export_private();
    return out ? 0 : fail("cannot write " + a[1]);
  }
  if (command == "jwks" && a.size() == 2) {
    std::cout << ring->jwks() << "\n";
    return 0;
  }
  if (command == "mint" && a.size() == 6) {
    auto tokens = tokens_for(*ring, a[2], a[3]);
    if (!tokens) return fail(tokens.message());
    auto issued = tokens->issue({a[4], a[5], {}});
    if (!issued) return fail(issued.message());
    std::cout << issued->token << "\n";
    return 0;
  }
  if (command == "verify" && a.size() == 5) {
    auto tokens = tokens_for(*ring, a[2], a[3]);
    if (!tokens) return fail(tokens.message());
    Rejection why = Rejection::none;
    auto claims = tokens->verify(a[4], &why);
    if (!claims) {
      std::cout << "rejected " << to_string(why) << "\n";
      return 1;
    }
    std::cout << "ok " << claims->subject << " " << claims->session_id << " " << claims->kid
              << "\n";
    return 0;
  }
  return fail("unknown command or wrong argument count: " + command);
}
