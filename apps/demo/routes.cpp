// Dispatch: every request goes through `handle` (client address, HEAD, 500 on a bug, HSTS) and
// `route` (operations, media types, the route table).
#include "routes.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <stdexcept>
#include <vector>

#include "pages.h"
#include "router_ctx.h"
#include "session_scope.h"
#include "sessionkit/http/beast.h"

namespace demo {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace skb = sessionkit::beast;
using bhttp::verb;

// A route that uses the session: path, the one method it answers (HEAD too, for GET), whether
// its body must be JSON, the checks it declares, the handler.
struct Router::Route {
  std::string_view path;  // ending in '/': a prefix, the rest of the path is `Ctx::param`
  verb method;
  bool json_body;
  SessionRules rules;
  Handler handler;

  bool has_param() const noexcept { return path.size() > 1 && path.ends_with('/'); }
};

namespace {

using Rules = Router::SessionRules;

// What each route checks before its handler runs (session_scope.h).
constexpr Rules kRead{};
constexpr Rules kWrite{.unsafe = true};
constexpr Rules kPassword{.unsafe = true,
                          .signed_out_error = "sign in to change your password",
                          .signed_out_notice = "Please sign in to change your password."};
constexpr Rules kReauth{.unsafe = true,
                        .form = true,
                        .signed_out_error = "sign in first",
                        .signed_out_notice = "Please sign in first."};
constexpr std::string_view kSignInToManage = "sign in to manage your sessions";
constexpr Rules kListSessions{.signed_out_error = kSignInToManage};
constexpr Rules kRevoke{.unsafe = true,
                        .form = true,
                        .signed_out_error = kSignInToManage,
                        .signed_out_notice = "Please sign in first."};
constexpr Rules kRevokeOthers{.unsafe = true,
                              .form = true,
                              .signed_out_error = kSignInToManage,
                              .signed_out_notice = "Please sign in first.",
                              .recent_auth = true};

std::string_view allow_header(verb method) {
  switch (method) {
    case verb::get:
      return "GET, HEAD";
    case verb::delete_:
      return "DELETE";
    default:
      return "POST";
  }
}

// Media types: a JSON endpoint reads only application/json, a form endpoint only
// application/x-www-form-urlencoded (a charset parameter is fine). A POST without a body (an
// increment, a logout) needs no Content-Type.
std::optional<Response> media_type_error(const Router::Ctx& ctx, bool json_body) {
  const std::string_view content_type = ctx.req[bhttp::field::content_type];
  if (ctx.method == verb::post && json_body && !media_type_is(content_type, "application/json")) {
    return ctx.error(HttpStatus::unsupported_media_type, "the body must be application/json");
  }
  if (ctx.html && ctx.method != verb::get && !ctx.req.body().empty() &&
      !sessionkit::http::is_form_content_type(content_type)) {
    Response res = ctx.make(HttpStatus::unsupported_media_type);
    set_html_body(res, render_notice_page("This form must be sent as "
                                          "application/x-www-form-urlencoded.",
                                          "Unsupported media type"));
    return res;
  }
  return std::nullopt;
}

// `bytes` random bytes as lower-case hex (libsodium's CSPRNG).
std::string random_hex(std::size_t bytes) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialize");
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  hex.pop_back();  // the terminating NUL
  return hex;
}

}  // namespace

Router::Router(sessionkit::SessionManager& manager, UserDirectory& users,
               asio::any_io_executor hash_executor, RouterOptions options, TokenService* tokens,
               sessionkit::LoginThrottle* throttle, const sessionkit::AnomalyDetector* detector,
               const sessionkit::RecentEvents* events)
    : manager_(manager),
      users_(users),
      hash_executor_(std::move(hash_executor)),
      options_(std::move(options)),
      tokens_(tokens),
      throttle_(throttle),
      detector_(detector),
      events_(events),
      events_instance_(random_hex(8)) {}

