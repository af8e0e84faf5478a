// A cpp-httplib server on 127.0.0.1 (a free port) with one session route, driven by cpp-httplib's
// own client: a GET creates the session and hands out a CSRF token, a POST without the token is
// refused (403) and counts nothing, a POST with it counts a visit that the next GET sees.
#include <sessionkit/http/httplib.h>
#include <sessionkit/manager.h>
#include <sessionkit/stores/memory.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace {

int fail(const std::string& why) {
  std::fprintf(stderr, "httplib_consumer: %s\n", why.c_str());
  return 1;
}

// The value of NAME in a "visits=N token=T " answer.
std::string field(const std::string& body, const std::string& name) {
  const auto at = body.find(name + "=");
  if (at == std::string::npos) return "";
  const auto start = at + name.size() + 1;
  return body.substr(start, body.find(' ', start) - start);
}

// A cookie jar: every Set-Cookie line of every answer, sent back as one Cookie header.
struct Jar {
  std::map<std::string, std::string> cookies;
  void take(const ::httplib::Response& response) {
    const auto lines = response.get_header_value_count("Set-Cookie");
    for (std::size_t i = 0; i < lines; ++i) {
      const std::string line = response.get_header_value("Set-Cookie", i);
      const std::string pair = line.substr(0, line.find(';'));
      const auto eq = pair.find('=');
      if (eq != std::string::npos) cookies[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
  }
  ::httplib::Headers headers() const {
    std::string joined;
    for (const auto& [name, value] : cookies)
      joined += (joined.empty() ? "" : "; ") + name + "=" + value;
    return {{"Cookie", joined}};
  }
};

}  // namespace

int main() {
  namespace sk = sessionkit;
  namespace skh = sessionkit::httplib;
  sk::SessionManager manager(std::make_shared<sk::MemoryStore>(), sk::Keyring::ephemeral(),
                             sk::SessionOptions::development());
  ::httplib::Server server;
  server.Get("/", skh::with_session(manager, [](skh::Scope& s) {
               const auto visits = s.session().get<std::int64_t>("visits").value_or(0);
               s.response().set_content(
                   "visits=" + std::to_string(visits) + " token=" + s.csrf_token() + " ",
                   "text/plain");
               return sk::Status();
             }));
  server.Post("/visit", skh::with_session(manager, [](skh::Scope& s) {
                auto visits = s.increment("visits");
                if (!visits) return visits.status();
                s.response().set_content("visits=" + std::to_string(*visits) + " ", "text/plain");
                return sk::Status();
              }));
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) return fail("cannot listen on 127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });
  struct Stop {
    ::httplib::Server& server;
    std::thread& thread;
    ~Stop() {
      server.stop();
      thread.join();
    }
  } stop{server, serving};
  while (!server.is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));

  ::httplib::Client client("127.0.0.1", port);
  Jar jar;
  auto first = client.Get("/");
  if (!first || first->status != 200) return fail("GET / did not answer 200");
  jar.take(*first);
  const std::string token = field(first->body, "token");
  if (jar.cookies.empty() || token.empty()) return fail("GET / gave no cookie or no token");

  auto refused = client.Post("/visit", jar.headers(), "", "text/plain");
  if (!refused || refused->status != 403) return fail("POST without a CSRF token was not a 403");
  ::httplib::Headers with_token = jar.headers();
  with_token.emplace("X-CSRF-Token", token);
  auto counted = client.Post("/visit", with_token, "", "text/plain");
  if (!counted || counted->status != 200 || field(counted->body, "visits") != "1")
    return fail("POST with the token did not count one visit");
  jar.take(*counted);
  auto again = client.Get("/", jar.headers());
  if (!again || field(again->body, "visits") != "1") return fail("the next GET saw no visit");
  std::puts("httplib_consumer: ok");
  return 0;
}
