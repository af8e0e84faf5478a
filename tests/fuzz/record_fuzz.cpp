// libFuzzer target: the portable session record decoder (decode_record / encode_record).
//
// Checks, for any input: decode never crashes or throws; a decoded record has an object payload;
// encoding is a fixed point after one round (encode(decode(encode(r))) == encode(r)), so a
// record read from any store and written to another does not drift.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sessionkit/record.h"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = sessionkit::decode_record(in);
  if (!r) return 0;
  check(r->data.is_object());
  const std::string once = sessionkit::encode_record(*r);
  auto again = sessionkit::decode_record(once);
  check(again.ok());
  check(sessionkit::encode_record(*again) == once);
  return 0;
}
