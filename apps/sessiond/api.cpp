// api.cpp — see api.h. Route table in `Api::route`; every store call goes through `call_store`
// (timed into the store latency histogram, failures counted), every answer through `Call`.
#include "api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

#include <sodium.h>

#include "sessionkit/http/beast.h"
#include "sessionkit/session_id.h"

namespace sessiond {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace sk = sessionkit;
using nlohmann::json;

namespace {

std::int64_t ms(sk::Time t) {
  return t.time_since_epoch().count();
}

// The error of a failed call (sessionkit::Status is Result<void> itself).
template <class T>
const sk::Status& status_of(const sk::Result<T>& r) {
  return r.status();
}
inline const sk::Status& status_of(const sk::Status& s) {
  return s;
}

// The JSON a client sees of a session (no ID: the caller has it; no key).
json view(const sk::SessionRecord& r) {
  json v = {{"user", r.user_id},
            {"data", r.data},
            {"created_at_ms", ms(r.created_at)},
            {"last_access_ms", ms(r.last_access)},
            {"expires_at_ms", ms(std::min(r.expires_at, r.absolute_expires_at))},
            {"absolute_expires_at_ms", ms(r.absolute_expires_at)}};
  if (r.auth_at) v["auth_at_ms"] = ms(*r.auth_at);
  return v;
}

// The store key of a session ID a caller presents: 22 to 128 base64url characters (at least 132
// bits when random: sessiond's own 43-character IDs, express-session's default 32-character
// uid-safe IDs, any CSPRNG token), SHA-256 of the text, exactly as SessionKey::of hashes
// sessiond's own. Nothing else is a session ID.
std::optional<sk::SessionKey> key_of_id(std::string_view text) {
  if (text.size() < 22 || text.size() > 128) return std::nullopt;
  for (const char ch : text) {
    const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
    if (!ok) return std::nullopt;
  }
  sk::SessionKey::Bytes digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()),
                     text.size());
  return sk::SessionKey(digest);
}

// %XX decoding of one path segment; nullopt for a bad escape or a decoded '/' or NUL.
std::optional<std::string> decode_segment(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;  // "%" or "%X" at the end
    const auto hex = [](char c) {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : -1;
    };
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '/' || c == '\0') return std::nullopt;
    out += c;
    i += 2;
  }
  return out;
}

// The value of `name` in a query string ("a=1&b=2"), undecoded; nullopt when absent.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
  }
  return std::nullopt;
}

}  // namespace

// ---- RouteCounters ----

void RouteCounters::count(std::string_view route, unsigned status) {
  std::lock_guard lock(mu_);
  for (auto& [k, n] : counts_) {
    if (k.first == route && k.second == status) {
      ++n;
      return;
    }
  }
  counts_.push_back({{std::string(route), status}, 1});
}

void RouteCounters::render(std::string& out) const {
  out +=
      "# HELP sessiond_requests_total Requests answered, by route and status.\n"
      "# TYPE sessiond_requests_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [k, n] : counts_) {
    out += fmt::format("sessiond_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", k.first,
                       k.second, n);
  }
}

// ---- one request ----

struct Api::Call {
  Request& req;
  const std::string& peer;
  std::string_view path;
  std::string_view query;
  std::string route = "other";  // the route's pattern, for the metrics
  json body;                    // the parsed JSON body (methods that take one)

