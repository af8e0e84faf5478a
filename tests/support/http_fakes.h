// Test support: in-memory RequestView / ResponseHeaders.
#pragma once

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sessionkit/http/request.h"

namespace sessionkit::testing {

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct FakeRequest final : http::RequestView {
  std::string method_ = "GET";
  std::string target_ = "/";
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string peer_ = "127.0.0.1";
  bool tls_ = false;

  FakeRequest() = default;
  explicit FakeRequest(std::string cookie) {
    if (!cookie.empty()) headers_.emplace_back("Cookie", std::move(cookie));
  }
  std::string_view method() const override { return method_; }
  std::string_view target() const override { return target_; }
  std::optional<std::string_view> header(std::string_view name) const override {
    for (const auto& [k, v] : headers_) {
      if (iequals(k, name)) return std::string_view(v);
    }
    return std::nullopt;
  }
  std::string_view peer_address() const override { return peer_; }
  bool is_tls() const override { return tls_; }
};

struct FakeResponse final : http::ResponseHeaders {
  std::vector<std::pair<std::string, std::string>> headers_;

  void add(std::string_view name, std::string_view value) override {
    headers_.emplace_back(std::string(name), std::string(value));
  }
  void set(std::string_view name, std::string_view value) override {
    std::erase_if(headers_, [&](const auto& h) { return iequals(h.first, name); });
    add(name, value);
  }
  std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers_) {
      if (iequals(k, name)) out.push_back(v);
    }
    return out;
  }
  std::optional<std::string> first(std::string_view name) const {
    auto v = all(name);
    if (v.empty()) return std::nullopt;
    return v.front();
  }
  // The "name=value" part of the first Set-Cookie for cookie `cookie`, if any.
  std::optional<std::string> set_cookie_pair(std::string_view cookie) const {
    for (const auto& sc : all("Set-Cookie")) {
      std::string prefix = std::string(cookie) + "=";
      if (sc.rfind(prefix, 0) == 0) return sc.substr(0, sc.find(';'));
    }
    return std::nullopt;
  }
  std::optional<std::string> set_cookie_line(std::string_view cookie) const {
    for (const auto& sc : all("Set-Cookie")) {
      if (sc.rfind(std::string(cookie) + "=", 0) == 0) return sc;
    }
    return std::nullopt;
  }
};

}  // namespace sessionkit::testing
