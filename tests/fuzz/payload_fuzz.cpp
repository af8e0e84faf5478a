// libFuzzer target: the memory store's MessagePack payload reader (stores/memory/payload_codec.h).
//
// Checks, for any input: no crash, no unbounded recursion or allocation; whatever it accepts is
// a JSON object that re-encodes and decodes to the same value (the reader and nlohmann's
// encoder agree); and the encoding of any JSON object parsed from the input as text decodes back
// to it; and the stores' fast reader of one value's JSON text (stores/payload_text.h) gives what
// nlohmann's parser gives, types included.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "stores/memory/payload_codec.h"
#include "stores/payload_text.h"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sessionkit::memory_detail;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto decoded = decode_payload(in)) {
    check(decoded->is_object());
    auto again = decode_payload(encode_payload(*decoded));
    check(again.ok() && *again == *decoded);
  }
  auto text = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  // The stores' fast reader of one value's text agrees with nlohmann's parser, types included.
  const auto fast = sessionkit::stores::parse_payload_text(in);
  check(fast.is_discarded() == text.is_discarded());
  if (!text.is_discarded()) check(fast.type() == text.type() && fast == text);
  if (!text.is_discarded() && text.is_object()) {
    auto round = decode_payload(encode_payload(text));
    check(round.ok() && *round == text);
  }
  return 0;
}