  Response answer(HttpStatus status, const json& j) const {
    Response res{status, req.version()};
    res.set(bhttp::field::server, "sessiond");
    res.set(bhttp::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    if (status != HttpStatus::no_content) {
      res.set(bhttp::field::content_type, "application/json");
      // Values another app stored may hold invalid UTF-8: replaced, never a throw.
      res.body() = j.dump(-1, ' ', false, json::error_handler_t::replace);
      res.body() += '\n';
    }
    res.prepare_payload();
    return res;
  }
  Response error(HttpStatus status, std::string_view message) const {
    return answer(status, json{{"error", message}});
  }
  // The answer to a failed store call: never a false "not found".
  Response store_error(const sk::Status& s) const {
    switch (s.code()) {
      case sk::errc::not_found:
        return error(HttpStatus::not_found, "no such session (or it has expired)");
      case sk::errc::conflict:
        return error(HttpStatus::conflict, "that session ID is taken");
      case sk::errc::invalid_argument:
        return error(HttpStatus::bad_request, s.message());
      case sk::errc::too_large:
        return error(HttpStatus::payload_too_large, s.message());
      default:
        return error(HttpStatus::service_unavailable,
                     "the session store cannot answer now; retry later");
    }
  }
};

Api::Api(std::shared_ptr<sk::SessionStore> store, const ApiKeys& keys, ApiOptions options,
         std::shared_ptr<sk::Metrics> metrics)
    : store_(std::move(store)),
      keys_(keys),
      options_(options),
      metrics_(metrics ? std::move(metrics) : std::make_shared<sk::Metrics>()) {}

Response Api::refusal(HttpStatus status, std::string_view reason) {
  Response res{status, 11};
  res.set(bhttp::field::server, "sessiond");
  res.set(bhttp::field::content_type, "application/json");
  res.body() = json{{"error", reason}}.dump() + "\n";
  res.keep_alive(false);
  res.prepare_payload();
  routes_.count("refused", static_cast<unsigned>(status));
  return res;
}

asio::awaitable<Response> Api::handle(Request& request, const std::string& peer) {
  const std::string_view target = request.target();
  const std::size_t q = target.find('?');
  Call call{.req = request,
            .peer = peer,
            .path = target.substr(0, q),
            .query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1),
            .route = "other",
            .body = json()};
  Response res = co_await route(call);
  routes_.count(call.route, res.result_int());
  co_return res;
}

namespace {

// Runs one store operation as an awaitable, timing it and counting failures that are the
// store's (unavailable, timeout, corrupt), not the caller's (not_found, conflict).
template <class T, class Start>
asio::awaitable<sk::Result<T>> call_store(sk::Metrics& metrics, Start start) {
  const auto began = std::chrono::steady_clock::now();
  sk::Result<T> r = co_await sk::beast::async_call<T>(std::move(start), asio::use_awaitable);
  metrics.store_latency.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  if (!r && r.code() != sk::errc::not_found && r.code() != sk::errc::conflict &&
      r.code() != sk::errc::invalid_argument) {
    metrics.store_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("store: {}", status_of(r).to_string());
  }
  co_return r;
}

}  // namespace

