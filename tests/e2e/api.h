// api.h — helpers shared by the e2e suites for the demo's JSON API.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e/http_client.h"

namespace e2e {

inline constexpr const char* kTestSecret = "e2e-secret-0123456789abcdef0123456789abcdef";

// The response body as JSON (a test failure when it is not JSON).
inline nlohmann::json body_json(const Response& res) {
  nlohmann::json j = nlohmann::json::parse(res.body(), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << res.body();
  return j;
}

// A fresh CSRF token for the client's current state (GET /api/session).
inline std::string csrf(HttpClient& c) {
  Response res = c.get("/api/session");
  EXPECT_EQ(res.result_int(), 200u) << res.body();
  return body_json(res).value("csrf_token", "");
}

// POST /api/login with a fresh CSRF token.
inline Response login(HttpClient& c, const std::string& user, const std::string& password) {
  const std::string token = csrf(c);
  return c.post_json("/api/login",
                     nlohmann::json{{"username", user}, {"password", password}}.dump(), token);
}

// Arguments for a development-mode demo on a free port with `store`.
inline std::vector<std::string> demo_args(const std::string& store,
                                          const std::string& secret = kTestSecret) {
  return {"--listen", "127.0.0.1:0", "--secret", secret,   "--store",
          store,      "--threads",   "2",        "--mode", "development"};
}

}  // namespace e2e
