// call.cpp — see call.h.
#include "call.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <boost/beast/http/field.hpp>

#include <sodium.h>

#include "logging.h"
#include "sessionkit/session.h"

namespace sessiond {

namespace bhttp = boost::beast::http;
namespace sk = sessionkit;
using nlohmann::json;

namespace {

std::int64_t ms(sk::Time t) {
  return t.time_since_epoch().count();
}

}  // namespace

Response Call::answer(HttpStatus status, const json& j) const {
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

Response Call::error(HttpStatus status, std::string_view message) const {
  return answer(status, json{{"error", message}});
}

Response Call::not_allowed() const {
  return error(HttpStatus::method_not_allowed, "method not allowed");
}

Response Call::store_error(const sk::Status& s) const {
  switch (s.code()) {
    case sk::errc::not_found:
      return error(HttpStatus::not_found, "no such session (or it has expired)");
    case sk::errc::conflict:
      return error(HttpStatus::conflict, "that session ID is taken");
    case sk::errc::invalid_argument:
      return error(HttpStatus::bad_request, s.message());
    case sk::errc::too_large:
      return error(HttpStatus::payload_too_large, s.message());
    case sk::errc::unsupported:
      return error(HttpStatus::not_implemented, "this store cannot do that: " + s.message());
    default:
      log_fields(spdlog::level::warn, "store failure",
                 {{"request_id", request_id}, {"route", route}, {"error", s.to_string()}});
      return error(HttpStatus::service_unavailable,
                   "the session store cannot answer now; retry later");
  }
}

std::optional<Response> Call::parse_body() {
  if (req.body().empty()) {
    body = json::object();
    return std::nullopt;
  }
  const auto type = req.find(bhttp::field::content_type);
  if (type == req.end() || !std::string_view(type->value()).starts_with("application/json")) {
    return error(HttpStatus::unsupported_media_type, "the body must be application/json");
  }
  body = json::parse(req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return error(HttpStatus::bad_request, "the body must be a JSON object");
  }
  return std::nullopt;
}

bool Call::method_is(std::initializer_list<bhttp::verb> allowed) const {
  for (bhttp::verb v : allowed)
    if (v == req.method()) return true;
  return false;
}

json view(const sk::SessionRecord& r) {
  json data = json::object();
  if (r.data.is_object()) {
    for (const auto& [k, v] : r.data.items())
      if (!sk::Session::is_reserved_key(k)) data[k] = v;
  }
  json v = {{"user", r.user_id},
            {"data", std::move(data)},
            {"created_at_ms", ms(r.created_at)},
            {"last_access_ms", ms(r.last_access)},
            {"expires_at_ms", ms(std::min(r.expires_at, r.absolute_expires_at))},
            {"absolute_expires_at_ms", ms(r.absolute_expires_at)}};
  if (r.auth_at) v["auth_at_ms"] = ms(*r.auth_at);
  return v;
}

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

std::string request_id_of(const Request& req) {
  const auto given = req.find("X-Request-Id");
  if (given != req.end()) {
    const std::string_view v = given->value();
    const bool ok = !v.empty() && v.size() <= 128 && std::all_of(v.begin(), v.end(), [](char ch) {
      return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
             ch == '.' || ch == '_' || ch == ':' || ch == '-';
    });
    if (ok) return std::string(v);
  }
  unsigned char bytes[8];
  randombytes_buf(bytes, sizeof bytes);
  char hex[2 * sizeof bytes + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return std::string(hex, 2 * sizeof bytes);
}

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

void note_store_failure(sk::Metrics& metrics, const sk::Status& s) {
  switch (s.code()) {
    case sk::errc::unavailable:
    case sk::errc::timeout:
    case sk::errc::corrupt:
      // Counted here; logged with the request's id where it is answered (Call::store_error).
      metrics.store_errors.fetch_add(1, std::memory_order_relaxed);
      return;
    default:
      return;  // the caller's (not_found, conflict, a bad field, too large), not the store's
  }
}

}  // namespace sessiond
