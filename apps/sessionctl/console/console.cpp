// console.cpp — see console.h.
#include "console/console.h"

#include <pthread.h>
#include <signal.h>

#include <sessionkit/http/httplib.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "commands.h"
#include "console/admin_password.h"
#include "console/pages.h"
#include "render.h"
#include "sessionkit/blocking_store.h"
#include "sessionkit/login_throttle.h"
#include "sessionkit/stores/memory.h"
#include "sessionkit/stores/url.h"

namespace sessionctl {

namespace sk = sessionkit;
namespace skh = sessionkit::httplib;
using nlohmann::json;

namespace {

// What every answer carries: scripts, styles and everything else from the console only, no
// framing, no referrer, no caching of the operators' pages.
constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

std::string plain(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.is_null() ? "-" : v.dump();
}

std::string link_to(const std::string& key_hex) {
  return "<a href=\"/session/" + key_hex + "\"><code>" + key_hex.substr(0, 16) + "…</code></a>";
}

class Console {
 public:
  Console(const Context& ctx, const ConsoleOptions& options)
      : ctx_(ctx),
        options_(options),
        keyring_(sk::Keyring::ephemeral()),
        manager_(make_manager(keyring_)),
        throttle_(make_throttle(keyring_)),
        scraper_(options.scrape) {}

  int run();

 private:
  // Wrong admin passwords, counted in memory per client address (pair and address scopes):
  // 5 free, then a delay from 1 s doubling to 15 min, during which no password is even tried.
  static std::unique_ptr<sk::LoginThrottle> make_throttle(const sk::Keyring& keyring) {
    sk::LoginThrottleOptions o;
    o.account.enabled = false;  // one account: a guesser must not lock the operators out
    return sk::LoginThrottle::create(sk::MemoryStore::open().value(), keyring, sk::system_clock(),
                                     o, sk::make_null_sink())
        .value();
  }
  static std::unique_ptr<sk::SessionManager> make_manager(const sk::Keyring& keyring) {
    sk::SessionOptions o = sk::SessionOptions::development();  // loopback HTTP: no Secure flag
    o.cookie.name = "sessionctl_console";
    o.cookie.same_site = sk::http::SameSite::strict;
    o.idle_timeout = std::chrono::minutes(15);
    o.absolute_timeout = std::chrono::hours(8);
    sk::SessionManager::Dependencies deps;
    deps.events = sk::make_null_sink();
    return std::make_unique<sk::SessionManager>(sk::MemoryStore::open().value(), keyring, o,
                                                std::move(deps));
  }

  // An HTML answer.
  static sk::Status html(skh::Scope& s, int status, std::string_view title,
                         const std::string& body) {
    s.response().status = status;
    s.response().set_content(page::layout(title, body, s.signed_in(), s.csrf_token()),
                             "text/html; charset=utf-8");
    return {};
  }
  // Runs `body` for a signed-in admin; others are sent to the sign-in page (GET) or refused
  // (POST). A sessionctl Failure (a store error) becomes a page with the matching status.
  template <class Body>
  static skh::SessionHandler admin(Body body) {
    return [body](skh::Scope& s) -> sk::Status {
      if (!s.signed_in()) {
        if (s.request().method != "GET") return html(s, 403, "Signed out", "<p>Sign in again.</p>");
        s.response().set_redirect("/login", 303);
        return {};
      }
      try {
        return body(s);
      } catch (const Failure& f) {
        const int status = f.code == kNotFound ? 404 : f.code == kUsage ? 400 : 503;
        return html(s, status, status == 503 ? "The store cannot answer" : "Not possible",
                    "<p class=\"error\">" + page::escape(f.what()) + "</p>");
      }
    };
  }

  sk::Status overview(skh::Scope& s);
  sk::Status events(skh::Scope& s);
  sk::Status sign_in(skh::Scope& s);
  sk::Status search(skh::Scope& s);
  sk::Status detail(skh::Scope& s, const std::string& key_hex);
  sk::Status revoke(skh::Scope& s, const std::string& key_hex, bool confirmed);
  sk::Status revoke_user(skh::Scope& s, bool confirmed);
  sk::StoredSession find(const std::string& key_hex) const;

