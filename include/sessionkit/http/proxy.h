// sessionkit/http/proxy.h — the client's address and scheme behind trusted reverse proxies.
//
// Behind a load balancer the TCP peer is the proxy; the client's address and whether it used
// HTTPS arrive in X-Forwarded-For / X-Forwarded-Proto. Anyone can send those headers, so they
// are believed only when the peer is a configured proxy, and X-Forwarded-For is read from the
// right (the entries trusted proxies appended) up to the first address that is not a trusted
// proxy: that is the client. Entries further left were written by the client and are ignored.
// X-Forwarded-Proto is taken from its rightmost value (set by the nearest proxy).
//
// Several field lines. RFC 9110 §5.3: several lines of one field name are ONE comma-separated
// list, in order. Proxies such as HAProxy (`option forwardfor`) append their own line at the end
// instead of extending the client's, so reading only the first line would believe a client who
// sends `X-Forwarded-For: <someone else's address>` himself. Pass every line (the `span`
// overload); the lines are read as one list.
//
// Entries. `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` and `[2001:db8::1]:443`
// (RFC 7239 node syntax without "unknown"/obfuscated identifiers). The resolved address is the
// IP alone, in canonical text form (`inet_ntop`: no brackets, no port, lower-case IPv6), so that
// it compares equal to the peer address a server reports. Empty list elements are skipped.
//
// Malformed entries. If the entry at the client position (the first entry, from the right, that
// is not a trusted proxy; or the last one left of only trusted proxies) is not an address, the
// client is UNKNOWN: `Client::malformed` is set, `address` is "" and the caller must answer
// 400 (never fall back to the proxy's address: every client behind that proxy would share it).
// Malformed entries LEFT of the client position were written by the client and are ignored, as
// is everything else there.
//
// IP binding, session listings and rate limits all depend on this address; with no trusted
// proxies configured (the default) the headers are ignored entirely.
//
// Thread safety: immutable after `parse`; share freely.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
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
    std::string address;     // the client as far as trusted proxies vouch for it ("" if malformed)
    bool tls = false;        // the client reached the first proxy (or us) over TLS
    bool malformed = false;  // X-Forwarded-For had a non-address at the client position: 400
  };
  // `peer` and `peer_tls` describe the TCP connection. `forwarded_for` and `forwarded_proto` are
  // ALL field lines of the request's X-Forwarded-For and X-Forwarded-Proto, in the order they
  // arrived (empty when absent). Without trusted proxies, or from an untrusted peer, the lines are
  // not looked at: the client is the peer.
  Client resolve(std::string_view peer, bool peer_tls,
                 std::span<const std::string_view> forwarded_for,
                 std::span<const std::string_view> forwarded_proto) const;
  // The same with at most one line of each (nullopt when absent). Kept for callers that only have
  // the first line; prefer the `span` overload, which sees the lines proxies append.
  Client resolve(std::string_view peer, bool peer_tls,
                 std::optional<std::string_view> forwarded_for,
                 std::optional<std::string_view> forwarded_proto) const;

 private:
  bool contains_ip(const std::array<std::uint8_t, 16>& ip) const;

  struct Block {
    std::array<std::uint8_t, 16> bytes{};  // IPv4 as IPv4-mapped IPv6
    int prefix = 128;                      // bits, in the 128-bit form
  };
  std::vector<Block> blocks_;
};

}  // namespace sessionkit::http
