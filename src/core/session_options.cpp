// SessionOptions: the presets and the consistency check.
#include "sessionkit/manager.h"

namespace sessionkit {

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