  const Context& ctx_;
  ConsoleOptions options_;
  sk::Keyring keyring_;
  std::unique_ptr<sk::SessionManager> manager_;
  std::unique_ptr<sk::LoginThrottle> throttle_;
  Scraper scraper_;
  std::mutex login_mu_;  // one password check at a time: bounds argon2id's memory, slows guessing
  std::mutex stats_mu_;
  std::optional<std::pair<std::chrono::steady_clock::time_point, json>> stats_;
};

sk::Status Console::overview(skh::Scope& s) {
  json r;
  {
    std::lock_guard lock(stats_mu_);  // one scan at a time, reused for 10 s
    const auto now = std::chrono::steady_clock::now();
    if (!stats_ || now - stats_->first > std::chrono::seconds(10)) {
      stats_.emplace(now, stats_report(ctx_));
    }
    r = stats_->second;
  }
  auto figure = [](const std::string& label, const std::string& value) {
    return "<div class=\"figure\">" + page::escape(label) + "<b>" + page::escape(value) +
           "</b></div>";
  };
  const json& b = r["payload_bytes"];
  std::string body = "<p class=\"note\">Store: " + page::escape(plain(r["store"])) + " (" +
                     page::escape(sk::redact_store_url(ctx_.url())) + "), scanned in " +
                     plain(r["scan_ms"]) + " ms; figures are at most 10 s old.</p>";
  body += "<div class=\"figures\">" + figure("sessions", plain(r["sessions"])) +
          figure("bound to a user", plain(r["bound_sessions"])) +
          figure("anonymous", plain(r["anonymous_sessions"])) + figure("users", plain(r["users"])) +
          figure("payload bytes, median", plain(b["median"])) +
          figure("payload bytes, p99", plain(b["p99"])) +
          figure("payload bytes, max", plain(b["max"])) +
          figure("expiring within 1 h", plain(r["expiring_within_1h"])) +
          figure("expiring within 24 h", plain(r["expiring_within_24h"])) +
          figure("oldest created", plain(r["oldest_created"])) +
          figure("newest created", plain(r["newest_created"]));
  if (r.contains("redis_memory")) {
    body += figure(
        "Redis memory (estimated)",
        std::to_string(r["redis_memory"]["total_bytes_estimated"].get<std::size_t>() / 1000000) +
            " MB");
  }
  body += "</div>";
  if (scraper_.options().targets.empty()) {
    body +=
        "<p class=\"note\">No live charts: start the console with <code>--scrape URL</code> "
        "(an app instance's base URL, several allowed) to chart its /metrics.</p>";
  } else {
    // Filled and kept moving by /static/console.js, which polls /api/series.
    body += "<h2>Live</h2><p class=\"note\" id=\"live-status\">Waiting for the first scrape of " +
            std::to_string(scraper_.options().targets.size()) +
            " instance(s)…</p><div class=\"charts\" id=\"charts\" data-interval-ms=\"" +
            std::to_string(scraper_.options().interval.count()) + "\">";
    for (const auto& [id, title] : std::vector<std::pair<std::string, std::string>>{
             {"active", "Active sessions"},
             {"lifecycle", "Created / destroyed / expired per minute"},
             {"anomalies", "Anomalies and store errors per minute"},
             {"latency", "Store latency, ms (mean, p99)"},
             {"requests", "Requests per second"}}) {
      body += "<figure class=\"chart\" id=\"chart-" + id + "\"><figcaption>" + page::escape(title) +
              "</figcaption></figure>";
    }
    body +=
        "</div><h2>Instances</h2><table id=\"targets\"><thead><tr><th>instance</th>"
        "<th>/metrics</th><th>/events</th></tr></thead><tbody></tbody></table>";
  }
  return html(s, 200, "Overview", body);
}

sk::Status Console::events(skh::Scope& s) {
  EventFilter f;
  f.type = s.request().get_param_value("type");
  f.user = s.request().get_param_value("user");
  f.instance = s.request().get_param_value("instance");
  f.text = s.request().get_param_value("text");
  auto option = [](const std::string& value, const std::string& label, const std::string& chosen) {
    return "<option value=\"" + page::escape(value) + "\"" + (value == chosen ? " selected" : "") +
           ">" + page::escape(label) + "</option>";
  };
  std::string body =
      "<form method=\"get\" action=\"/events\" id=\"event-filter\"><label>Type "
      "<select name=\"type\">" +
      option("", "any", f.type);
  for (const char* t : {"created", "rotated", "destroyed", "expired", "anomaly", "store_error"}) {
    body += option(t, t, f.type);
  }
  body += "</select></label> <label>User <input name=\"user\" value=\"" + page::escape(f.user) +
          "\"></label> <label>Instance <select name=\"instance\">" + option("", "any", f.instance);
  for (const std::string& t : scraper_.options().targets)
    body += option(t, t, f.instance);
  body += "</select></label> <label>Reason contains <input name=\"text\" value=\"" +
          page::escape(f.text) + "\"></label> <button>Filter</button></form>";
  if (scraper_.options().targets.empty()) {
    return html(s, 200, "Events",
                body +
                    "<p class=\"note\">No event source: start the console with "
                    "<code>--scrape URL</code>; it reads each instance's "
                    "<code>/events</code>.</p>");
  }
  std::vector<std::vector<std::string>> rows;
  for (const json& e : scraper_.events(f)) {
    const sk::Time at{std::chrono::milliseconds(e.value("at_ms", std::int64_t{0}))};
    std::string what = e.value("reason", "");
    if (e.contains("anomaly")) {
      std::string anomaly = e.value("anomaly", "");
      if (!what.empty()) anomaly.append(": ").append(what);
      what = std::move(anomaly);
    }
    std::string key = e.value("key", "");
    if (e.contains("old_key")) key = e.value("old_key", "").append(" → ").append(key);
    rows.push_back({page::escape(iso_time(at)), page::escape(e.value("event", "")),
                    page::escape(e.value("user", "")), "<code>" + page::escape(key) + "</code>",
                    page::escape(what), page::escape(e.value("instance", ""))});
  }
  body += "<p class=\"note\">" + std::to_string(rows.size()) +
          " events, newest first (the console keeps the last " +
          std::to_string(scraper_.options().events) + " of all instances).</p>" +
          page::table({"at", "event", "user", "key", "reason", "instance"}, rows);
  return html(s, 200, "Events", body);
}

// One password check at a time (bounds argon2id's memory), behind the throttle: while a delay is
// in force the password is not even tried.
sk::Status Console::sign_in(skh::Scope& s) {
  const sk::LoginThrottle::Attempt attempt{
      .account = "admin", .address = s.request().remote_addr, .device_token = ""};
  auto wait = [](auto call) {  // the memory store answers inline; the future covers any store
    std::promise<sk::Result<sk::LoginThrottle::Verdict>> p;
    call([&p](sk::Result<sk::LoginThrottle::Verdict> v) { p.set_value(std::move(v)); });
    return p.get_future().get();
  };
  auto refused = [&](const sk::LoginThrottle::Verdict& v) {
    const auto seconds = std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(v.retry_after).count());
    s.response().set_header("Retry-After", std::to_string(seconds));
    return html(s, 429, "Sign in",
                "<p class=\"error\">Too many wrong passwords from this address: try again in " +
                    std::to_string(seconds) + " s.</p><p><a href=\"/login\">Sign in</a></p>");
  };
  const auto verdict = wait([&](auto done) { throttle_->check(attempt, std::move(done)); });
  if (!verdict) return html(s, 503, "Sign in", "<p class=\"error\">Try again.</p>");
  if (!verdict->allowed) return refused(*verdict);
  bool ok;
  {
    std::lock_guard lock(login_mu_);
    ok = password_matches(options_.password_hash, s.request().get_param_value("password"));
  }
  if (!ok) {
    std::fprintf(stderr, "sessionctl console: a wrong admin password from %s\n",
                 s.request().remote_addr.c_str());
    const auto after = wait([&](auto done) { throttle_->failed(attempt, std::move(done)); });
    if (after && !after->allowed) return refused(*after);
    return html(s, 401, "Sign in",
                "<p class=\"error\">Wrong password.</p><p><a href=\"/login\">Try "
                "again</a></p>");
  }
  throttle_->succeeded(attempt, [](const sk::Status&) {});
  s.session().set_user("admin");  // a new session ID and a new CSRF secret
  s.session().regenerate();
  s.response().set_redirect("/", 303);
  return {};
}

sk::Status Console::search(skh::Scope& s) {
  const std::string user = s.request().get_param_value("user");
  const std::string prefix = s.request().get_param_value("key");
  std::string body =
      "<form method=\"get\" action=\"/search\"><label>User <input name=\"user\" value=\"" +
      page::escape(user) + "\"></label> <label>or key prefix <input name=\"key\" value=\"" +
      page::escape(prefix) +
      "\" pattern=\"[0-9a-f]{1,64}\"></label> <button>Search</button></form>";
  std::vector<sk::StoredSession> found;
  std::string note;
  sk::BlockingStore store(ctx_.store());
  if (!user.empty()) {
    found = ctx_.must(store.list_user(user), "list the sessions of a user");  // the user index
    note = std::to_string(found.size()) + " sessions of user " + user + " (the user index).";
  } else if (!prefix.empty()) {
    if (prefix.size() > 64 || prefix.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return html(s, 400, "Search", body + "<p class=\"error\">A key prefix is lowercase hex.</p>");
    }
    // No index by key prefix: a scan, bounded.
    constexpr std::size_t kMaxScanned = 200'000, kMaxFound = 50;
    std::size_t scanned = 0;
    std::string cursor;
    do {
      sk::ScanPage p = ctx_.must(store.scan(cursor, 1000), "scan");
      for (sk::StoredSession& x : p.sessions) {
        if (x.key.hex().starts_with(prefix) && found.size() < kMaxFound)
          found.push_back(std::move(x));
      }
      scanned += 1000;
      cursor = std::move(p.next_cursor);
    } while (!cursor.empty() && scanned < kMaxScanned && found.size() < kMaxFound);
    note = std::to_string(found.size()) + " sessions whose key begins with " + prefix +
           (cursor.empty() ? " (the whole store scanned)." : " (the scan stopped early).");
  }
  std::vector<std::vector<std::string>> rows;
  for (const sk::StoredSession& x : found) {
    const json d = describe(ctx_, x);
    rows.push_back({link_to(x.key.hex()), page::escape(plain(d["user"])),
                    page::escape(plain(d["created"])), page::escape(plain(d["last_access"])),
                    page::escape(plain(d["expires_at"])), page::escape(plain(d["ip"])),
                    plain(d["payload_bytes"])});
  }
  if (!note.empty()) {
    body += "<p class=\"note\">" + page::escape(note) + "</p>" +
            page::table({"key", "user", "created", "last access", "expires", "ip", "bytes"}, rows);
  }
  if (!user.empty() && !found.empty()) {
    body += "<p><a href=\"/revoke-user?user=" + page::escape(user) + "\">Revoke all of " +
            page::escape(user) + "'s sessions…</a></p>";
  }
  return html(s, 200, "Search", body);
}

sk::StoredSession Console::find(const std::string& key_hex) const {
  const std::optional<sk::SessionKey> key = sk::SessionKey::from_hex(key_hex);
  if (!key) throw Failure(kUsage, "not a session key");
  std::optional<sk::SessionRecord> r =
      ctx_.must(sk::BlockingStore(ctx_.store()).load(*key), "load");
  if (!r) throw Failure(kNotFound, "no live session has the key " + key->hint() + "…");
  return {*key, std::move(*r)};
}

sk::Status Console::detail(skh::Scope& s, const std::string& key_hex) {
  const sk::StoredSession x = find(key_hex);
  const json d = describe(ctx_, x);
  std::vector<std::vector<std::string>> rows;
  for (const char* f : {"key", "user", "created", "last_access", "expires_at",
                        "absolute_expires_at", "auth_at", "ip", "user_agent", "payload_bytes"}) {
    rows.push_back({f, page::escape(plain(d[f]))});
  }
  std::vector<std::vector<std::string>> payload;
  const json view = payload_view(x.record.data, false);  // outlives the loop below
  for (const auto& [name, v] : view.items()) {
    payload.push_back({page::escape(name), page::escape(plain(v["type"])), plain(v["bytes"])});
  }
  std::string body = page::table({"field", "value"}, rows) +
                     "<h2>Payload</h2><p class=\"note\">Redacted: keys, types and sizes only.</p>" +
                     page::table({"key", "type", "bytes"}, payload) + "<p><a href=\"/session/" +
                     key_hex + "/revoke\">Revoke this session…</a>";
  if (!x.record.user_id.empty()) {
    body += " · <a href=\"/revoke-user?user=" + page::escape(x.record.user_id) +
            "\">Revoke all of " + page::escape(x.record.user_id) + "'s sessions…</a>";
  }
  return html(s, 200, "Session " + key_hex.substr(0, 8), body + "</p>");
}

sk::Status Console::revoke(skh::Scope& s, const std::string& key_hex, bool confirmed) {
  if (!confirmed) {
    const sk::StoredSession x = find(key_hex);
    return html(s, 200, "Revoke a session",
                "<p>End session <code>" + key_hex.substr(0, 16) + "…</code> of " +
                    page::escape(x.record.user_id.empty() ? "an anonymous visitor"
                                                          : "user " + x.record.user_id) +
                    "? Its cookie stops working at the next request.</p>" +
                    page::post_form("/session/" + key_hex + "/revoke", s.csrf_token(), {}, "Revoke",
                                    "danger") +
                    "<p><a href=\"/session/" + key_hex + "\">Cancel</a></p>");
  }
  const std::optional<sk::SessionKey> key = sk::SessionKey::from_hex(key_hex);
  if (!key) throw Failure(kUsage, "not a session key");
  const bool was = ctx_.must(sk::BlockingStore(ctx_.store()).destroy(*key), "destroy");
  std::fprintf(stderr, "sessionctl console: revoked session %s (%s)\n", key->hint().c_str(),
               was ? "ended" : "already gone");
  return html(s, 200, "Revoked",
              std::string("<p>") + (was ? "The session has ended." : "It had already ended.") +
                  "</p><p><a href=\"/search\">Back to search</a></p>");
}

sk::Status Console::revoke_user(skh::Scope& s, bool confirmed) {
  const std::string user = s.request().get_param_value("user");
  if (user.empty()) throw Failure(kUsage, "name a user");
  sk::BlockingStore store(ctx_.store());
  if (!confirmed) {
    const auto list = ctx_.must(store.list_user(user), "list the sessions of a user");
    return html(s, 200, "Revoke all sessions of a user",
                "<p>End all " + std::to_string(list.size()) + " sessions of user " +
                    page::escape(user) + " (log out everywhere)?</p>" +
                    page::post_form("/revoke-user", s.csrf_token(), {{"user", user}}, "Revoke all",
                                    "danger") +
                    "<p><a href=\"/search?user=" + page::escape(user) + "\">Cancel</a></p>");
  }
  const std::size_t n = ctx_.must(store.destroy_user(user), "destroy the sessions of a user");
  std::fprintf(stderr, "sessionctl console: revoked %zu sessions of user %s\n", n, user.c_str());
  return html(s, 200, "Revoked",
              "<p>" + std::to_string(n) + " sessions of user " + page::escape(user) +
                  " ended.</p><p><a href=\"/search\">Back to search</a></p>");
}

int Console::run() {
  sigset_t stop_signals;  // blocked in every thread (console() below), awaited by `stopper`
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);

