// The JOSE building blocks (see jose.h): base64url over the core's constant-time codec, and a
// JSON reader that refuses duplicate member names (RFC 8725 §3.10 asks for one meaning per
// token; nlohmann would silently keep the last of two).
#include "tokens/jose.h"

#include <vector>

#include "crypto/crypto.h"

namespace sessionkit::tokens::jose {

std::string b64url(std::span<const std::uint8_t> bytes) {
  return crypto::base64url_encode(bytes);
}

std::string b64url(std::string_view bytes) {
  return crypto::base64url_encode(crypto::as_bytes(bytes));
}

std::optional<std::string> b64url_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  auto n =
      crypto::base64url_decode(text, {reinterpret_cast<std::uint8_t*>(out.data()), out.size()});
  if (!n) return std::nullopt;
  out.resize(*n);
  return out;
}

namespace {

// A SAX handler that builds the DOM (as nlohmann's own DOM parser does, without recursion) and
// stops at the first member named twice in one object. Cheaper than a parser callback: no
// std::function per event, no name set beside the object (the object itself is the set).
class StrictObjectBuilder {
 public:
  using json = nlohmann::json;

  bool null() { return place(nullptr); }
  bool boolean(bool v) { return place(v); }
  bool number_integer(json::number_integer_t v) { return place(v); }
  bool number_unsigned(json::number_unsigned_t v) { return place(v); }
  bool number_float(json::number_float_t v, const json::string_t& /*text*/) { return place(v); }
  bool string(json::string_t& v) { return place(std::move(v)); }
  bool binary(json::binary_t& /*v*/) { return false; }  // JSON text has none
  bool start_object(std::size_t /*size*/) {
    json* object = slot(json::value_t::object);
    open_.push_back(object);
    return true;
  }
  bool key(json::string_t& name) {
    auto& members = open_.back()->get_ref<json::object_t&>();
    const auto [it, added] = members.emplace(std::move(name), nullptr);
    next_ = &it->second;
    return added;  // a duplicate ends the parse: sax_parse answers false
  }
  bool end_object() {
    open_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*size*/) {
    open_.push_back(slot(json::value_t::array));
    return true;
  }
  bool end_array() {
    open_.pop_back();
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*error*/) {
    return false;
  }

  json& root() { return root_; }

 private:
  // Where the next value goes: the root, the end of the open array, or the member just named.
  json* slot(json value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json* parent = open_.back();
    if (parent->is_array()) {
      auto& items = parent->get_ref<json::array_t&>();
      items.push_back(std::move(value));
      return &items.back();
    }
    *next_ = std::move(value);
    return next_;
  }
  template <class T>
  bool place(T&& value) {
    slot(json(std::forward<T>(value)));
    return true;
  }

  json root_;
  std::vector<json*> open_;  // the containers still open, innermost last
  json* next_ = nullptr;     // the member named by the last key
};

}  // namespace

std::optional<nlohmann::json> parse_object(std::string_view text) {
  using json = nlohmann::json;
  StrictObjectBuilder builder;
  if (!json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json,
                       /*strict=*/true) ||
      !builder.root().is_object()) {
    return std::nullopt;
  }
  return std::move(builder.root());
}

std::optional<std::string> dump(const nlohmann::json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception&) {  // type_error 316: a string that is not UTF-8
    return std::nullopt;
  }
}

std::optional<Compact> split(std::string_view token) {
  const std::size_t a = token.find('.');
  if (a == std::string_view::npos) return std::nullopt;
  const std::size_t b = token.find('.', a + 1);
  if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return Compact{token.substr(0, a), token.substr(a + 1, b - a - 1), token.substr(b + 1),
                 token.substr(0, b)};
}

}  // namespace sessionkit::tokens::jose
