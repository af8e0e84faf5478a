// sessionkit::beast::with_session (include/sessionkit/http/beast_session.h) behind a real
// Boost.Beast server on 127.0.0.1, driven over HTTP by the e2e client: a GET creates the session
// and hands out a CSRF token, an unsafe method without the token (or from another origin) is
// refused before its handler and stores nothing, one with the token (header or form field) runs and
// is committed, and a store that fails answers 503 with Retry-After, never a 500. The memory store
// sits behind a FaultyStore that fails every call on demand.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e/http_client.h"
#include "sessionkit/http/beast_session.h"
#include "sessionkit/keyring.h"
#include "sessionkit/stores/memory.h"
#include "support/faulty_store.h"

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace skb = sessionkit::beast;
using sessionkit::errc;
using sessionkit::Status;
using tcp = asio::ip::tcp;

// The routes' own logic: nothing about loading, checking or committing.
asio::awaitable<Status> app(skb::Scope& s) {
  const std::string target(s.request().target());
  auto& res = s.response();
  res.set(bhttp::field::content_type, "text/plain");
  if (target == "/token") {  // a page with a form: the session starts here
    s.session().set("started", true);
    res.body() = s.csrf_token();
  } else if (target == "/note" && s.request().method() == bhttp::verb::get) {
    res.body() = s.session().get<std::string>("note").value_or("none");
  } else if (target == "/note") {
    s.session().set("note", s.request().body());
    res.body() = "saved";
  } else if (target == "/count") {
    auto n = co_await s.increment("visits");
    if (!n) co_return n.status();
    res.body() = std::to_string(*n);
  } else if (target == "/too-large") {
    co_return Status(errc::too_large, "over the limit");
  } else {
    res.result(bhttp::status::not_found);
  }
  co_return Status();
}

