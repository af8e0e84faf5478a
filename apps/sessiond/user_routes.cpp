// user_routes.cpp — a user's sessions (see api.h and docs/sessiond.md):
//   GET    /v1/users/{user}/sessions              the list, with no IDs and no payloads
//   DELETE /v1/users/{user}/sessions[?keep=ID]    log out everywhere (but `keep`)
#include <nlohmann/json.hpp>

#include "api.h"
#include "call.h"

namespace sessiond {

namespace asio = boost::asio;
namespace sk = sessionkit;
using nlohmann::json;
using verb = boost::beast::http::verb;

asio::awaitable<Response> Api::user_route(Call& c, std::string_view user_segment) {
  const std::optional<std::string> user = decode_segment(user_segment);
  if (!user || user->empty()) {
    co_return c.error(HttpStatus::bad_request, "a user id, percent-encoded, is expected");
  }
  if (c.req.method() == verb::get) {
    auto r = co_await call_store<std::vector<sk::StoredSession>>(
        *metrics_, [&](sk::Callback<std::vector<sk::StoredSession>> done) {
          store_->list_user(*user, std::move(done));
        });
    if (!r) co_return c.store_error(status_of(r));
    json list = json::array();
    for (const sk::StoredSession& s : *r) {
      json v = view(s.record);
      v.erase("data");  // another session's payload is not the caller's to read here
      v["key_hint"] = s.key.hint();
      v["ip"] = s.record.ip;
      v["user_agent"] = s.record.user_agent;
      list.push_back(std::move(v));
    }
    co_return c.answer(HttpStatus::ok, json{{"sessions", std::move(list)}});
  }
  if (c.req.method() == verb::delete_) {
    std::optional<sk::SessionKey> keep;
    if (const auto k = query_param(c.query, "keep")) {
      keep = key_of_id(*k);
      if (!keep) co_return c.error(HttpStatus::bad_request, "keep: not a session ID");
    }
    auto r = co_await call_store<std::size_t>(*metrics_, [&](sk::Callback<std::size_t> done) {
      store_->destroy_user(*user, keep, std::move(done));
    });
    if (!r) co_return c.store_error(status_of(r));
    co_return c.answer(HttpStatus::ok, json{{"revoked", *r}});
  }
  co_return c.not_allowed();
}

}  // namespace sessiond
