// sessionkit/http/proxy.h — the client's address and scheme behind trusted reverse proxies.
//
// Behind a load balancer the TCP peer is the proxy; the client's address and whether it used
// HTTPS arrive in X-Forwarded-For / X-Forwarded-Proto. Anyone can send those headers, so they
// are believed only when the peer is a configured proxy, and X-Forwarded-For is read from the
// right (the entries trusted proxies appended) up to the first address that is not a trusted
// proxy: that is the client. Entries further left were written by the client and are ignored.
// X-Forwarded-Proto is taken from its rightmost value (set by the nearest proxy).
//
// IP binding, session listings and rate limits all depend on this address; with no trusted
// proxies configured (the default) the headers are ignored entirely.
//
// Thread safety: immutable after `parse`; share freely.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/result.h"

namespace sessionkit::http {

class TrustedProxies {
 public:
  // None: forwarding headers are ignored.
  TrustedProxies() = default;

  // Comma-separated IPv4/IPv6 addresses or CIDR blocks, e.g. "10.0.0.0/8, 127.0.0.1, ::1/128".
  // "" is none. `invalid_argument` naming the bad entry otherwise.
  static Result<TrustedProxies> parse(std::string_view list);

  bool empty() const noexcept { return blocks_.empty(); }
  // Whether `address` (an IP literal; IPv4-mapped IPv6 counts as IPv4) is a trusted proxy.
  bool contains(std::string_view address) const;

  struct Client {
    std::string address;  // the client as far as trusted proxies vouch for it
    bool tls = false;     // the client reached the first proxy (or us) over TLS
  };
  // `peer` and `peer_tls` describe the TCP connection; the two headers are the request's
  // X-Forwarded-For and X-Forwarded-Proto (nullopt when absent).
  Client resolve(std::string_view peer, bool peer_tls,
                 std::optional<std::string_view> forwarded_for,
                 std::optional<std::string_view> forwarded_proto) const;

 private:
  struct Block {
    std::array<std::uint8_t, 16> bytes{};  // IPv4 as IPv4-mapped IPv6
    int prefix = 128;                      // bits, in the 128-bit form
  };
  std::vector<Block> blocks_;
};

}  // namespace sessionkit::http