// A Beast server (one thread) answering every request with with_session(app).
class Server {
 public:
  Server(sessionkit::SessionManager& manager, skb::Options options)
      : manager_(manager),
        options_(std::move(options)),
        acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(ioc_, accept(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() {
    ioc_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int handled() const { return handled_; }
  std::vector<sessionkit::http::Failure> failures() {
    std::lock_guard lock(mutex_);
    return failures_;
  }

 private:
  asio::awaitable<void> accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(ioc_, serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    const std::string peer = socket.remote_endpoint().address().to_string();
    boost::beast::tcp_stream stream(std::move(socket));
    boost::beast::flat_buffer buffer;
    skb::Options options = options_;
    options.on_failure = [this](const skb::Request&, skb::Response&,
                                const sessionkit::http::Failure& f, const Status&) {
      std::lock_guard lock(mutex_);
      failures_.push_back(f);
    };
    skb::SessionHandler handler = [this](skb::Scope& s) -> asio::awaitable<Status> {
      ++handled_;
      return app(s);
    };
    for (;;) {
      skb::Request req;
      auto [ec, n] =
          co_await bhttp::async_read(stream, buffer, req, asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      skb::Response res = co_await skb::with_session(manager_, req, peer, handler, options);
      const bool keep_alive = res.keep_alive();
      auto [wec, written] =
          co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      if (wec || !keep_alive) co_return;
    }
  }

  sessionkit::SessionManager& manager_;
  skb::Options options_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<int> handled_{0};
  std::mutex mutex_;
  std::vector<sessionkit::http::Failure> failures_;
};

class BeastWithSession : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(skb::Options options) {
    server_.reset();
    server_ = std::make_unique<Server>(manager_, std::move(options));
    client_.emplace(server_->port());
  }

  // GET /token: the session's cookies in the jar, and its CSRF token.
  std::string token() {
    auto res = client_->get("/token");
    EXPECT_EQ(res.result_int(), 200);
    return res.body();
  }

  std::shared_ptr<sessionkit::testing::FaultyStore> store_ =
      std::make_shared<sessionkit::testing::FaultyStore>(
          std::make_shared<sessionkit::MemoryStore>());
  sessionkit::SessionManager manager_{store_, sessionkit::Keyring::ephemeral(),
                                      sessionkit::SessionOptions::development()};
  std::unique_ptr<Server> server_;
  std::optional<e2e::HttpClient> client_;
};

TEST_F(BeastWithSession, AGetCreatesTheSessionAndGivesACsrfToken) {
  auto res = client_->get("/token");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_FALSE(res.body().empty()) << "the token";
  EXPECT_TRUE(client_->jar.get("sid").has_value()) << "the session cookie";
  EXPECT_EQ(res[bhttp::field::cache_control], "no-store");
  EXPECT_EQ(res[bhttp::field::content_length], std::to_string(res.body().size()));
  EXPECT_EQ(server_->handled(), 1);
  EXPECT_EQ(client_->get("/note").body(), "none") << "the same session, nothing noted yet";
}

TEST_F(BeastWithSession, AnUnsafeMethodWithoutTheTokenIs403AndStoresNothing) {
  (void)token();
  const int before = server_->handled();
  const auto writes = store_->writes();
  auto refused = client_->post_form("/note", "stolen");
  EXPECT_EQ(refused.result_int(), 403);
  EXPECT_NE(refused.body().find("CSRF"), std::string::npos) << refused.body();
  EXPECT_EQ(server_->handled(), before) << "the handler did not run";
  EXPECT_EQ(store_->writes(), writes) << "nothing was written";
  auto wrong = client_->post_json("/note", "stolen", "not-the-token");
  EXPECT_EQ(wrong.result_int(), 403);
  EXPECT_EQ(client_->get("/note").body(), "none");
  ASSERT_FALSE(server_->failures().empty());
  EXPECT_EQ(server_->failures().back().status, 403) << "on_failure saw the refusal";
}

TEST_F(BeastWithSession, TheTokenInTheHeaderOrTheFormLetsTheHandlerRunAndCommit) {
  const std::string csrf = token();
  auto by_header = client_->post_json("/note", "from a fetch", csrf);
  EXPECT_EQ(by_header.result_int(), 200);
  EXPECT_EQ(by_header.body(), "saved");
  EXPECT_EQ(client_->get("/note").body(), "from a fetch") << "committed: the next request sees it";

  const std::string form = "_csrf=" + e2e::form_encode(csrf);
  auto by_form = client_->post_form("/note", form);
  EXPECT_EQ(by_form.result_int(), 200);
  EXPECT_EQ(client_->get("/note").body(), form);

  // A fresh client (no cookies) sees none of it.
  e2e::HttpClient stranger(server_->port());
  EXPECT_EQ(stranger.get("/note").body(), "none");
}

TEST_F(BeastWithSession, IncrementIsAwaitedAndCommitted) {
  const std::string csrf = token();
  EXPECT_EQ(client_->post_json("/count", "", csrf).body(), "1");
  EXPECT_EQ(client_->post_json("/count", "", csrf).body(), "2");
  EXPECT_EQ(client_->post_json("/count", "", csrf).body(), "3");
}

TEST_F(BeastWithSession, AnotherOriginIsRefusedWhenOriginsAreChecked) {
  static const sessionkit::http::OriginPolicy kSameHost;
  skb::Options options;
  options.origins = &kSameHost;
  start(options);
  const std::string csrf = token();
  const int before = server_->handled();
  auto res = client_->request(bhttp::verb::post, "/note", "x",
                              {{"X-CSRF-Token", csrf}, {"Origin", "http://evil.example"}});
  EXPECT_EQ(res.result_int(), 403);
  EXPECT_EQ(server_->handled(), before);
  EXPECT_EQ(client_->get("/note").body(), "none");
}

TEST_F(BeastWithSession, AStoreFailureIs503WithRetryAfterNeverA500) {
  const std::string csrf = token();
  store_->set_failing(true);
  const int before = server_->handled();
  // A known session: the load fails, the handler never runs.
  auto known = client_->post_json("/note", "lost", csrf);
  EXPECT_EQ(known.result_int(), 503);
  EXPECT_EQ(known[bhttp::field::retry_after], "5");
  EXPECT_EQ(known[bhttp::field::cache_control], "no-store");
  EXPECT_EQ(known.count(bhttp::field::set_cookie), 0U) << "never 'signed out'";
  EXPECT_EQ(server_->handled(), before);
  // A new visitor: the handler runs, the commit fails, and its answer is replaced.
  e2e::HttpClient stranger(server_->port());
  auto fresh = stranger.get("/token");
  EXPECT_EQ(fresh.result_int(), 503);
  EXPECT_EQ(fresh.count(bhttp::field::set_cookie), 0U);
  EXPECT_NE(fresh.body().find("unavailable"), std::string::npos) << fresh.body();
  ASSERT_FALSE(server_->failures().empty());
  EXPECT_TRUE(server_->failures().back().store_down);
  // The store comes back: so does the session.
  store_->set_failing(false);
  EXPECT_EQ(client_->post_json("/note", "back", csrf).result_int(), 200);
  EXPECT_EQ(client_->get("/note").body(), "back");
}

TEST_F(BeastWithSession, AHandlersErrorIsAnsweredFromTheTableAndNotCommitted) {
  const std::string csrf = token();
  EXPECT_EQ(client_->post_json("/note", "kept", csrf).result_int(), 200);
  auto res = client_->post_json("/too-large", "", csrf);
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_EQ(res[bhttp::field::cache_control], "no-store");
  EXPECT_EQ(client_->get("/note").body(), "kept");
}

TEST_F(BeastWithSession, AMalformedForwardedForFromATrustedProxyIs400) {
  static const auto kProxies = sessionkit::http::TrustedProxies::parse("127.0.0.1/32").value();
  skb::Options options;
  options.proxies = &kProxies;
  start(options);
  auto res = client_->get("/token", {{"X-Forwarded-For", "not-an-address"}});
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(server_->handled(), 0);
  EXPECT_EQ(client_->get("/token", {{"X-Forwarded-For", "198.51.100.7"}}).result_int(), 200);
}

// The callback form, without a server: the finished response arrives through the token.
// Bearer session IDs (SessionOptions::bearer): no cookies, no CSRF token, never mixed.
TEST(BeastBearer, ABearerPostNeedsNoCsrfTokenACookiePostIs403) {
  sessionkit::SessionOptions options = sessionkit::SessionOptions::development();
  options.bearer.enabled = true;
  sessionkit::SessionManager manager(std::make_shared<sessionkit::MemoryStore>(),
                                     sessionkit::Keyring::ephemeral(), options);
  Server server(manager, {});
  e2e::HttpClient client(server.port());

  auto created = client.request(bhttp::verb::post, "/note", "first", {{"Authorization", "Bearer"}});
  EXPECT_EQ(created.result_int(), 200);
  EXPECT_TRUE(client.last_set_cookies().empty());
  const std::string token(created["X-Session-Token"]);
  ASSERT_FALSE(token.empty());
  const e2e::Headers bearer{{"Authorization", "Bearer " + token}};
  EXPECT_EQ(client.get("/note", bearer).body(), "first");

  // The same session by cookie, without a CSRF token: a browser's request, refused.
  client.jar.set("sid", token);
  EXPECT_EQ(client.request(bhttp::verb::post, "/note", "forged").result_int(), 403);
  // Both credentials at once: 400 before the handler.
  EXPECT_EQ(client.request(bhttp::verb::post, "/note", "mixed", bearer).result_int(), 400);
  client.jar.erase("sid");

  auto saved = client.request(bhttp::verb::post, "/note", "second", bearer);
  EXPECT_EQ(saved.result_int(), 200);
  EXPECT_TRUE(client.last_set_cookies().empty());
  EXPECT_EQ(client.get("/note", bearer).body(), "second");
  EXPECT_EQ(server.handled(), 4);
}

TEST(BeastAsyncWithSession, CompletesWithTheResponse) {
  auto store = std::make_shared<sessionkit::MemoryStore>();
  sessionkit::SessionManager manager(store, sessionkit::Keyring::ephemeral(),
                                     sessionkit::SessionOptions::development());
  asio::io_context ioc;
  skb::Request req{bhttp::verb::get, "/token", 11};
  std::optional<skb::Response> got;
  skb::async_with_session(ioc.get_executor(), manager, req, "127.0.0.1", app, {},
                          [&](std::exception_ptr e, skb::Response res) {
                            EXPECT_FALSE(e);
                            got = std::move(res);
                          });
  EXPECT_FALSE(got.has_value()) << "never completed inside the initiation";
  ioc.run();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->result_int(), 200);
  EXPECT_FALSE(got->body().empty());
  EXPECT_GE(got->count(bhttp::field::set_cookie), 1U);
}

}  // namespace
