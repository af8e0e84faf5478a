// The cpp-httplib adapter (sessionkit/http/httplib.h) on requests built in memory (label unit):
// the views, the failure table, the layout check, and every step of the request lifecycle of
// `handle_with_session`, with the memory store behind a FaultyStore that can fail on demand.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sessionkit/events.h"
#include "sessionkit/http/form.h"
#include "sessionkit/http/httplib.h"
#include "sessionkit/keyring.h"
#include "sessionkit/manager.h"
#include "sessionkit/stores/memory.h"
#include "sessionkit/sync.h"
#include "support/faulty_store.h"

namespace sessionkit::testing {
namespace {

namespace skh = sessionkit::httplib;

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";

std::vector<std::string> all(const ::httplib::Response& res, const std::string& name) {
  std::vector<std::string> out;
  auto [first, last] = res.headers.equal_range(name);
  for (auto it = first; it != last; ++it)
    out.push_back(it->second);
  return out;
}

// "name=value" of the response's Set-Cookie for `name`, if any.
std::optional<std::string> set_cookie(const ::httplib::Response& res, const std::string& name) {
  for (const std::string& line : all(res, "Set-Cookie")) {
    if (line.rfind(name + "=", 0) == 0) return line.substr(0, line.find(';'));
  }
  return std::nullopt;
}

::httplib::Request make_request(std::string method, std::string cookie = {}) {
  ::httplib::Request req;
  req.method = std::move(method);
  req.target = req.path = "/";
  req.remote_addr = "127.0.0.1";
  if (!cookie.empty()) req.headers.emplace("Cookie", std::move(cookie));
  return req;
}

class HttplibAdapter : public ::testing::Test {
 protected:
  void SetUp() override { rebuild(SessionOptions::development()); }

  void rebuild(SessionOptions options) {
    SessionManager::Dependencies deps;
    deps.events = make_null_sink();
    manager_ = std::make_unique<SessionManager>(store_, Keyring::parse(kSecret).value(), options,
                                                std::move(deps));
  }

  // Runs `handler` through the lifecycle; counts the runs.
  ::httplib::Response run(const ::httplib::Request& req, const skh::SessionHandler& handler,
                          const skh::Options& options = {}) {
    ::httplib::Response res;
    skh::handle_with_session(
        *manager_, req, res,
        [&](skh::Scope& s) {
          ++runs_;
          return handler(s);
        },
        options);
    return res;
  }

  // A stored session (of `user`, if any) and a CSRF token for it: {"sid=...; sid-csrf=...", token}.
  std::pair<std::string, std::string> signed_in(const std::string& user = "alice") {
    std::string token;
    auto res = run(make_request("GET"), [&](skh::Scope& s) {
      if (!user.empty()) s.session().set_user(user);
      s.session().set("theme", "dark");
      token = s.csrf_token();
      return Status();
    });
    std::string cookie = set_cookie(res, "sid").value_or("");
    if (auto csrf = set_cookie(res, "sid-csrf")) cookie += "; " + *csrf;
    return {cookie, token};
  }

