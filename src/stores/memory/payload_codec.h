// Internal to the memory store: the payload kept as MessagePack instead of JSON text.
//
// Why: a load decodes the payload on every request, and nlohmann's text parser costs about
// 12 ns per character (190 µs for a 16 kB session). Encoding uses nlohmann's `to_msgpack`
// (fast); decoding is this reader, which copies strings whole instead of byte by byte (nlohmann's
// `from_msgpack` reads one byte per call: 108 µs for the same 16 kB). It reads exactly what
// `to_msgpack` writes for JSON values: nil, booleans, integers, float32/float64, strings, arrays
// and maps with string keys; anything else (bin, ext, non-string keys, trailing bytes, nesting
// deeper than kMaxDepth) is `corrupt`. Strings are taken as they are (no UTF-8 check), as the
// encoder wrote them.
//
// Invalid UTF-8: the store keeps every string and key with invalid UTF-8 replaced by U+FFFD
// exactly as `stores::dump_payload` writes it (what every other store answers), so the reader
// never needs to check. `encode_payload_repaired` does that for a whole payload: a valid one
// costs one walk of its strings (ASCII 64 bytes per step) and is encoded as it is; only an
// invalid one is copied and repaired. Writers that change a stored (hence valid) payload check
// just what they add, repair with `replace_invalid_utf8` if needed, and call `encode_payload`.
//
// Thread safety: plain functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "sessionkit/result.h"
#include "stores/utf8.h"

namespace sessionkit::memory_detail {

using stores::replaced_utf8;
using stores::valid_utf8;

// Whether every string and every object key in `j` is valid UTF-8.
inline bool all_valid_utf8(const nlohmann::json& j) noexcept {
  switch (j.type()) {
    case nlohmann::json::value_t::string:
      return valid_utf8(j.get_ref<const std::string&>());
    case nlohmann::json::value_t::array:
      for (const auto& element : j.get_ref<const nlohmann::json::array_t&>()) {
        if (!all_valid_utf8(element)) return false;
      }
      return true;
    case nlohmann::json::value_t::object:
      for (const auto& [key, value] : j.get_ref<const nlohmann::json::object_t&>()) {
        if (!valid_utf8(key) || !all_valid_utf8(value)) return false;
      }
      return true;
    default:
      return true;
  }
}

// Replaces invalid UTF-8 in every string and key of `j`, as parse_payload(dump_payload(j))
// would: two keys that become equal keep the value of the one that comes last in key order.
inline void replace_invalid_utf8(nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::string: {
      auto& s = j.get_ref<std::string&>();
      if (!valid_utf8(s)) s = replaced_utf8(s);
      return;
    }
    case nlohmann::json::value_t::array:
      for (auto& element : j.get_ref<nlohmann::json::array_t&>())
        replace_invalid_utf8(element);
      return;
    case nlohmann::json::value_t::object: {
      auto& object = j.get_ref<nlohmann::json::object_t&>();
      bool keys_valid = true;
      for (auto& [key, value] : object) {
        replace_invalid_utf8(value);
        keys_valid = keys_valid && valid_utf8(key);
      }
      if (keys_valid) return;
      nlohmann::json::object_t fixed;
      for (auto& [key, value] : object) {
        if (valid_utf8(key)) {
          fixed.insert_or_assign(key, std::move(value));
        } else {
          fixed.insert_or_assign(replaced_utf8(key), std::move(value));
        }
      }
      object = std::move(fixed);
      return;
    }
    default:
      return;
  }
}

// MessagePack of a payload, strings byte for byte (the codec itself: decode_payload reads back
// exactly this).
inline std::string encode_payload(const nlohmann::json& data) {
  std::string out;
  nlohmann::json::to_msgpack(data, nlohmann::detail::output_adapter<char>(out));
  return out;
}

// MessagePack of a payload as the store keeps it: invalid UTF-8 replaced as
// stores::dump_payload replaces it. A valid payload (the usual case) is encoded as it is.
inline std::string encode_payload_repaired(const nlohmann::json& data) {
  if (all_valid_utf8(data)) return encode_payload(data);
  nlohmann::json fixed = data;
  replace_invalid_utf8(fixed);
  return encode_payload(fixed);
}

class PayloadReader {
 public:
  static constexpr int kMaxDepth = 512;

