// Internal to the stores: UTF-8 validity as nlohmann's serializer judges it, and the repair every
// store applies to invalid UTF-8 in a payload (one U+FFFD per invalid byte, exactly what
// `stores::dump_payload` writes). The memory store checks its MessagePack payloads with it; the
// Redis store repairs top-level payload names, which it keeps as hash field names, not as JSON.
//
// Thread safety: plain functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace sessionkit::stores {

// Whether `s` is valid UTF-8 as nlohmann's serializer judges it (Unicode's well-formed byte
// sequences: no overlong forms, no surrogates, nothing above U+10FFFF, nothing cut short).
// ASCII goes 64 bytes per test (one OR of eight words, which compilers vectorize: about as fast
// as copying the string); a run of other characters is decoded sequence by sequence.
inline bool valid_utf8(std::string_view s) noexcept {
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;  // the top bit of each byte
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  for (;;) {
    for (; end - p >= 64; p += 64) {
      std::uint64_t any = 0;
      for (std::size_t k = 0; k < 8; ++k) {
        std::uint64_t w = 0;
        std::memcpy(&w, p + 8 * k, 8);
        any |= w;
      }
      if (any & kHigh) break;
    }
    while (p != end && *p < 0x80)
      ++p;
    // A run of multi-byte sequences, up to the next ASCII byte.
    while (p != end && *p >= 0x80) {
      const unsigned char c = *p;
      const std::ptrdiff_t left = end - p;
      // The common cases first: two bytes (Latin, Greek, Cyrillic...) and three bytes without a
      // narrower second byte (most of the BMP: CJK and the rest).
      if (c >= 0xC2 && c <= 0xDF) {
        if (left < 2 || (p[1] & 0xC0) != 0x80) return false;
        p += 2;
        continue;
      }
      if (c >= 0xE1 && c <= 0xEF && c != 0xED) {
        if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return false;
        p += 3;
        continue;
      }
      // The rest: E0 and ED (a narrower second byte), four bytes, and what is never valid.
      std::ptrdiff_t tail = 2;             // continuation bytes
      unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
      if (c == 0xE0) {
        lo = 0xA0;  // overlong
      } else if (c == 0xED) {
        hi = 0x9F;  // surrogates
      } else if (c >= 0xF0 && c <= 0xF4) {
        tail = 3;
        if (c == 0xF0) lo = 0x90;  // overlong
        if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
      } else {
        return false;  // a continuation byte, C0/C1, F5..FF
      }
      if (left <= tail || p[1] < lo || p[1] > hi) return false;
      for (std::ptrdiff_t k = 2; k <= tail; ++k) {
        if ((p[k] & 0xC0) != 0x80) return false;
      }
      p += tail + 1;
    }
    if (p == end) return true;
  }
}

// `s` as stores::dump_payload writes it: nlohmann's own replacement (error_handler_t::replace:
// one U+FFFD per invalid byte, or per sequence cut short), so the result is byte for byte what
// a store keeping JSON text answers. The slow path: only for a string that is not valid.
inline std::string replaced_utf8(std::string_view s) {
  const std::string text =
      nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return nlohmann::json::parse(text).get<std::string>();
}

}  // namespace sessionkit::stores