  skh::Options opts;
  auto route = [&](skh::SessionHandler h) {
    return skh::with_session(*manager_, std::move(h), opts);
  };
  ::httplib::Server server;
  const int threads = std::max(1, options_.threads);
  server.new_task_queue = [threads] { return new ::httplib::ThreadPool(threads); };
  server.set_payload_max_length(std::size_t{64} * 1024);
  server.set_post_routing_handler([](const ::httplib::Request&, ::httplib::Response& res) {
    res.set_header("Content-Security-Policy", kCsp);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
    if (!res.has_header("Cache-Control")) res.set_header("Cache-Control", "no-store");
  });
  server.Get("/static/console.css", [](const ::httplib::Request&, ::httplib::Response& res) {
    res.set_content(std::string(page::stylesheet()), "text/css; charset=utf-8");
    res.set_header("Cache-Control", "max-age=300");
  });
  server.Get("/login", route([](skh::Scope& s) {
               if (s.signed_in()) {
                 s.response().set_redirect("/", 303);
                 return sk::Status();
               }
               return html(s, 200, "Sign in",
                           "<form method=\"post\" action=\"/login\"><input type=\"hidden\" "
                           "name=\"_csrf\" value=\"" +
                               page::escape(s.csrf_token()) +
                               "\"><label>Admin password <input name=\"password\" "
                               "type=\"password\" autofocus></label> <button>Sign in</button>"
                               "</form>");
             }));
  server.Post("/login", route([this](skh::Scope& s) { return sign_in(s); }));
  server.Post("/logout", route([](skh::Scope& s) {
                s.session().destroy();
                s.response().set_redirect("/login", 303);
                return sk::Status();
              }));
  server.Get("/", route(admin([this](skh::Scope& s) { return overview(s); })));
  server.Get("/search", route(admin([this](skh::Scope& s) { return search(s); })));
  server.Get("/events", route(admin([this](skh::Scope& s) { return events(s); })));
  server.Get("/static/icon.svg", [](const ::httplib::Request&, ::httplib::Response& res) {
    res.set_content(std::string(page::icon()), "image/svg+xml");
    res.set_header("Cache-Control", "max-age=86400");
  });
  server.Get("/static/console.js", [](const ::httplib::Request&, ::httplib::Response& res) {
    res.set_content(std::string(page::script()), "text/javascript; charset=utf-8");
    res.set_header("Cache-Control", "max-age=300");
  });
  // The charts' data, for console.js: JSON, and a 401 (not a redirect) once signed out.
  server.Get("/api/series", route([this](skh::Scope& s) {
               s.response().set_header("Cache-Control", "no-store");
               if (!s.signed_in()) {
                 s.response().status = 401;
                 s.response().set_content(R"({"error":"signed out"})", "application/json");
                 return sk::Status();
               }
               s.response().set_content(scraper_.series().dump(), "application/json");
               return sk::Status();
             }));
  server.Get(R"(/session/([0-9a-f]{64}))",
             route(admin([this](skh::Scope& s) { return detail(s, s.request().matches[1]); })));
  server.Get(
      R"(/session/([0-9a-f]{64})/revoke)",
      route(admin([this](skh::Scope& s) { return revoke(s, s.request().matches[1], false); })));
  server.Post(
      R"(/session/([0-9a-f]{64})/revoke)",
      route(admin([this](skh::Scope& s) { return revoke(s, s.request().matches[1], true); })));
  server.Get("/revoke-user", route(admin([this](skh::Scope& s) { return revoke_user(s, false); })));
  server.Post("/revoke-user", route(admin([this](skh::Scope& s) { return revoke_user(s, true); })));

