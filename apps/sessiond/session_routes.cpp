// session_routes.cpp — sessiond's session routes (see api.h and docs/sessiond.md):
//   POST   /v1/sessions                        create with a new ID
//   DELETE /v1/sessions                        end every session (only with --allow-clear)
//   GET    /v1/stats                           how many sessions are live
//   PUT    /v1/sessions/{id}                   create with the caller's ID (never overwrites)
//   GET    /v1/sessions/{id}[?touch=false]     read, with a lazy sliding touch
//   PATCH  /v1/sessions/{id}                   set and erase named keys, change the user
//   DELETE /v1/sessions/{id}                   end it
//   POST   /v1/sessions/{id}/touch|increment|regenerate
//   POST   /v1/sessions/{id}/csrf[/verify]     (csrf_routes.cpp)
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "api.h"
#include "call.h"
#include "logging.h"
#include "sessionkit/session.h"
#include "sessionkit/tokens/refresh_tokens.h"

namespace sessiond {

namespace asio = boost::asio;
namespace sk = sessionkit;
using nlohmann::json;
using verb = boost::beast::http::verb;

namespace {

constexpr std::string_view kReservedKey =
    "payload keys beginning with \"_sk_\" are reserved for sessionkit";

}  // namespace

asio::awaitable<Response> Api::collection_route(Call& c, sk::Time now) {
  if (c.req.method() == verb::delete_) co_return co_await clear(c);
  if (!c.method_is({verb::post})) co_return c.not_allowed();
  if (auto bad = c.parse_body()) co_return std::move(*bad);
  // POST creates with a new ID; PUT /v1/sessions/{id} with the caller's.
  const sk::SessionId id = sk::SessionId::generate();
  co_return co_await create(c, id.str(), sk::SessionKey::of(id), now);
}

asio::awaitable<Response> Api::stats_route(Call& c) {
  if (!c.method_is({verb::get})) co_return c.not_allowed();
  auto n = co_await call_store<std::size_t>(
      *metrics_, [this](sk::Callback<std::size_t> done) { store_->count(std::move(done)); });
  if (!n) co_return c.store_error(status_of(n));
  co_return c.answer(HttpStatus::ok, json{{"sessions", *n}, {"store", store_->name()}});
}

asio::awaitable<Response> Api::session_route(Call& c, std::string_view id_text,
                                             std::string_view action, sk::Time now) {
  const std::optional<sk::SessionKey> parsed = key_of_id(id_text);
  if (!parsed) {
    co_return c.error(HttpStatus::bad_request,
                      "a session ID is 22 to 128 base64url characters (a random token)");
  }
  const sk::SessionKey key = *parsed;

  if (action.empty()) {
    switch (c.req.method()) {
      case verb::put:
        if (auto bad = c.parse_body()) co_return std::move(*bad);
        co_return co_await create(c, std::string(id_text), key, now);
      case verb::get: {
        std::optional<sk::TouchSpec> touch;
        if (query_param(c.query, "touch").value_or("true") != "false") touch = touch_spec(now);
        auto r = co_await call_store<std::optional<sk::SessionRecord>>(
            *metrics_, [&](sk::Callback<std::optional<sk::SessionRecord>> done) {
              store_->load(key, touch, std::move(done));
            });
        if (!r) co_return c.store_error(status_of(r));
        if (!*r) co_return c.error(HttpStatus::not_found, "no such session (or it has expired)");
        co_return c.answer(HttpStatus::ok, view(**r));
      }
      case verb::patch:
        co_return co_await patch(c, key, now);
      case verb::delete_: {
        auto r = co_await call_store<bool>(
            *metrics_, [&](sk::Callback<bool> done) { store_->destroy(key, std::move(done)); });
        if (!r) co_return c.store_error(status_of(r));
        co_return c.answer(HttpStatus::ok, json{{"destroyed", *r}});
      }
      default:
        co_return c.not_allowed();
    }
  }
  if (action == "touch") {
    if (!c.method_is({verb::post})) co_return c.not_allowed();
    auto r = co_await call_store<void>(*metrics_, [&](sk::Callback<void> done) {
      store_->touch(key, write_touch(now), std::move(done));
    });
    if (!r) co_return c.store_error(status_of(r));
    co_return c.answer(HttpStatus::no_content, json());
  }
  if (action == "increment") co_return co_await increment(c, key, now);
  if (action == "regenerate") {
    if (!c.method_is({verb::post})) co_return c.not_allowed();
    co_return co_await regenerate(c, key, now);
  }
  if (action == "csrf" || action == "csrf/verify") co_return co_await csrf_route(c, key, action);
  co_return co_await issue_tokens(c, id_text);  // "tokens": match_route knows no other action
}

asio::awaitable<Response> Api::create(Call& c, std::string id, sk::SessionKey key, sk::Time now) {
  sk::SessionRecord r;
  r.start(now, options_.idle_timeout, options_.absolute_timeout);
  if (c.body.contains("data")) {
    if (!c.body["data"].is_object()) {
      co_return c.error(HttpStatus::bad_request, "\"data\" must be an object");
    }
    for (const auto& [k, v] : c.body["data"].items()) {
      if (sk::Session::is_reserved_key(k)) co_return c.error(HttpStatus::bad_request, kReservedKey);
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

asio::awaitable<Response> Api::patch(Call& c, const sk::SessionKey& key, sk::Time now) {
  if (auto bad = c.parse_body()) co_return std::move(*bad);
  sk::SessionPatch p;
  if (c.body.contains("set")) {
    if (!c.body["set"].is_object()) {
      co_return c.error(HttpStatus::bad_request, "\"set\" must be an object");
    }
    for (auto& [k, v] : c.body["set"].items()) {
      if (sk::Session::is_reserved_key(k)) co_return c.error(HttpStatus::bad_request, kReservedKey);
      p.set.emplace_back(k, v);
    }
  }
  if (c.body.contains("erase")) {
    if (!c.body["erase"].is_array()) {
      co_return c.error(HttpStatus::bad_request, "\"erase\" must be an array of keys");
    }
    for (const json& k : c.body["erase"]) {
      if (!k.is_string()) {
        co_return c.error(HttpStatus::bad_request, "\"erase\" must be an array of keys");
      }
      if (sk::Session::is_reserved_key(k.get_ref<const std::string&>())) {
        co_return c.error(HttpStatus::bad_request, kReservedKey);
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
  p.touch = write_touch(now);
  auto r = co_await call_store<void>(
      *metrics_, [&](sk::Callback<void> done) { store_->patch(key, p, std::move(done)); });
  if (!r) co_return c.store_error(status_of(r));
  co_return c.answer(HttpStatus::ok, json{{"ok", true}});
}

asio::awaitable<Response> Api::increment(Call& c, const sk::SessionKey& key, sk::Time now) {
  if (!c.method_is({verb::post})) co_return c.not_allowed();
  if (auto bad = c.parse_body()) co_return std::move(*bad);
  if (!c.body.contains("field") || !c.body["field"].is_string() ||
      c.body["field"].get_ref<const std::string&>().empty()) {
    co_return c.error(HttpStatus::bad_request, "\"field\" must name a key");
  }
  const std::string field = c.body["field"].get<std::string>();
  if (sk::Session::is_reserved_key(field)) co_return c.error(HttpStatus::bad_request, kReservedKey);
  std::int64_t by = 1;
  if (c.body.contains("by")) {
    if (!c.body["by"].is_number_integer()) {
      co_return c.error(HttpStatus::bad_request, "\"by\" must be an integer");
    }
    by = c.body["by"].get<std::int64_t>();
  }
  auto r = co_await call_store<std::int64_t>(*metrics_, [&](sk::Callback<std::int64_t> done) {
    store_->increment(key, field, by, write_touch(now), std::move(done));
  });
  if (!r) co_return c.store_error(status_of(r));
  co_return c.answer(HttpStatus::ok, json{{"value", *r}});
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
  // A new ID gets a new CSRF secret: a token handed out for the old ID does not carry over.
  // Nor do refresh tokens: they name the old ID (a token client starts a new family).
  if (r.data.is_object()) {
    r.data.erase(std::string(kCsrfSeedKey));
    r.data.erase(std::string(sessionkit::tokens::RefreshTokens::kFamilyKey));
  }
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
      log_fields(spdlog::level::warn,
                 "regenerate: the new session could not be undone; it expires by itself",
                 {{"request_id", c.request_id}, {"key_hint", key.hint()}});
    }
    co_return c.store_error(status_of(gone));
  }
  metrics_->sessions_rotated.fetch_add(1, std::memory_order_relaxed);
  json v = view(r);
  v["id"] = id.str();
  co_return c.answer(HttpStatus::created, v);
}

asio::awaitable<Response> Api::clear(Call& c) {
  if (!options_.allow_clear) {
    co_return c.error(HttpStatus::forbidden,
                      "clearing every session is off: start sessiond with --allow-clear");
  }
  // Page by page: every session the scan shows is destroyed (one that is created meanwhile may
  // survive; a clear is not a snapshot).
  std::size_t cleared = 0;
  std::string cursor;
  do {
    auto page = co_await call_store<sk::ScanPage>(*metrics_, [&](sk::Callback<sk::ScanPage> done) {
      store_->scan(cursor, 500, std::move(done));
    });
    if (!page) co_return c.store_error(status_of(page));
    for (const sk::StoredSession& s : page->sessions) {
      auto gone = co_await call_store<bool>(
          *metrics_, [&](sk::Callback<bool> cb) { store_->destroy(s.key, std::move(cb)); });
      if (!gone) co_return c.store_error(status_of(gone));
      if (*gone) ++cleared;
    }
    cursor = std::move(page->next_cursor);
  } while (!cursor.empty());
  log_fields(spdlog::level::warn, "clear: every session ended by DELETE /v1/sessions",
             {{"request_id", c.request_id}, {"cleared", cleared}, {"peer", c.peer}});
  co_return c.answer(HttpStatus::ok, json{{"cleared", cleared}});
}

}  // namespace sessiond
