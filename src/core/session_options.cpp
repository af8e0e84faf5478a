// SessionOptions: the presets and the consistency check.
#include <algorithm>
#include <cctype>
#include <string_view>

#include "sessionkit/manager.h"

namespace sessionkit {

namespace {

// An RFC 9110 field name: one or more tchar.
bool is_field_name(std::string_view name) {
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

Status validate_bearer(const SessionOptions::BearerOptions& bearer) {
  if (!bearer.enabled) return {};
  if (!bearer.authorization && bearer.header.empty()) {
    return {errc::invalid_argument,
            "bearer: enabled with neither Authorization nor a custom header to read"};
  }
  for (const std::string* name : {&bearer.header, &bearer.response_header}) {
    if (name->empty()) continue;
    if (!is_field_name(*name)) {
      return {errc::invalid_argument, "bearer: \"" + *name + "\" is not a valid header name"};
    }
    if (iequals(*name, "Cookie") || iequals(*name, "Set-Cookie") ||
        iequals(*name, "Authorization")) {
      return {errc::invalid_argument,
              "bearer: the header may not be " + *name + " (see `authorization`)"};
    }
  }
  return {};
}

}  // namespace

SessionOptions SessionOptions::production() {
  SessionOptions o;
  o.cookie.prefix = http::CookiePrefix::host;
  o.cookie.secure = true;
  return o;
}

SessionOptions SessionOptions::development() {
  SessionOptions o;
  o.cookie.prefix = http::CookiePrefix::none;
  o.cookie.secure = false;
  o.min_secret_bytes = 0;
  return o;
}

Status SessionOptions::validate() const {
  if (idle_timeout.count() <= 0) return {errc::invalid_argument, "idle_timeout must be positive"};
  if (absolute_timeout.count() <= 0) {
    return {errc::invalid_argument, "absolute_timeout must be positive"};
  }
  if (touch_interval.count() < 0) {
    return {errc::invalid_argument, "touch_interval must not be negative"};
  }
  if (max_payload_bytes == 0 || max_keys == 0) {
    return {errc::invalid_argument, "payload limits must be positive"};
  }
  if (Status s = validate_bearer(bearer); !s.ok()) return s;
  http::SetCookie probe;
  probe.name = cookie.full_name();
  probe.value = "x";
  probe.domain = cookie.domain;
  probe.path = cookie.path;
  probe.secure = cookie.secure;
  probe.http_only = cookie.http_only;
  probe.same_site = cookie.same_site;
  probe.partitioned = cookie.partitioned;
  if (Status s = probe.validate(); !s.ok()) {
    return {errc::invalid_argument, "cookie options: " + s.message()};
  }
  return {};
}

}  // namespace sessionkit
