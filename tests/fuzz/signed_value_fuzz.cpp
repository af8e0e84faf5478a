// libFuzzer target: signed cookie values and session IDs (Keyring::verify / sign,
// SessionId::parse, SessionKey::from_hex).
//
// Checks, for any input:
// - verify never accepts a value that the keyring did not sign (the fuzzer cannot forge an
//   HMAC, so an acceptance of a mutated input is a bug), and what it accepts is the part before
//   the last '.';
// - sign then verify round-trips any value under any context, and a keyring without the
//   signing secret rejects it; changing any one character of a signed value breaks it;
// - SessionId::parse accepts only 43-character canonical base64url and round-trips;
//   SessionKey::from_hex accepts only 64 lowercase hex digits and round-trips.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sessionkit/keyring.h"
#include "sessionkit/session_id.h"

namespace {

using namespace sessionkit;

void check(bool ok) {
  if (!ok) std::abort();
}

const Keyring& keyring() {
  static const Keyring k =
      Keyring::parse("fuzz-secret-new-0123456789abcdef0123,fuzz-secret-old-0123456789abcdef0123")
          .value();
  return k;
}

const Keyring& other_keyring() {
  static const Keyring k = Keyring::parse("another-secret-0123456789abcdef0123456789").value();
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // First byte: how much of the rest is the context.
  const std::size_t ctx_len = size ? data[0] % 16 : 0;
  const std::string_view rest = size ? in.substr(1) : in;
  const std::string_view context = rest.substr(0, std::min(ctx_len, rest.size()));
  const std::string_view value = rest.substr(context.size());

  // Arbitrary input as a signed value: only values the keyring signed verify.
  if (auto v = keyring().verify(value, context)) {
    const auto dot = value.rfind('.');
    check(dot != std::string_view::npos && *v == value.substr(0, dot));
    check(keyring().sign(*v, context) == value ||
          keyring().verify(keyring().sign(*v, context), context));
    // The fuzzer reproduced a valid signature: only possible from a seed that holds one.
    check(value == keyring().sign(*v, context) ||
          value ==
              Keyring::parse("fuzz-secret-old-0123456789abcdef0123").value().sign(*v, context));
  }

  // Round trip of the input as a value.
  const std::string signed_value = keyring().sign(value, context);
  auto back = keyring().verify(signed_value, context);
  check(back.has_value() && *back == value);
  check(!other_keyring().verify(signed_value, context).has_value());
  if (!signed_value.empty()) {
    std::string tampered = signed_value;
    const std::size_t at = (size * 7919) % tampered.size();
    tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
    auto t = keyring().verify(tampered, context);
    check(!t.has_value() || tampered == signed_value);
  }

  if (auto id = SessionId::parse(in)) {
    check(in.size() == 43 && id->str() == in);
    check(SessionId::parse(id->str()).has_value());
  }
  if (auto key = SessionKey::from_hex(in)) check(key->hex() == in);
  return 0;
}
