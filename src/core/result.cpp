#include "sessionkit/result.h"

namespace sessionkit {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sessionkit"; }
  std::string message(int ev) const override { return to_string(static_cast<errc>(ev)); }
};

}  // namespace

const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "ok";
    case errc::not_found:
      return "not found";
    case errc::conflict:
      return "conflict";
    case errc::unavailable:
      return "store unavailable";
    case errc::invalid_argument:
      return "invalid argument";
    case errc::too_large:
      return "too large";
    case errc::corrupt:
      return "corrupt data";
    case errc::timeout:
      return "timed out";
    case errc::unsupported:
      return "not supported by this store";
    case errc::rate_limited:
      return "rate limited";
  }
  return "unknown error";
}

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string s = sessionkit::to_string(code_);
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

}  // namespace sessionkit
