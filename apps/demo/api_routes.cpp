// The JSON API of the session: GET /api/session, POST /api/increment (and the page's
// POST /increment), GET /api/sessions (ASVS 3.3.4: your sessions, under opaque handles that
// reveal neither the ID nor the store key).
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "routes.h"
#include "session_scope.h"
#include "session_view.h"
#include "sessionkit/http/beast.h"

namespace demo {

namespace asio = boost::asio;
namespace skb = sessionkit::beast;
using nlohmann::json;
using sessionkit::Session;
using Summary = sessionkit::SessionManager::SessionSummary;

namespace {

// The body of GET /api/session, the hottest response, written directly: no json tree.
std::string api_session_body(const Session& s, std::string_view csrf_token) {
  const SessionView v = view_of(s);
  std::string out;
  out.reserve(320);
  out += v.authenticated ? R"({"authenticated":true,"user":)" : R"({"authenticated":false,"user":)";
  if (!v.authenticated) {
    out += "null";
  } else if (v.user != nullptr) {
    out += v.user->dump(-1, ' ', false, json::error_handler_t::replace);
  } else {
    out += json{{"name", s.user_id()}}.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  out += R"(,"visits":)";
  out += std::to_string(v.visits);
  if (v.live) {
    out += R"(,"session":{"created_at":")";
    append_iso8601(out, s.created_at());
    out += R"(","expires_at":")";
    append_iso8601(out, s.expires_at());
    out += R"(","id_hint":")";
    out += s.id_hint();  // hex digits
    out += R"("})";
  } else {
    out += R"(,"session":{"created_at":null,"expires_at":null,"id_hint":null})";
  }
  out += R"(,"csrf_token":")";
  out += csrf_token;  // base64url: nothing to escape
  out += R"("})";
  return out;
}

}  // namespace

// GET /api/session
asio::awaitable<Response> Router::get_api_session(SessionScope& s) const {
  Response res = s.success();
  if (auto failed = co_await s.commit(res)) co_return std::move(*failed);
  set_json_body(res, api_session_body(s.session(), s.csrf_token(res)));
  co_return res;
}

// POST /api/increment, POST /increment: atomic in the store (manager.increment).
asio::awaitable<Response> Router::post_increment(SessionScope& s) const {
  auto visits = co_await skb::co_increment(manager_, s.session(), "visits", 1);
  if (!visits) co_return co_await s.failure(visits.status());
  Response res = s.success("/");
  if (auto failed = co_await s.commit(res)) co_return std::move(*failed);
  if (!s.html()) {
    set_json_body(res, json{{"visits", *visits}, {"csrf_token", s.csrf_token(res)}}.dump());
  }
  co_return res;
}

// GET /api/sessions: the signed-in user's sessions, newest first.
asio::awaitable<Response> Router::get_sessions(SessionScope& s) const {
  auto listed = co_await list_sessions(s.session());
  if (!listed) co_return co_await s.failure(listed.status());
  Response res = s.success();
  if (auto failed = co_await s.commit(res)) co_return std::move(*failed);
  json items = json::array();
  for (const Summary& r : *listed) {
    items.push_back({{"handle", r.handle},
                     {"current", r.current},
                     {"created_at", iso8601(r.created_at)},
                     {"last_seen_at", iso8601(r.last_seen_at)},
                     {"ip", r.ip},
                     {"user_agent", r.user_agent}});
  }
  set_json_body(res, json{{"sessions", std::move(items)}}.dump(-1, ' ', false,
                                                               json::error_handler_t::replace));
  co_return res;
}

asio::awaitable<sessionkit::Result<std::vector<Summary>>> Router::list_sessions(
    const Session& session) const {
  co_return co_await skb::async_call<std::vector<Summary>>(
      [this, &session](sessionkit::Callback<std::vector<Summary>> done) {
        manager_.list_sessions(session, std::move(done));
      },
      asio::use_awaitable);
}

}  // namespace demo
