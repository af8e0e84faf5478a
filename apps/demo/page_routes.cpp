// The HTML page: GET / and `Router::page`, through which every HTML answer of a form goes.
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>

#include "pages.h"
#include "routes.h"
#include "session_scope.h"
#include "session_view.h"
#include "sessionkit/http/beast.h"
#include "sessionkit/http/form.h"

namespace demo {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace skb = sessionkit::beast;
using sessionkit::Session;

namespace {

struct Notice {
  std::string text;
  bool ask_password = false;
  NoticeKind kind = NoticeKind::error;
};

// The notice GET / shows after a redirect (`?error=…`, `?done=…`). Fixed messages only: nothing
// from the query string is reflected into the page.
Notice notice_for(std::string_view target) {
  Notice n;
  auto query = sessionkit::http::parse_form(target_query(target));
  if (!query) return n;
  if (auto error = query->find("error"); error != query->end()) {
    if (error->second == "login") {
      n.text = "Invalid user name or password.";
    } else if (error->second == "reauth") {
      n = {"Please confirm your password to end other sessions.", true};
    } else if (error->second == "reauth-password") {
      n = {"Wrong password.", true};
    } else {
      n.text = "Something went wrong; please try again.";
    }
  }
  if (auto done = query->find("done"); done != query->end()) {
    if (done->second == "password") {
      n = {"Your password has been changed; every other session has been signed out.", false,
           NoticeKind::success};
    } else if (done->second == "revoke-others") {
      n = {"Every other session has been signed out.", false, NoticeKind::success};
    }
  }
  return n;
}

}  // namespace

// GET /
asio::awaitable<Response> Router::get_home(SessionScope& s) const {
  Notice n = notice_for(s.ctx().req.target());
  co_return co_await page(s, HttpStatus::ok, std::move(n.text), n.ask_password, n.kind);
}

asio::awaitable<Response> Router::page(SessionScope& s, HttpStatus status, std::string notice,
                                       bool ask_password, NoticeKind kind) const {
  Session& session = s.session();
  Response res = s.ctx().make(status);
  res.set(bhttp::field::cache_control, "no-store");  // the page carries a CSRF token
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  // A session that ended meanwhile is shown as it now is: signed out.
  if (!committed && committed.code() != sessionkit::errc::not_found) {
    co_return failure_answer(s.ctx(), committed, &res);
  }

  const SessionView view = view_of(session);
  HomePage pg;
  pg.authenticated = view.authenticated;
  if (pg.authenticated) {
    pg.user =
        view.user != nullptr ? view.user->value("name", session.user_id()) : session.user_id();
  }
  pg.visits = view.visits;
  pg.csrf_token = manager_.csrf_token(session, out);
  if (view.live) {
    pg.id_hint = session.id_hint();
    pg.created_at = iso8601(session.created_at());
    pg.expires_at = iso8601(session.expires_at());
  }
  pg.message = std::move(notice);
  pg.message_kind = kind;
  pg.ask_password = ask_password && pg.authenticated;
  pg.secure_cookies = options_.secure_cookies;
  if (pg.authenticated) pg.sessions = co_await session_rows(session);
  set_html_body(res, render_home(pg));
  co_return res;
}

asio::awaitable<std::vector<SessionRow>> Router::session_rows(Session& session) const {
  auto listed = co_await list_sessions(session);
  std::vector<SessionRow> rows;
  if (!listed) co_return rows;  // the page still renders; the API reports the error
  const sessionkit::Time now = manager_.clock().now();
  auto age = [now](sessionkit::Time t) {
    return describe_age(std::chrono::duration_cast<std::chrono::seconds>(now - t).count());
  };
  for (const auto& r : *listed) {
    rows.push_back(SessionRow{r.handle, r.current, iso8601(r.created_at), iso8601(r.last_seen_at),
                              r.ip, r.user_agent, age(r.created_at), age(r.last_seen_at)});
  }
  co_return rows;
}

}  // namespace demo