  explicit PayloadReader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}

  // The whole input as one JSON object, or false (corrupt).
  bool read_object(nlohmann::json& out) { return value(out, 0) && out.is_object() && p_ == end_; }

 private:
  bool take(std::size_t n, const char*& at) {
    if (static_cast<std::size_t>(end_ - p_) < n) return false;
    at = p_;
    p_ += n;
    return true;
  }
  template <class U>
  bool number(U& v) {  // big-endian unsigned of sizeof(U) bytes
    const char* at = nullptr;
    if (!take(sizeof(U), at)) return false;
    v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i)
      v = static_cast<U>((v << 8) | static_cast<unsigned char>(at[i]));
    return true;
  }
  bool string(std::size_t n, std::string& out) {
    const char* at = nullptr;
    if (!take(n, at)) return false;
    out.assign(at, n);
    return true;
  }
  // A big-endian U, stored into `out` as V (the signed forms reinterpret the bits as S first).
  template <class U, class V, class S = U>
  bool scalar(nlohmann::json& out) {
    U v = 0;
    if (!number(v)) return false;
    out = static_cast<V>(static_cast<S>(v));
    return true;
  }
  template <class U>
  bool length(std::size_t& n) {
    U v = 0;
    if (!number(v)) return false;
    n = v;
    return true;
  }
  template <class U, class F>
  bool floating(nlohmann::json& out) {
    U bits = 0;
    if (!number(bits)) return false;
    F f = 0;
    std::memcpy(&f, &bits, sizeof f);
    out = static_cast<double>(f);
    return true;
  }
  bool text(std::size_t n, nlohmann::json& out) {
    out = std::string();
    return string(n, out.get_ref<std::string&>());
  }

  bool array(std::size_t n, nlohmann::json& out, int depth) {
    if (n > static_cast<std::size_t>(end_ - p_)) return false;  // each element is >= 1 byte
    out = nlohmann::json::array();
    out.get_ref<nlohmann::json::array_t&>().reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      nlohmann::json element;
      if (!value(element, depth + 1)) return false;
      out.get_ref<nlohmann::json::array_t&>().push_back(std::move(element));
    }
    return true;
  }
  bool map(std::size_t n, nlohmann::json& out, int depth) {
    if (n > static_cast<std::size_t>(end_ - p_) / 2) return false;  // key + value >= 2 bytes
    out = nlohmann::json::object();
    auto& object = out.get_ref<nlohmann::json::object_t&>();
    std::string key;
    for (std::size_t i = 0; i < n; ++i) {
      if (!map_key(key)) return false;
      // Keys arrive sorted (to_msgpack walks a std::map), so the end is the right hint; a key
      // seen twice keeps its last value, as object[key] = value would.
      auto at = object.try_emplace(object.end(), std::move(key));
      if (!value(at->second, depth + 1)) return false;
    }
    return true;
  }
  // A map key: a string, read straight into `key` (not through a json string of its own).
  bool map_key(std::string& key) {
    if (p_ == end_) return false;
    const auto tag = static_cast<unsigned char>(*p_++);
    std::size_t n = 0;
    return is_string(tag) && string_length(tag, n) && string(n, key);  // JSON keys are strings
  }
  // fixstr, str8, str16, str32
  static bool is_string(unsigned char tag) {
    return (tag >= 0xa0 && tag <= 0xbf) || (tag >= 0xd9 && tag <= 0xdb);
  }
  bool string_length(unsigned char tag, std::size_t& n) {  // for an is_string tag
    if (tag <= 0xbf) {
      n = tag & 0x1f;
      return true;
    }
    if (tag == 0xd9) return length<std::uint8_t>(n);
    if (tag == 0xda) return length<std::uint16_t>(n);
    return length<std::uint32_t>(n);
  }

  bool value(nlohmann::json& out, int depth) {
    if (depth > kMaxDepth || p_ == end_) return false;
    const auto tag = static_cast<unsigned char>(*p_++);
    std::size_t n = 0;
    if (tag <= 0x7f) {
      out = static_cast<std::uint64_t>(tag);
      return true;
    }
    if (tag >= 0xe0) {
      out = static_cast<std::int64_t>(static_cast<std::int8_t>(tag));
      return true;
    }
    if (tag >= 0x80 && tag <= 0x8f) return map(tag & 0x0f, out, depth);
    if (tag >= 0x90 && tag <= 0x9f) return array(tag & 0x0f, out, depth);
    if (is_string(tag)) return string_length(tag, n) && text(n, out);
    switch (tag) {
      case 0xc0:
        out = nullptr;
        return true;
      case 0xc2:
      case 0xc3:
        out = tag == 0xc3;
        return true;
      case 0xca:
        return floating<std::uint32_t, float>(out);
      case 0xcb:
        return floating<std::uint64_t, double>(out);
      case 0xcc:
        return scalar<std::uint8_t, std::uint64_t>(out);
      case 0xcd:
        return scalar<std::uint16_t, std::uint64_t>(out);
      case 0xce:
        return scalar<std::uint32_t, std::uint64_t>(out);
      case 0xcf:
        return scalar<std::uint64_t, std::uint64_t>(out);
      case 0xd0:
        return scalar<std::uint8_t, std::int64_t, std::int8_t>(out);
      case 0xd1:
        return scalar<std::uint16_t, std::int64_t, std::int16_t>(out);
      case 0xd2:
        return scalar<std::uint32_t, std::int64_t, std::int32_t>(out);
      case 0xd3:
        return scalar<std::uint64_t, std::int64_t, std::int64_t>(out);
      case 0xdc:
        return length<std::uint16_t>(n) && array(n, out, depth);
      case 0xdd:
        return length<std::uint32_t>(n) && array(n, out, depth);
      case 0xde:
        return length<std::uint16_t>(n) && map(n, out, depth);
      case 0xdf:
        return length<std::uint32_t>(n) && map(n, out, depth);
      default:  // bin, ext and the unused tag: never written for JSON values
        return false;
    }
  }

  const char* p_;
  const char* end_;
};

inline Result<nlohmann::json> decode_payload(std::string_view in) {
  nlohmann::json out;
  if (!PayloadReader(in).read_object(out)) {
    return Result<nlohmann::json>(errc::corrupt, "stored payload is not a MessagePack object");
  }
  return out;
}

}  // namespace sessionkit::memory_detail
