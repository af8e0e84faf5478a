// render.h — how sessionctl shows sessions: JSON objects for --json, aligned text otherwise;
// payload values redacted unless revealed (private to sessionctl).
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "context.h"
#include "sessionkit/clock.h"
#include "sessionkit/store.h"

namespace sessionctl {

// "2026-12-04T21:00:00.123Z".
std::string iso_time(sessionkit::Time t);

// One session as `list` and `show` describe it: key (hex), handle (with a secret), user,
// created, last_access, expires_at (the effective deadline), absolute_expires_at, auth_at, ip,
// user_agent, payload_bytes, payload_keys.
nlohmann::json describe(const Context& ctx, const sessionkit::StoredSession& s);

// The payload with each top-level value replaced by {"type", "bytes"}; or as it is (`reveal`).
nlohmann::json payload_view(const nlohmann::json& data, bool reveal);

// Rows of cells, each column padded to its widest cell, two spaces apart.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

}  // namespace sessionctl