asio::awaitable<Response> Api::route(Call& c) {
  using verb = bhttp::verb;
  const verb method = c.req.method();
  auto only = [&](std::initializer_list<verb> allowed) {
    for (verb v : allowed)
      if (v == method) return true;
    return false;
  };
  auto not_allowed = [&] { return c.error(HttpStatus::method_not_allowed, "method not allowed"); };

  // ---- operations: no key needed for liveness and readiness ----
  if (c.path == "/healthz") {
    c.route = "/healthz";
    if (!only({verb::get, verb::head})) co_return not_allowed();
    co_return c.answer(HttpStatus::ok, json{{"ok", true}});
  }
  if (c.path == "/readyz") {
    c.route = "/readyz";
    if (!only({verb::get, verb::head})) co_return not_allowed();
    sk::Result<void> h = co_await call_store<void>(
        *metrics_, [this](sk::Callback<void> done) { store_->health(std::move(done)); });
    if (!h) co_return c.error(HttpStatus::service_unavailable, "the session store cannot answer");
    co_return c.answer(HttpStatus::ok, json{{"ready", true}});
  }

  // ---- everything else needs an API key ----
  if (options_.require_key) {
    const auto auth = c.req.find(bhttp::field::authorization);
    const std::string_view header =
        auth == c.req.end() ? std::string_view() : std::string_view(auth->value());
    if (!keys_.authenticate(header)) {
      c.route = "unauthenticated";
      Response res =
          c.error(HttpStatus::unauthorized, "an API key is required: Authorization: Bearer <key>");
      res.set(bhttp::field::www_authenticate, "Bearer realm=\"sessiond\"");
      co_return res;
    }
  }

  if (c.path == "/metrics") {
    c.route = "/metrics";
    if (!only({verb::get})) co_return not_allowed();
    std::optional<std::uint64_t> active;
    if (!store_->count_is_expensive()) {
      auto n = co_await call_store<std::size_t>(
          *metrics_, [this](sk::Callback<std::size_t> done) { store_->count(std::move(done)); });
      if (n) active = *n;
    }
    Response res{HttpStatus::ok, c.req.version()};
    res.set(bhttp::field::server, "sessiond");
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.set(bhttp::field::cache_control, "no-store");
    res.keep_alive(c.req.keep_alive());
    std::string text = metrics_->render_prometheus(active);
    routes_.render(text);
    res.body() = std::move(text);
    res.prepare_payload();
    co_return res;
  }

  // ---- /v1/... ----
  constexpr std::string_view kSessions = "/v1/sessions";
  constexpr std::string_view kUsers = "/v1/users/";
  const sk::Time now = sk::system_clock().now();

  // The JSON body: required to be an object for the methods that take one.
  auto parse_body = [&]() -> std::optional<Response> {
    if (c.req.body().empty()) {
      c.body = json::object();
      return std::nullopt;
    }
    const auto type = c.req.find(bhttp::field::content_type);
    if (type == c.req.end() || !std::string_view(type->value()).starts_with("application/json")) {
      return c.error(HttpStatus::unsupported_media_type, "the body must be application/json");
    }
    c.body = json::parse(c.req.body(), nullptr, false);
    if (c.body.is_discarded() || !c.body.is_object()) {
      return c.error(HttpStatus::bad_request, "the body must be a JSON object");
    }
    return std::nullopt;
  };

  if (c.path == kSessions) {
    c.route = "/v1/sessions";
    if (!only({verb::post})) co_return not_allowed();
    if (auto bad = parse_body()) co_return std::move(*bad);
    // POST creates with a new ID; PUT /v1/sessions/{id} below with the caller's.
    const sk::SessionId id = sk::SessionId::generate();
    co_return co_await create(c, id.str(), sk::SessionKey::of(id), now);
  }

  if (c.path.starts_with(kSessions) && c.path.size() > kSessions.size() &&
      c.path[kSessions.size()] == '/') {
    std::string_view rest = c.path.substr(kSessions.size() + 1);
    const std::size_t slash = rest.find('/');
    const std::string_view id_text = rest.substr(0, slash);
    const std::string_view action =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    // Known routes only: a label per arbitrary path would let callers grow the metrics.
    c.route = action.empty() ? "/v1/sessions/{id}"
              : action == "touch" || action == "increment" || action == "regenerate"
                  ? "/v1/sessions/{id}/" + std::string(action)
                  : "other";
    const std::optional<sk::SessionKey> parsed = key_of_id(id_text);
    if (!parsed) {
      co_return c.error(HttpStatus::bad_request,
                        "a session ID is 22 to 128 base64url characters (a random token)");
    }
    const sk::SessionKey key = *parsed;

    if (action.empty()) {
      switch (method) {
        case verb::put:
          if (auto bad = parse_body()) co_return std::move(*bad);
          co_return co_await create(c, std::string(id_text), key, now);
        case verb::get: {
          std::optional<sk::TouchSpec> touch;
          if (query_param(c.query, "touch").value_or("true") != "false") {
            touch = touch_spec(now);
          }
          auto r = co_await call_store<std::optional<sk::SessionRecord>>(
              *metrics_, [&](sk::Callback<std::optional<sk::SessionRecord>> done) {
                store_->load(key, touch, std::move(done));
              });
          if (!r) co_return c.store_error(status_of(r));
          if (!*r) co_return c.error(HttpStatus::not_found, "no such session (or it has expired)");
          co_return c.answer(HttpStatus::ok, view(**r));
        }
        case verb::patch: {
          if (auto bad = parse_body()) co_return std::move(*bad);
          sk::SessionPatch p;
          if (c.body.contains("set")) {
            if (!c.body["set"].is_object()) {
              co_return c.error(HttpStatus::bad_request, "\"set\" must be an object");
            }
            for (auto& [k, v] : c.body["set"].items())
              p.set.emplace_back(k, v);
          }
          if (c.body.contains("erase")) {
            if (!c.body["erase"].is_array()) {
              co_return c.error(HttpStatus::bad_request, "\"erase\" must be an array of keys");
            }
            for (const json& k : c.body["erase"]) {
              if (!k.is_string()) {
                co_return c.error(HttpStatus::bad_request, "\"erase\" must be an array of keys");
              }
              p.erase.push_back(k.get<std::string>());
            }
          }
          if (c.body.contains("user")) {
            if (!c.body["user"].is_string()) {
              co_return c.error(HttpStatus::bad_request, "\"user\" must be a string");
            }
            p.user_id = c.body["user"].get<std::string>();
          }
          p.touch = sk::TouchSpec{.last_access = now,
                                  .expires_at = now + options_.idle_timeout,
                                  .only_if_accessed_in = std::nullopt};
          auto r = co_await call_store<void>(
              *metrics_, [&](sk::Callback<void> done) { store_->patch(key, p, std::move(done)); });
          if (!r) co_return c.store_error(status_of(r));
          co_return c.answer(HttpStatus::ok, json{{"ok", true}});
        }
        case verb::delete_: {
          auto r = co_await call_store<bool>(
              *metrics_, [&](sk::Callback<bool> done) { store_->destroy(key, std::move(done)); });
          if (!r) co_return c.store_error(status_of(r));
          co_return c.answer(HttpStatus::ok, json{{"destroyed", *r}});
        }
        default:
          co_return not_allowed();
      }
    }
    if (action == "touch") {
      if (!only({verb::post})) co_return not_allowed();
      auto r = co_await call_store<void>(*metrics_, [&](sk::Callback<void> done) {
        store_->touch(key,
                      sk::TouchSpec{.last_access = now,
                                    .expires_at = now + options_.idle_timeout,
                                    .only_if_accessed_in = std::nullopt},
                      std::move(done));
      });
      if (!r) co_return c.store_error(status_of(r));
      co_return c.answer(HttpStatus::no_content, json());
    }
    if (action == "increment") {
      if (!only({verb::post})) co_return not_allowed();
      if (auto bad = parse_body()) co_return std::move(*bad);
      if (!c.body.contains("field") || !c.body["field"].is_string() ||
          c.body["field"].get<std::string>().empty()) {
        co_return c.error(HttpStatus::bad_request, "\"field\" must name a key");
      }
      std::int64_t by = 1;
      if (c.body.contains("by")) {
        if (!c.body["by"].is_number_integer()) {
          co_return c.error(HttpStatus::bad_request, "\"by\" must be an integer");
        }
        by = c.body["by"].get<std::int64_t>();
      }
      const std::string field = c.body["field"].get<std::string>();
      auto r = co_await call_store<std::int64_t>(*metrics_, [&](sk::Callback<std::int64_t> done) {
        store_->increment(key, field, by,
                          sk::TouchSpec{.last_access = now,
                                        .expires_at = now + options_.idle_timeout,
                                        .only_if_accessed_in = std::nullopt},
                          std::move(done));
      });
      if (!r) co_return c.store_error(status_of(r));
      co_return c.answer(HttpStatus::ok, json{{"value", *r}});
    }
    if (action == "regenerate") {
      if (!only({verb::post})) co_return not_allowed();
      co_return co_await regenerate(c, key, now);
    }
    co_return c.error(HttpStatus::not_found, "no such route");
  }

  if (c.path.starts_with(kUsers)) {
    std::string_view rest = c.path.substr(kUsers.size());
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos || rest.substr(slash) != "/sessions") {
      co_return c.error(HttpStatus::not_found, "no such route");
    }
    c.route = "/v1/users/{user}/sessions";
    const std::optional<std::string> user = decode_segment(rest.substr(0, slash));
    if (!user || user->empty()) {
      co_return c.error(HttpStatus::bad_request, "a user id, percent-encoded, is expected");
    }
    if (method == verb::get) {
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
    if (method == verb::delete_) {
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
    co_return not_allowed();
  }
  co_return c.error(HttpStatus::not_found, "no such route");
}

sk::TouchSpec Api::touch_spec(sk::Time now) const {
  // Refresh at most once per touch interval: a read inside it writes nothing.
  return sk::TouchSpec{
      .last_access = now,
      .expires_at = now + options_.idle_timeout,
      .only_if_accessed_in = sk::AccessWindow{.from = now - options_.idle_timeout,
                                              .before = now - options_.touch_interval}};
}

asio::awaitable<Response> Api::create(Call& c, std::string id, sk::SessionKey key, sk::Time now) {
  sk::SessionRecord r;
  r.start(now, options_.idle_timeout, options_.absolute_timeout);
  if (c.body.contains("data")) {
    if (!c.body["data"].is_object()) {
      co_return c.error(HttpStatus::bad_request, "\"data\" must be an object");
    }
    r.data = c.body["data"];
  }
  for (const auto& [field, target] : {std::pair<const char*, std::string*>{"user", &r.user_id},
                                      {"ip", &r.ip},
                                      {"user_agent", &r.user_agent}}) {
    if (!c.body.contains(field)) continue;
    if (!c.body[field].is_string()) {
      co_return c.error(HttpStatus::bad_request, std::string("\"") + field + "\" must be a string");
    }
    *target = c.body[field].get<std::string>();
  }
  auto done = co_await call_store<void>(
      *metrics_, [&](sk::Callback<void> cb) { store_->create(key, r, std::move(cb)); });
  if (!done) co_return c.store_error(status_of(done));
  metrics_->sessions_created.fetch_add(1, std::memory_order_relaxed);
  json v = view(r);
  v["id"] = std::move(id);
  co_return c.answer(HttpStatus::created, v);
}

asio::awaitable<Response> Api::regenerate(Call& c, const sk::SessionKey& old_key, sk::Time now) {
  // The new ID gets the old session's payload and user; then the old one ends. Between the two
  // steps both exist (a crash leaves the old one to expire); a reader never sees neither.
  auto old = co_await call_store<std::optional<sk::SessionRecord>>(
      *metrics_, [&](sk::Callback<std::optional<sk::SessionRecord>> done) {
        store_->load(old_key, std::nullopt, std::move(done));
      });
  if (!old) co_return c.store_error(status_of(old));
  if (!*old) co_return c.error(HttpStatus::not_found, "no such session (or it has expired)");
  sk::SessionRecord r = **old;
  r.accessed(now, options_.idle_timeout);
  const sk::SessionId id = sk::SessionId::generate();
  const sk::SessionKey key = sk::SessionKey::of(id);
  auto created = co_await call_store<void>(
      *metrics_, [&](sk::Callback<void> cb) { store_->create(key, r, std::move(cb)); });
  if (!created) co_return c.store_error(status_of(created));
  auto gone = co_await call_store<bool>(
      *metrics_, [&](sk::Callback<bool> cb) { store_->destroy(old_key, std::move(cb)); });
  if (!gone) {
    // The new session exists but the old one may not have ended: undo, so the caller retries
    // the whole step rather than holding two live IDs.
    const sk::Result<bool> undone = co_await call_store<bool>(
        *metrics_, [&](sk::Callback<bool> cb) { store_->destroy(key, std::move(cb)); });
    if (!undone) {
      spdlog::warn("regenerate: the new session {} could not be undone; it expires by itself",
                   key.hint());
    }
    co_return c.store_error(status_of(gone));
  }
  metrics_->sessions_rotated.fetch_add(1, std::memory_order_relaxed);
  json v = view(r);
  v["id"] = id.str();
  co_return c.answer(HttpStatus::created, v);
}

}  // namespace sessiond
