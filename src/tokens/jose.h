// Internal: the JOSE building blocks shared by src/tokens (base64url, strict JSON objects, the
// compact serialization's segments). Not installed.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sessionkit::tokens::jose {

std::string b64url(std::span<const std::uint8_t> bytes);
std::string b64url(std::string_view bytes);
// Canonical unpadded base64url only ('=' padding, '+', '/', whitespace, non-zero trailing bits
// all refused): nullopt on any of them.
std::optional<std::string> b64url_decode(std::string_view text);

// A JSON object, or nullopt: invalid JSON (invalid UTF-8 included), a non-object, or an object
// anywhere inside naming a member twice. Never throws.
std::optional<nlohmann::json> parse_object(std::string_view text);

// JSON text of `value`, or nullopt if it holds a string that is not UTF-8. Never throws.
std::optional<std::string> dump(const nlohmann::json& value);

// The three segments of a compact JWS; nullopt unless there are exactly two dots.
struct Compact {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
  std::string_view signing_input;  // header "." payload
};
std::optional<Compact> split(std::string_view token);

}  // namespace sessionkit::tokens::jose
