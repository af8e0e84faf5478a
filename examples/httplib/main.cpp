// sessionkit on cpp-httplib: sign in, a visit counter, sign out, and "your sessions".
//
//   sessionkit-httplib-example [--listen HOST:PORT] [--store URL] [--threads N]
//
// --store: memory:// (default), sqlite://PATH, redis://[user:password@]host:port[/db],
// redis+cluster://…, postgresql://user:password@host:port/db, cookie:// (client-side sessions):
// any URL sessionkit/stores/url.h opens, for every store this build has.
// SESSION_SECRET (32 bytes or more; a comma-separated keyring, newest first) signs the cookies;
// without it a random secret lives as long as the process. Plain HTTP (development options):
// put TLS in front and use SessionOptions::production() for a real deployment.
//
// Routes. Every POST needs the CSRF token of GET /api/state in the X-CSRF-Token header (the
// answer is JSON) or in the form field `_csrf` (the answer is 303 to /, for the page's forms).
//   GET  /                         the page
//   GET  /api/state                {"user", "visits", "csrf_token"}
//   POST /login                    form user=alice&password=wonderland (the one demo user)
//   POST /visit                    visits + 1, atomically
//   POST /logout
//   GET  /api/sessions             the signed-in user's sessions
//   POST /sessions/revoke-others   ends every other session of the user
#include <pthread.h>
#include <signal.h>

#include <sessionkit/http/httplib.h>
#include <sessionkit/manager.h>
#include <sessionkit/stores/url.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace sk = sessionkit;
namespace skh = sessionkit::httplib;
using nlohmann::json;

namespace {

// Whether the password is right, in time independent of where it differs.
bool check_password(const std::string& user, const std::string& password) {
  const std::string expected = "wonderland";
  unsigned diff = user == "alice" && password.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i] ^ (i < password.size() ? password[i] : 0));
  return diff == 0;
}

std::string escape(const std::string& text) {
  std::string out;
  for (const char& c : text) {
    const char* entity = c == '<'   ? "&lt;"
                         : c == '>' ? "&gt;"
                         : c == '&' ? "&amp;"
                         : c == '"' ? "&quot;"
                                    : nullptr;
    out += entity != nullptr ? std::string_view(entity) : std::string_view(&c, 1);
  }
  return out;
}

json state(skh::Scope& s) {
  return {{"user", s.session().user_id()},
          {"visits", s.session().get<std::int64_t>("visits").value_or(0)},
          {"csrf_token", s.csrf_token()}};
}

// A POST's answer: JSON for API clients (they sent X-CSRF-Token), 303 to the page for forms.
sk::Status reply(skh::Scope& s, const json& body) {
  if (s.request().has_header("X-CSRF-Token")) {
    s.response().set_content(body.dump(), "application/json");
  } else {
    s.response().set_redirect("/", 303);
  }
  return {};
}

std::string page(skh::Scope& s) {
  const std::string token = escape(s.csrf_token());
  auto form = [&](const char* action, const std::string& fields, const char* button) {
    return std::string("<form method=post action=") + action +
           "><input type=hidden name=_csrf value=\"" + token + "\">" + fields + "<button>" +
           button + "</button></form>";
  };
  std::string html = "<!doctype html><title>sessionkit on cpp-httplib</title>";
  if (!s.signed_in()) {
    return html + form("/login", "<input name=user value=alice><input name=password type=password>",
                       "Sign in");
  }
  html += "<p>Signed in as " + escape(s.session().user_id()) + ", " +
          std::to_string(s.session().get<std::int64_t>("visits").value_or(0)) + " visits</p>" +
          form("/visit", "", "Visit") + form("/logout", "", "Sign out") +
          "<h2>Your sessions</h2><ul>";
  if (auto list = s.list_sessions()) {
    for (const auto& summary : *list)
      html += "<li>" + escape(summary.user_agent) + " from " + escape(summary.ip) +
              (summary.current ? " (this one)" : "") + "</li>";
  }
  return html + "</ul>" + form("/sessions/revoke-others", "", "Sign out everywhere else");
}

}  // namespace