  std::shared_ptr<FaultyStore> store_ =
      std::make_shared<FaultyStore>(std::make_shared<MemoryStore>(MemoryStoreOptions{}));
  std::unique_ptr<SessionManager> manager_;
  int runs_ = 0;
};

// ---- views ----

TEST(HttplibViews, RequestViewReadsTheRequestAndJoinsCookieLines) {
  auto req = make_request("POST", "a=1");
  req.target = "/x?y=z";
  req.headers.emplace("cookie", "b=2");
  req.headers.emplace("X-CSRF-Token", "t");
  const skh::RequestView view(req);
  EXPECT_EQ(view.method(), "POST");
  EXPECT_EQ(view.target(), "/x?y=z");
  EXPECT_EQ(view.header("x-csrf-token"), "t");
  EXPECT_EQ(view.header("COOKIE"), "a=1; b=2");
  EXPECT_EQ(view.header("Origin"), std::nullopt);
  EXPECT_EQ(view.peer_address(), "127.0.0.1");
  EXPECT_FALSE(view.is_tls());
  EXPECT_TRUE(skh::RequestView(req, nullptr, true).is_tls());
}

TEST(HttplibViews, TrustedProxiesNameTheClientFromEveryForwardingLine) {
  auto proxies = http::TrustedProxies::parse("127.0.0.1").value();
  auto req = make_request("GET");
  req.headers.emplace("X-Forwarded-For", "203.0.113.9");
  req.headers.emplace("X-Forwarded-For", "198.51.100.7");  // appended by the proxy: the client
  req.headers.emplace("X-Forwarded-Proto", "https");
  const skh::RequestView view(req, &proxies);
  EXPECT_EQ(view.peer_address(), "198.51.100.7");
  EXPECT_TRUE(view.is_tls());
  EXPECT_FALSE(view.malformed());
  EXPECT_EQ(skh::RequestView(req).peer_address(), "127.0.0.1") << "no proxies: the peer";

  auto bad = make_request("GET");
  bad.headers.emplace("X-Forwarded-For", "not-an-address");
  EXPECT_TRUE(skh::RequestView(bad, &proxies).malformed());
}

TEST(HttplibViews, ResponseHeadersAddLinesAndSetReplacesThemAll) {
  ::httplib::Response res;
  skh::ResponseHeaders out(res);
  out.add("Set-Cookie", "a=1");
  out.add("Set-Cookie", "b=2");
  out.set("Cache-Control", "private");
  out.add("cache-control", "x");
  out.set("Cache-Control", "no-store");
  EXPECT_EQ(all(res, "Set-Cookie"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(all(res, "Cache-Control"), std::vector<std::string>{"no-store"});
}

TEST(HttplibViews, CallersBuiltWithOtherFlagsAreRefused) {
  EXPECT_NO_THROW(
      skh::detail::check_layout(sizeof(::httplib::Request), sizeof(::httplib::Response)));
  EXPECT_THROW(
      skh::detail::check_layout(sizeof(::httplib::Request) - 8, sizeof(::httplib::Response)),
      std::logic_error);
}

// ---- the failure table ----

TEST_F(HttplibAdapter, EveryManagerErrorHasItsStatusAndNeverA500) {
  const struct {
    errc code;
    int status;
    int retry_after;
  } table[] = {
      {errc::unavailable, 503, 5},      {errc::timeout, 503, 5},   {errc::corrupt, 503, 5},
      {errc::invalid_argument, 400, 0}, {errc::too_large, 413, 0}, {errc::rate_limited, 429, 2},
      {errc::not_found, 409, 0},        {errc::conflict, 409, 0},  {errc::unsupported, 501, 0}};
  for (const auto& row : table) {
    const skh::Failure f = skh::failure_for(Status(row.code, "m"), *manager_);
    EXPECT_EQ(f.status, row.status) << to_string(row.code);
    EXPECT_EQ(f.retry_after, row.retry_after) << to_string(row.code);
    EXPECT_EQ(f.store_down, row.status == 503) << to_string(row.code);
    EXPECT_FALSE(f.message.empty());
  }
}

// ---- the lifecycle ----

TEST_F(HttplibAdapter, AGetRunsTheHandlerAndCommitsItsChanges) {
  auto res = run(make_request("GET"), [](skh::Scope& s) {
    s.session().set("theme", "dark");
    s.response().set_content("hello", "text/plain");
    return Status();
  });
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(res.body, "hello");
  const auto cookie = set_cookie(res, "sid");
  ASSERT_TRUE(cookie.has_value());
  std::optional<std::string> theme;
  run(make_request("GET", *cookie), [&](skh::Scope& s) {
    theme = s.session().get<std::string>("theme");
    return Status();
  });
  EXPECT_EQ(theme, "dark");
}

TEST_F(HttplibAdapter, AStoreFailureAtLoadIs503BeforeTheHandler) {
  const auto [cookie, token] = signed_in();
  store_->set_failing(true);
  std::optional<skh::Failure> seen;
  skh::Options options;
  options.on_failure = [&](const ::httplib::Request&, ::httplib::Response&, const skh::Failure& f,
                           const Status& error) {
    seen = f;
    EXPECT_TRUE(error.is_unavailable());
  };
  auto res = run(
      make_request("GET", cookie), [](skh::Scope&) { return Status(); }, options);
  EXPECT_EQ(runs_, 1) << "only the set-up request ran a handler";
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.get_header_value("Retry-After"), "5");
  EXPECT_EQ(res.get_header_value("Cache-Control"), "no-store");
  EXPECT_TRUE(all(res, "Set-Cookie").empty());
  ASSERT_TRUE(seen.has_value());
  EXPECT_TRUE(seen->store_down);
}

TEST_F(HttplibAdapter, UnsafeMethodsNeedTheCsrfTokenFromTheHeaderOrTheForm) {
  const auto [cookie, token] = signed_in();
  auto missing = run(make_request("POST", cookie), [](skh::Scope&) { return Status(); });
  EXPECT_EQ(missing.status, 403);
  auto wrong = make_request("DELETE", cookie);
  wrong.headers.emplace("X-CSRF-Token", "AAAA");
  EXPECT_EQ(run(wrong, [](skh::Scope&) { return Status(); }).status, 403);
  EXPECT_EQ(runs_, 1) << "refused before the handler";

  auto header = make_request("POST", cookie);
  header.headers.emplace("X-CSRF-Token", token);
  EXPECT_NE(run(header, [](skh::Scope&) { return Status(); }).status, 403);
  auto form = make_request("POST", cookie);
  form.headers.emplace("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8");
  form.body = "note=a%20b&_csrf=" + http::form_encode(token);
  EXPECT_NE(run(form, [](skh::Scope&) { return Status(); }).status, 403);
  EXPECT_EQ(runs_, 3);

  // Not from the query string (cpp-httplib's params hold it too), nor from a body of another
  // type, nor from a malformed form.
  auto query = make_request("POST", cookie);
  query.params.emplace("_csrf", token);
  EXPECT_EQ(run(query, [](skh::Scope&) { return Status(); }).status, 403);
  auto json = make_request("POST", cookie);
  json.headers.emplace("Content-Type", "application/json");
  json.body = "_csrf=" + http::form_encode(token);
  EXPECT_EQ(run(json, [](skh::Scope&) { return Status(); }).status, 403);
  auto malformed = make_request("POST", cookie);
  malformed.headers.emplace("Content-Type", "application/x-www-form-urlencoded");
  malformed.body = "_csrf=" + http::form_encode(token) + "&x=%zz";
  EXPECT_EQ(run(malformed, [](skh::Scope&) { return Status(); }).status, 403);
  EXPECT_EQ(runs_, 3);

  skh::Options off;
  off.csrf = false;
  EXPECT_NE(run(
                make_request("POST", cookie), [](skh::Scope&) { return Status(); }, off)
                .status,
            403);
}

TEST_F(HttplibAdapter, ABearerPostNeedsNoCsrfTokenACookiePostDoes) {
  SessionOptions options = SessionOptions::development();
  options.bearer.enabled = true;
  rebuild(options);
  http::OriginPolicy origins;  // a cross-site caller (a native app's webview, another origin)
  skh::Options checked;
  checked.origins = &origins;
  const auto post = [](skh::Scope& s) {
    const auto n = s.session().get<int>("n").value_or(0) + 1;
    s.session().set("n", n);
    s.response().status = 200;
    s.response().set_content(std::to_string(n), "text/plain");
    return Status();
  };

  // A native app's first call: a bearer request without a token, and no CSRF token either.
  auto first = make_request("POST");
  first.headers.emplace("Authorization", "Bearer");
  auto created = run(first, post, checked);
  EXPECT_EQ(created.status, 200);
  EXPECT_EQ(created.body, "1");
  EXPECT_TRUE(all(created, "Set-Cookie").empty()) << "a bearer client gets no cookie";
  const std::string token = created.get_header_value("X-Session-Token");
  ASSERT_FALSE(token.empty());

  auto next = make_request("POST");
  next.headers.emplace("Authorization", "Bearer " + token);
  next.headers.emplace("Origin", "https://elsewhere.example");
  auto counted = run(next, post, checked);
  EXPECT_EQ(counted.status, 200);
  EXPECT_EQ(counted.body, "2");
  EXPECT_TRUE(all(counted, "Set-Cookie").empty());
  EXPECT_FALSE(counted.has_header("X-Session-Token")) << "same session, same token";

  // The same session by cookie is a browser's: without a CSRF token it is refused.
  auto by_cookie = run(make_request("POST", "sid=" + token), post);
  EXPECT_EQ(by_cookie.status, 403);
  EXPECT_EQ(runs_, 2);
  // And both credentials at once are refused before the handler: 400.
  auto both = make_request("POST", "sid=" + token);
  both.headers.emplace("Authorization", "Bearer " + token);
  auto mixed = run(both, post);
  EXPECT_EQ(mixed.status, 400);
  EXPECT_NE(mixed.body.find("both a session cookie and a bearer token"), std::string::npos);
  EXPECT_EQ(runs_, 2);

  auto read = make_request("GET");
  read.headers.emplace("Authorization", "Bearer " + token);
  EXPECT_EQ(run(read,
                [](skh::Scope& s) {
                  s.response().set_content(std::to_string(s.session().get<int>("n").value_or(0)),
                                           "text/plain");
                  return Status();
                })
                .body,
            "2");
}

TEST_F(HttplibAdapter, ACrossSiteOriginIsRefusedWhenOriginsAreChecked) {
  const auto [cookie, token] = signed_in();
  const http::OriginPolicy policy;
  skh::Options options;
  options.origins = &policy;
  auto req = make_request("POST", cookie);
  req.headers.emplace("X-CSRF-Token", token);
  req.headers.emplace("Host", "127.0.0.1:8080");
  req.headers.emplace("Sec-Fetch-Site", "cross-site");
  EXPECT_EQ(run(
                req, [](skh::Scope&) { return Status(); }, options)
                .status,
            403);
}

TEST_F(HttplibAdapter, AHandlersErrorIsAnsweredAndNothingIsCommitted) {
  const auto [cookie, token] = signed_in();
  auto res = run(make_request("GET", cookie), [](skh::Scope& s) {
    s.session().set("theme", "light");
    s.response().set_content("partial", "text/plain");
    return Status(errc::invalid_argument, "bad page number");
  });
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, "bad page number\n");
  std::optional<std::string> theme;
  run(make_request("GET", cookie), [&](skh::Scope& s) {
    theme = s.session().get<std::string>("theme");
    return Status();
  });
  EXPECT_EQ(theme, "dark");
}

TEST_F(HttplibAdapter, AFailedCommitReplacesTheHandlersResponse) {
  const auto [cookie, token] = signed_in();
  auto req = make_request("POST", cookie);
  req.headers.emplace("X-CSRF-Token", token);
  auto res = run(req, [&](skh::Scope& s) {
    s.session().set("theme", "light");
    s.csrf_token();  // may add a Set-Cookie line: it must not survive the failure
    s.response().set_content("saved", "text/plain");
    store_->set_failing(true);
    return Status();
  });
  EXPECT_EQ(res.status, 503);
  EXPECT_NE(res.body, "saved");
  EXPECT_TRUE(all(res, "Set-Cookie").empty());
}

TEST_F(HttplibAdapter, TooMuchSessionDataIs413) {
  SessionOptions options = SessionOptions::development();
  options.max_payload_bytes = 64;
  rebuild(options);
  auto res = run(make_request("GET"), [](skh::Scope& s) {
    s.session().set("blob", std::string(200, 'x'));
    return Status();
  });
  EXPECT_EQ(res.status, 413);
  EXPECT_TRUE(all(res, "Set-Cookie").empty());
}

TEST_F(HttplibAdapter, SigningOutOfASessionThatAlreadyEndedIsNoFailure) {
  const auto [cookie, token] = signed_in();
  auto req = make_request("POST", cookie);
  req.headers.emplace("X-CSRF-Token", token);
  auto res = run(req, [&](skh::Scope& s) {
    // Signed out everywhere by another request while this logout runs.
    EXPECT_TRUE(sync::revoke_user_sessions(*manager_, "alice").ok());
    s.session().destroy();
    s.response().set_content("bye", "text/plain");
    return Status();
  });
  EXPECT_EQ(res.body, "bye");
  EXPECT_LT(res.status, 400);
  EXPECT_EQ(set_cookie(res, "sid"), "sid=") << "the cookie is cleared";
}

TEST_F(HttplibAdapter, ASessionBindingRefusedIs403AndClearsTheCookie) {
  SessionOptions options = SessionOptions::development();
  options.bind.ip = true;
  rebuild(options);
  const auto [cookie, token] = signed_in();
  auto elsewhere = make_request("GET", cookie);
  elsewhere.remote_addr = "192.0.2.1";
  auto res = run(elsewhere, [](skh::Scope&) { return Status(); });
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(set_cookie(res, "sid"), "sid=");
  EXPECT_EQ(runs_, 1);
}

TEST_F(HttplibAdapter, TheScopesHelpersBlockAndCount) {
  const auto [cookie, token] = signed_in();
  auto req = make_request("POST", cookie);
  req.headers.emplace("X-CSRF-Token", token);
  std::int64_t last = 0;
  for (int i = 0; i < 3; ++i) {
    run(req, [&](skh::Scope& s) {
      auto n = s.increment("visits");
      if (!n) return n.status();
      last = *n;
      return Status();
    });
  }
  EXPECT_EQ(last, 3);
  std::size_t listed = 0;
  run(make_request("GET", cookie), [&](skh::Scope& s) {
    EXPECT_TRUE(s.signed_in());
    auto list = s.list_sessions();
    if (!list) return list.status();
    listed = list->size();
    auto revoked = s.revoke_session("no-such-handle");
    EXPECT_TRUE(revoked.ok() && !*revoked);
    return Status();
  });
  EXPECT_EQ(listed, 1u);
}

}  // namespace
}  // namespace sessionkit::testing
