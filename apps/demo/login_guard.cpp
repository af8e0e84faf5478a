// login_guard.cpp — the sign-in throttle around the password checks of signed-out clients
// (POST /login, /api/login, /api/token): sessionkit::LoginThrottle (docs/security.md, "Login
// throttling"), with the device cookie that exempts a browser which signed in before from the
// per-account limit; and the anomaly detector told of each successful sign-in.
#include <spdlog/spdlog.h>

#include <cmath>

#include "router_ctx.h"
#include "routes.h"
#include "sessionkit/http/beast.h"
#include "sessionkit/http/cookie.h"

namespace demo {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace skb = sessionkit::beast;
using sessionkit::LoginThrottle;

std::string Router::device_cookie_name() const {
  return options_.secure_cookies ? "__Host-device" : "device";
}

LoginThrottle::Attempt Router::login_attempt(const Ctx& ctx, const std::string& user) const {
  LoginThrottle::Attempt a;
  a.account = user;
  a.address = std::string(ctx.view.peer_address());
  if (auto header = ctx.view.header("Cookie")) {
    const std::string name = device_cookie_name();
    if (sessionkit::http::count_cookies(*header, name) == 1) {
      if (auto value = sessionkit::http::find_cookie(*header, name)) a.device_token = *value;
    }
  }
  return a;
}

asio::awaitable<sessionkit::Result<LoginThrottle::Verdict>> Router::throttle_check(
    const LoginThrottle::Attempt& attempt) const {
  if (throttle_ == nullptr) co_return LoginThrottle::Verdict{};
  co_return co_await skb::co_call<LoginThrottle::Verdict>(
      [&](sessionkit::Callback<LoginThrottle::Verdict> done) {
        throttle_->check(attempt, std::move(done));
      });
}

asio::awaitable<sessionkit::Result<LoginThrottle::Verdict>> Router::throttle_failed(
    const LoginThrottle::Attempt& attempt) const {
  if (throttle_ == nullptr) co_return LoginThrottle::Verdict{};
  co_return co_await skb::co_call<LoginThrottle::Verdict>(
      [&](sessionkit::Callback<LoginThrottle::Verdict> done) {
        throttle_->failed(attempt, std::move(done));
      });
}

asio::awaitable<sessionkit::Status> Router::throttle_succeeded(
    const LoginThrottle::Attempt& attempt) const {
  if (throttle_ == nullptr) co_return sessionkit::Status();
  co_return co_await skb::co_call<void>(
      [&](const sessionkit::Callback<void>& done) { throttle_->succeeded(attempt, done); });
}

std::string Router::retry_after_seconds(sessionkit::Duration wait) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
  return std::to_string(std::max<std::int64_t>(1, (ms + 999) / 1000));  // whole seconds, up
}

std::string Router::too_many_failures_message(sessionkit::Duration wait) {
  const std::string seconds = retry_after_seconds(wait);
  return "Too many failed sign-ins. Please wait " + seconds +
         (seconds == "1" ? " second" : " seconds") + " before trying again.";
}

void Router::set_device_cookie(Response& res, const std::string& user) const {
  if (throttle_ == nullptr) return;
  sessionkit::http::SetCookie c;
  c.name = device_cookie_name();
  c.value = throttle_->device_token(user);
  c.max_age =
      std::chrono::duration_cast<std::chrono::seconds>(throttle_->options().device_lifetime);
  c.secure = options_.secure_cookies;
  c.http_only = true;
  c.same_site = sessionkit::http::SameSite::strict;
  res.insert(bhttp::field::set_cookie, c.serialize());
}

asio::awaitable<void> Router::watch_sign_in(const Ctx& ctx, const std::string& user) const {
  if (detector_ == nullptr) co_return;
  sessionkit::AnomalyDetector::SignIn sign_in;
  sign_in.user_id = user;
  sign_in.address = std::string(ctx.view.peer_address());
  sign_in.user_agent = std::string(ctx.view.header("User-Agent").value_or(""));
  auto found = co_await skb::co_call<std::vector<sessionkit::Anomaly>>(
      [&](sessionkit::Callback<std::vector<sessionkit::Anomaly>> done) {
        detector_->signed_in(sign_in, std::move(done));
      });
  if (!found) spdlog::warn("anomaly signals for a sign-in: {}", found.status().to_string());
}

}  // namespace demo