int main(int argc, char** argv) {
  // SIGINT / SIGTERM stop the server from a thread of their own (below); blocked first, before
  // any thread starts (stores start theirs), so that no other thread receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::string listen = "127.0.0.1:8080", store_url = "memory://";
  int threads = 16;
  if (argc % 2 == 0) {
    std::fprintf(stderr, "usage: %s [--listen HOST:PORT] [--store URL] [--threads N]\n", argv[0]);
    return 2;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--listen")
      listen = argv[i + 1];
    else if (flag == "--store")
      store_url = argv[i + 1];
    else if (flag == "--threads")
      threads = std::max(1, std::atoi(argv[i + 1]));
    else
      return std::fprintf(stderr, "unknown flag %s\n", flag.c_str()), 2;
  }
  auto backend = sk::open_store_url(store_url);  // its messages never hold the URL's secrets
  if (!backend) {
    std::fprintf(stderr, "--store %s: %s\n", sk::redact_store_url(store_url).c_str(),
                 backend.message().c_str());
    return 1;
  }
  const char* secret = std::getenv("SESSION_SECRET");
  auto keyring = secret ? sk::Keyring::parse(secret) : sk::Keyring::ephemeral();
  if (!keyring) return std::fprintf(stderr, "SESSION_SECRET: %s\n", keyring.message().c_str()), 1;
  sk::SessionManager::Dependencies deps;
  deps.client_side = backend->client_side;  // cookie://: no store, client-side sessions
  sk::SessionManager manager(std::move(backend->store), *keyring, sk::SessionOptions::development(),
                             std::move(deps));

  skh::Options options;
  options.on_failure = [](const httplib::Request& req, httplib::Response& res,
                          const skh::Failure& failure, const sk::Status& error) {
    if (failure.store_down)
      std::fprintf(stderr, "%s %s: %s\n", req.method.c_str(), req.path.c_str(),
                   error.to_string().c_str());
    res.set_content(json{{"error", failure.message}}.dump(), "application/json");
  };
  auto route = [&](skh::SessionHandler handler) {
    return skh::with_session(manager, std::move(handler), options);
  };

  httplib::Server server;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_tcp_nodelay(true);  // no 40 ms Nagle stalls between the header and body writes
  server.Get("/", route([](skh::Scope& s) {
               s.response().set_content(page(s), "text/html; charset=utf-8");
               return sk::Status();
             }));
  server.Get("/api/state", route([](skh::Scope& s) {
               s.response().set_content(state(s).dump(), "application/json");
               return sk::Status();
             }));
  server.Post("/login", route([](skh::Scope& s) {
                if (!check_password(s.request().get_param_value("user"),
                                    s.request().get_param_value("password"))) {
                  s.response().status = 401;
                  s.response().set_content(json{{"error", "wrong user name or password"}}.dump(),
                                           "application/json");
                  return sk::Status();
                }
                s.session().set_user("alice");  // a sign-in: a new session ID and a new CSRF secret
                s.session().regenerate();
                return reply(s, state(s));
              }));
  server.Post("/visit", route([](skh::Scope& s) {
                auto visits = s.increment("visits");
                if (!visits) return visits.status();
                return reply(s, {{"visits", *visits}});
              }));
  server.Post("/logout", route([](skh::Scope& s) {
                s.session().destroy();
                return reply(s, {{"user", ""}});
              }));
  server.Get(
      "/api/sessions", route([](skh::Scope& s) {
        if (!s.signed_in()) {
          s.response().status = 401;
          s.response().set_content(json{{"error", "sign in first"}}.dump(), "application/json");
          return sk::Status();
        }
        auto list = s.list_sessions();
        if (!list) return list.status();
        json out = json::array();
        for (const auto& summary : *list) {
          out.push_back({{"handle", summary.handle},
                         {"current", summary.current},
                         {"ip", summary.ip},
                         {"user_agent", summary.user_agent},
                         {"created_at", summary.created_at.time_since_epoch().count() / 1000}});
        }
        s.response().set_content(out.dump(), "application/json");
        return sk::Status();
      }));
  server.Post("/sessions/revoke-others", route([](skh::Scope& s) {
                auto revoked = s.revoke_other_sessions();
                if (!revoked) return revoked.status();
                return reply(s, {{"revoked", *revoked}});
              }));

  const auto colon = listen.rfind(':');
  const std::string host = listen.substr(0, colon);
  int port = std::atoi(listen.c_str() + colon + 1);
  port = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (port < 0) return std::fprintf(stderr, "cannot listen on %s\n", listen.c_str()), 1;

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {  // handlers in flight finish first
    int sig = 0;
    sigwait(&stop_signals, &sig);
    while (!stopped) {  // until listen_after_bind has returned (a signal may come before it runs)
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  std::printf("listening on http://%s:%d\n", host.c_str(), port);
  std::fflush(stdout);
  const bool clean = server.listen_after_bind();
  stopped = true;
  pthread_kill(stopper.native_handle(), SIGINT);  // wakes sigwait if no signal came
  stopper.join();
  return clean ? 0 : 1;
}
