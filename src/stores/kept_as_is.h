// Internal to the stores: whether a JSON value survives a store's write unchanged, so that a
// stored value can be equal to it (SessionStore::patch_if: a condition value that is not kept as
// it is can never hold). Each store passes its own rule for text: valid UTF-8 (Redis: what
// stores::dump_payload leaves alone), and no U+0000 either in PostgreSQL's jsonb.
//
// Thread safety: a plain function.
#pragma once

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace sessionkit::stores {

// True when every string and object key in `j` passes `text_ok`, every number is finite (a
// non-finite one is written as null) and nothing is a binary value (it reads back as an object).
template <class TextOk>
bool kept_as_is(const nlohmann::json& j, const TextOk& text_ok) {
  switch (j.type()) {
    case nlohmann::json::value_t::string:
      return text_ok(std::string_view(j.get_ref<const std::string&>()));
    case nlohmann::json::value_t::number_float:
      return std::isfinite(j.get<double>());
    case nlohmann::json::value_t::object:
      for (const auto& [name, value] : j.items()) {
        if (!text_ok(std::string_view(name)) || !kept_as_is(value, text_ok)) return false;
      }
      return true;
    case nlohmann::json::value_t::array:
      for (const auto& value : j) {
        if (!kept_as_is(value, text_ok)) return false;
      }
      return true;
    case nlohmann::json::value_t::binary:
    case nlohmann::json::value_t::discarded:
      return false;
    default:
      return true;
  }
}

}  // namespace sessionkit::stores
