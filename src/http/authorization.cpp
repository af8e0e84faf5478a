#include "sessionkit/http/authorization.h"

#include "http/ascii.h"

namespace sessionkit::http {

std::optional<std::string_view> bearer_credential(std::string_view authorization) noexcept {
  constexpr std::string_view kScheme = "bearer";
  authorization = ascii::trim_ows(authorization);
  const std::string_view scheme = authorization.substr(0, authorization.find_first_of(" \t"));
  if (!ascii::iequals(scheme, kScheme)) return std::nullopt;
  return ascii::trim_ows(authorization.substr(scheme.size()));
}

}  // namespace sessionkit::http
