// map_values.h — a record or a patch with each payload value replaced by f(name, value), for the
// decorators that store values transformed (internal; CompressedStore, EncryptedStore). The
// other fields are copied; the values are not copied first (a 64 kB cart would be, twice).
#pragma once

#include <string>

#include "sessionkit/record.h"
#include "sessionkit/store.h"

namespace sessionkit::detail {

template <class F>
SessionRecord map_values(const SessionRecord& r, F&& f) {
  SessionRecord out{.created_at = r.created_at,
                    .last_access = r.last_access,
                    .expires_at = r.expires_at,
                    .absolute_expires_at = r.absolute_expires_at,
                    .auth_at = r.auth_at,
                    .user_id = r.user_id,
                    .ip = r.ip,
                    .user_agent = r.user_agent,
                    .data = nlohmann::json::object()};
  for (const auto& [name, value] : r.data.items())
    out.data[name] = f(name, value);
  return out;
}

template <class F>
SessionPatch map_values(const SessionPatch& p, F&& f) {
  SessionPatch out{
      .set = {}, .erase = p.erase, .user_id = p.user_id, .auth_at = p.auth_at, .touch = p.touch};
  out.set.reserve(p.set.size());
  for (const auto& [name, value] : p.set)
    out.set.emplace_back(name, f(name, value));
  return out;
}

}  // namespace sessionkit::detail