const Router::Route* Router::find_route(std::string_view path) {
  static constexpr Route kRoutes[] = {
      // The page and its forms: errors answer the page with a notice, success is 303 → GET /.
      {"/", verb::get, false, kRead, &Router::get_home},
      {"/increment", verb::post, false, kWrite, &Router::post_increment},
      {"/login", verb::post, false, kWrite, &Router::post_login},
      {"/logout", verb::post, false, kWrite, &Router::post_logout},
      {"/password", verb::post, false, kPassword, &Router::post_password},
      {"/reauth", verb::post, false, kReauth, &Router::post_reauth},
      {"/sessions/revoke", verb::post, false, kRevoke, &Router::revoke_session},
      {"/sessions/revoke-others", verb::post, false, kRevokeOthers, &Router::revoke_other_sessions},
      // The JSON API.
      {"/api/session", verb::get, false, kRead, &Router::get_api_session},
      {"/api/increment", verb::post, false, kWrite, &Router::post_increment},
      {"/api/login", verb::post, true, kWrite, &Router::post_login},
      {"/api/logout", verb::post, false, kWrite, &Router::post_logout},
      {"/api/password", verb::post, true, kPassword, &Router::post_password},
      {"/api/reauth", verb::post, true, kReauth, &Router::post_reauth},
      {"/api/sessions", verb::get, false, kListSessions, &Router::get_sessions},
      {"/api/sessions/revoke-others", verb::post, false, kRevokeOthers,
       &Router::revoke_other_sessions},
      {"/api/sessions/", verb::delete_, false, kRevoke, &Router::revoke_session},  // {handle}
  };
  for (const Route& r : kRoutes) {
    if (r.path == path) return &r;
  }
  for (const Route& r : kRoutes) {
    if (r.has_param() && path.starts_with(r.path)) return &r;
  }
  return nullptr;
}

asio::awaitable<Response> Router::handle(Request& req, const std::string& peer) const {
  const bool head = req.method() == verb::head;
  // The demo serves plain HTTP itself; HTTPS can only come through a trusted proxy. Without
  // configured proxies the forwarding headers are not even looked up. Every field line counts.
  sessionkit::http::TrustedProxies::Client client =
      skb::resolve_client(options_.proxies, req, peer, /*peer_tls=*/false);
  Ctx ctx{req,
          skb::BeastRequestView(req, std::move(client.address), client.tls),
          head ? verb::get : req.method(),
          target_path(req.target()),
          {},
          std::nullopt,
          false,
          false};
  if (sessionkit::http::is_form_content_type(req[bhttp::field::content_type])) {
    ctx.form = sessionkit::http::parse_form(req.body());
    ctx.form_malformed = !ctx.form.has_value();
  }
  ctx.html = !ctx.path.starts_with("/api/") && (ctx.method != verb::get || ctx.path == "/");

  Response res;
  try {
    if (client.malformed) {
      res = ctx.error(HttpStatus::bad_request, "malformed X-Forwarded-For");
    } else {
      res = co_await route(ctx);
    }
  } catch (const std::exception& e) {
    // A bug, not client input: log it and answer 500 without crashing the server.
    spdlog::error("request {} {} failed: {}", std::string_view(req.method_string()),
                  std::string_view(req.target()), e.what());
    res = ctx.error(HttpStatus::internal_server_error, "internal error");
  }
  if (client.tls && options_.hsts.count() > 0) {
    res.set("Strict-Transport-Security",
            "max-age=" + std::to_string(options_.hsts.count()) + "; includeSubDomains");
  }
  if (head) {
    const std::size_t length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  co_return res;
}

asio::awaitable<Response> Router::route(Ctx& ctx) const {
  const std::string_view target = ctx.req.target();
  if (target.empty() || target.front() != '/') {
    co_return ctx.error(HttpStatus::bad_request, "the request target must be a path");
  }
  // Operations: no session work at all.
  if (ctx.path == "/healthz" || ctx.path == "/readyz" || ctx.path == "/metrics" ||
      ctx.path == "/events") {
    if (ctx.method != verb::get) co_return ctx.method_not_allowed("GET, HEAD");
    if (ctx.path == "/healthz") co_return get_healthz(ctx);
    if (ctx.path == "/readyz") co_return co_await get_readyz(ctx);
    if (ctx.path == "/events") co_return get_events(ctx);
    co_return co_await get_metrics(ctx);
  }
  if (is_token_path(ctx.path)) co_return co_await token_route(ctx);
  const Route* r = find_route(ctx.path);
  if (auto refused = media_type_error(ctx, r != nullptr && r->json_body)) {
    co_return std::move(*refused);
  }
  if (r == nullptr) co_return ctx.error(HttpStatus::not_found, "not found");
  if (ctx.method != r->method) co_return ctx.method_not_allowed(allow_header(r->method));
  if (r->has_param()) {
    ctx.param = ctx.path.substr(r->path.size());
    if (ctx.param.empty() || ctx.param.find('/') != std::string_view::npos) {
      co_return ctx.error(HttpStatus::not_found, "no such session");
    }
  }
  co_return co_await with_session(ctx, r->rules, r->handler);
}

}  // namespace demo
