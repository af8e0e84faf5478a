// libFuzzer target: sealed (encrypted) cookie values (CookieSealer::open / seal).
//
// Checks, for any input:
// - as a sealed value, it is never accepted: the fuzzer cannot forge a Poly1305 tag, so an
//   acceptance is a bug. The only exceptions are the seeds corpus/sealed_cookie_fuzz/sealed-old-*,
//   sealed under context "sid" with the retired secret kOld: `in.rotated` (which still holds
//   kOld) may open them, with key_index 1 and a plaintext starting with "fuzz-seed:", and rejects
//   them after a one-character change; the sealers without kOld, or with another context, accept
//   nothing;
// - as a plaintext, seal succeeds exactly when sealed_size() fits the limit (else too_large),
//   the sealed text is base64url of that size and opens to the input with key_index 0 under
//   every sealer holding the newest secret and that context, and under no other; changing any
//   one character of it, or dropping the last, makes it fail to open.
//
// The round trip uses secrets of its own (kTripNew, kTripOld), never held by the sealers that
// judge the input: libFuzzer learns comparison operands (CMP tracing of memcmp), so a value this
// harness seals can come back as a later input, and it must not count as a forgery.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sessionkit/cookie_sealer.h"
#include "sessionkit/keyring.h"

namespace {

using namespace sessionkit;

// The seeds sealed-old-* were made with kOld (see the corpus); nothing was ever sealed with kNew.
constexpr std::string_view kNew = "fuzz-cookie-new-0123456789abcdef0123456789";
constexpr std::string_view kOld = "fuzz-cookie-old-0123456789abcdef0123456789";
constexpr std::string_view kTripNew = "fuzz-cookie-trip-new-0123456789abcdef01234";
constexpr std::string_view kTripOld = "fuzz-cookie-trip-old-0123456789abcdef01234";
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kSeedMarker = "fuzz-seed:";

void check(bool ok) {
  if (!ok) std::abort();
}

Keyring keyring(std::string_view newer, std::string_view older = {}) {
  std::string list(newer);
  if (!older.empty()) list.append(",").append(older);
  return Keyring::parse(list).value();
}

// A keyring's sealers: rotated (newer, older), fresh (older retired), retired (older only), and
// rotated under another context.
struct Family {
  CookieSealer rotated, fresh, retired, other_context;
  Family(std::string_view newer, std::string_view older)
      : rotated(keyring(newer, older), "sid"),
        fresh(keyring(newer), "sid"),
        retired(keyring(older), "sid"),
        other_context(keyring(newer, older), "sid2") {}
};

const Family& judges() {  // open the input
  static const Family f(kNew, kOld);
  return f;
}

const Family& trip() {  // seal the input, then open what they sealed
  static const Family f(kTripNew, kTripOld);
  return f;
}

// A character other than `c`: a base64url one for even `pick`, else one outside the alphabet.
char replacement(char c, std::uint8_t pick) {
  if (pick % 2 == 0) {
    const std::size_t i = kAlphabet.find(c);
    const std::size_t offset = 1 + (pick / 2) % 63;
    return kAlphabet[((i == std::string_view::npos ? 0 : i) + offset) % 64];
  }
  static constexpr std::string_view kOutside("=+/.~ \0\x80\xff", 9);
  return kOutside[(pick / 2) % kOutside.size()];
}

void check_tamper_rejected(const CookieSealer& s, std::string_view sealed, std::size_t seed,
                           std::uint8_t pick) {
  if (sealed.empty()) return;
  std::string t(sealed);
  const std::size_t at = seed % t.size();
  t[at] = replacement(t[at], pick);
  check(t[at] != sealed[at]);  // one character, not a string compare (see the header)
  check(!s.open(t).has_value());
  check(!s.open(sealed.substr(0, sealed.size() - 1)).has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t seed = size * 7919 + (size ? data[size - 1] : 0);
  const std::uint8_t pick = size ? data[0] : 0;

  // The input as a sealed value.
  const Family& j = judges();
  check(!j.fresh.open(in).has_value());
  check(!j.other_context.open(in).has_value());
  if (auto o = j.rotated.open(in)) {
    check(o->key_index == 1 && o->plaintext.starts_with(kSeedMarker));
    check(in.find_first_not_of(kAlphabet) == std::string_view::npos);  // one spelling per value
    check(j.retired.open(in).has_value());
    check_tamper_rejected(j.rotated, in, seed, pick);
  }

  // The input as a plaintext.
  const Family& t = trip();
  auto sealed = t.rotated.seal(in);
  if (CookieSealer::sealed_size(size) > t.rotated.max_sealed_bytes()) {
    check(!sealed.ok() && sealed.code() == errc::too_large);
    return 0;
  }
  check(sealed.ok());
  check(sealed->size() == CookieSealer::sealed_size(size));
  check(sealed->find_first_not_of(kAlphabet) == std::string::npos);
  for (const CookieSealer* with_new : {&t.rotated, &t.fresh}) {
    auto o = with_new->open(*sealed);
    check(o.has_value() && o->plaintext == in && o->key_index == 0);
  }
  check(!t.retired.open(*sealed).has_value());
  check(!t.other_context.open(*sealed).has_value());
  check(!j.rotated.open(*sealed).has_value());
  check_tamper_rejected(t.rotated, *sealed, seed, pick);
  return 0;
}
