// session_view.h — what the demo shows of a session, for the JSON API and the HTML page alike
// (private to the demo).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "sessionkit/session.h"

namespace demo {

struct SessionView {
  bool live = false;  // stored and not being destroyed
  bool authenticated = false;
  const nlohmann::json* user = nullptr;  // the session's "user" object, when signed in
  std::int64_t visits = 0;
};

inline SessionView view_of(const sessionkit::Session& s) {
  SessionView v;
  v.live = s.is_stored() && !s.is_destroyed();
  v.authenticated = v.live && !s.user_id().empty();
  if (v.authenticated) {
    const nlohmann::json* u = s.find("user");
    if (u != nullptr && u->is_object()) v.user = u;
  }
  v.visits = v.live ? s.get<std::int64_t>("visits").value_or(0) : 0;
  return v;
}

}  // namespace demo
