// reserved_keys.h — the payload keys sessionkit keeps for itself (Session::is_reserved_key:
// the "_sk_" prefix), in one place. See docs/record-format.md.
#pragma once

#include <string_view>

namespace sessionkit::reserved {

inline constexpr std::string_view kCsrfSeed = "_sk_csrf";    // the browser's CSRF seed
inline constexpr std::string_view kCredential = "_sk_cred";  // HMAC of the stamp
inline constexpr std::string_view kReauthFailures = "_sk_reauth_failures";  // a counter
inline constexpr std::string_view kVersion = "_sk_ver";  // SessionManager::update's version
inline constexpr std::string_view kMisuse =
    "session keys beginning with \"_sk_\" are reserved for sessionkit";

}  // namespace sessionkit::reserved