  const auto colon = options_.listen.rfind(':');
  if (colon == std::string::npos) throw Failure(kUsage, "--listen: HOST:PORT expected");
  const std::string host = options_.listen.substr(0, colon);
  int port = std::atoi(options_.listen.c_str() + colon + 1);
  port = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (port < 0) throw Failure(kUsage, "--listen: cannot listen on " + options_.listen);

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {  // requests in flight finish first
    int sig = 0;
    sigwait(&stop_signals, &sig);
    while (!stopped) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  std::printf("listening on http://%s:%d\n", host.c_str(), port);
  std::fflush(stdout);
  const bool clean = server.listen_after_bind();
  stopped = true;
  pthread_kill(stopper.native_handle(), SIGINT);
  stopper.join();
  return clean ? kOk : kStoreError;
}

}  // namespace

int console(const Context& ctx, const ConsoleOptions& options) {
  if (!is_password_hash(options.password_hash)) {
    throw Failure(kUsage,
                  "console: an admin password hash is required (--admin-password-hash-file, "
                  "SESSIONCTL_ADMIN_PASSWORD_HASH); make one with `sessionctl hash-password`");
  }
  // Before any thread starts (the scraper's, the server's): only sigwait sees SIGINT/SIGTERM.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  Console c(ctx, options);
  return c.run();
}

}  // namespace sessionctl
