// RedisStoreOptions::from_url: redis://, rediss://, redis+cluster://, rediss+cluster://.
#include <charconv>

#include "sessionkit/stores/redis.h"

namespace sessionkit {
namespace {

using R = Result<RedisStoreOptions>;

R bad(const std::string& why) {
  return R(errc::invalid_argument, "redis URL: " + why);
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int v = 0;
    auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc() || end != s.data() + i + 3) return std::nullopt;
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

template <class Int>
std::optional<Int> parse_uint(std::string_view s, Int max) {
  unsigned long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() ||
      v > static_cast<unsigned long long>(max))
    return std::nullopt;
  return static_cast<Int>(v);
}

std::optional<RedisNodeAddress> parse_host(std::string_view hp) {
  RedisNodeAddress a;
  std::string_view port;
  if (!hp.empty() && hp.front() == '[') {  // [IPv6]:port
    auto close = hp.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    a.host = std::string(hp.substr(1, close - 1));
    std::string_view rest = hp.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    auto colon = hp.rfind(':');
    a.host = std::string(hp.substr(0, colon));
    if (colon != std::string_view::npos) port = hp.substr(colon + 1);
  }
  if (a.host.empty()) return std::nullopt;
  if (!port.empty()) {
    auto p = parse_uint<std::uint16_t>(port, 65535);
    if (!p || *p == 0) return std::nullopt;
    a.port = *p;
  }
  return a;
}

}  // namespace

Result<RedisStoreOptions> RedisStoreOptions::from_url(std::string_view url) {
  RedisStoreOptions o;
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return bad("expected redis://, rediss:// or redis+cluster://");
  std::string_view scheme = url.substr(0, sep), rest = url.substr(sep + 3);
  if (scheme == "redis") {
  } else if (scheme == "rediss") {
    o.tls = RedisTlsOptions{};
  } else if (scheme == "redis+cluster") {
    o.cluster = true;
  } else if (scheme == "rediss+cluster") {
    o.cluster = true;
    o.tls = RedisTlsOptions{};
  } else {
    return bad("unknown scheme '" + std::string(scheme) + "'");
  }

  // The host part ends at the first '/' or '?'. An '@' after it means credentials with an
  // unencoded '/' or '?' (a query value with an '@' must use %40): refused, and without
  // echoing any part of the URL, which would show a piece of the password.
  if (auto end = rest.find_first_of("/?");
      end != std::string_view::npos && rest.find('@', end) != std::string_view::npos) {
    return bad(
        "'@' after the host: percent-encode '/', '?' and '@' in the user name and password "
        "(%2F, %3F, %40) and in query values");
  }
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return bad("credentials must be ':password@' or 'user:password@'");
    }
    auto user = percent_decode(userinfo.substr(0, colon));
    auto pass = percent_decode(userinfo.substr(colon + 1));
    if (!user || !pass) return bad("bad percent-encoding in the credentials");
    o.username = *user;
    o.password = *pass;
  }
  o.nodes.clear();
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto node = parse_host(rest.substr(0, comma));
    if (!node) return bad("bad host:port '" + std::string(rest.substr(0, comma)) + "'");
    o.nodes.push_back(*node);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (o.nodes.empty()) return bad("no host");
  if (!o.cluster && o.nodes.size() > 1) return bad("several hosts need redis+cluster://");
  if (!path.empty()) {
    if (o.cluster) return bad("a cluster has no database number");
    auto db = parse_uint<int>(path, 1 << 20);
    if (!db) return bad("bad database number '" + std::string(path) + "'");
    o.database = *db;
  }
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (kv.empty()) continue;
    auto eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    auto v = percent_decode(eq == std::string_view::npos ? "" : kv.substr(eq + 1));
    if (!v) return bad("bad percent-encoding in '" + std::string(k) + "'");
    auto need_tls = [&]() -> bool { return o.tls.has_value(); };
    if (k == "prefix") {
      o.key_prefix = *v;
    } else if (k == "connections") {
      auto n = parse_uint<std::size_t>(*v, 64);
      if (!n || *n == 0) return bad("connections must be 1..64");
      o.connections = *n;
    } else if (k == "timeout_ms" || k == "connect_timeout_ms") {
      auto n = parse_uint<long long>(*v, 3'600'000);
      if (!n || *n == 0) return bad(std::string(k) + " must be 1..3600000");
      (k == "timeout_ms" ? o.command_timeout : o.connect_timeout) = std::chrono::milliseconds(*n);
    } else if (k == "ca" || k == "cert" || k == "key" || k == "sni" || k == "verify") {
      if (!need_tls()) return bad("'" + std::string(k) + "' needs rediss://");
      if (k == "ca") o.tls->ca_file = *v;
      if (k == "cert") o.tls->cert_file = *v;
      if (k == "key") o.tls->key_file = *v;
      if (k == "sni") o.tls->server_name = *v;
      if (k == "verify") {
        if (*v != "0" && *v != "1") return bad("verify must be 0 or 1");
        o.tls->verify = *v == "1";
      }
    } else {
      return bad("unknown parameter '" + std::string(k) + "'");
    }
  }
  return o;
}

}  // namespace sessionkit
