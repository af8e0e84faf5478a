#include "sessionkit/http/proxy.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "http/ascii.h"

namespace sessionkit::http {
namespace {

constexpr auto trim = ascii::trim_ows;

// An IP literal as 16 bytes (IPv4 mapped into IPv6); whether it was IPv4.
std::optional<std::pair<std::array<std::uint8_t, 16>, bool>> parse_ip(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);  // "[::1]"
  }
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[46];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<std::uint8_t, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return std::make_pair(out, true);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buf, &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return std::make_pair(out, false);
  }
  return std::nullopt;
}

bool in_block(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& net,
              int prefix) {
  for (int bit = 0; bit < prefix; ++bit) {
    const int byte = bit / 8, shift = 7 - bit % 8;
    if (((a[static_cast<std::size_t>(byte)] >> shift) & 1) !=
        ((net[static_cast<std::size_t>(byte)] >> shift) & 1)) {
      return false;
    }
  }
  return true;
}

// Calls `visit(element)` for each non-empty, trimmed element of the comma-separated list formed
// by `lines`, from the right, until it answers false.
template <class Visit>
void for_each_from_right(std::span<const std::string_view> lines, Visit&& visit) {
  for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
    std::string_view rest = *line;
    while (!rest.empty()) {
      const auto comma = rest.rfind(',');
      const std::string_view element =
          trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
      if (element.empty()) continue;
      if (!visit(element)) return;
    }
  }
}

using ascii::iequals;

// A port after an address: 1 to 5 digits, at most 65535.
bool is_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && value <= 65535;
}

// One X-Forwarded-For entry: "1.2.3.4", "1.2.3.4:80", "2001:db8::1", "[2001:db8::1]",
// "[2001:db8::1]:443". Brackets must hold an IPv6 address.
std::optional<std::pair<std::array<std::uint8_t, 16>, bool>> parse_node(std::string_view text) {
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view after = text.substr(close + 1);
    if (!after.empty() && (after.front() != ':' || !is_port(after.substr(1)))) return std::nullopt;
    auto ip = parse_ip(text.substr(1, close - 1));
    if (!ip || ip->second) return std::nullopt;
    return ip;
  }
  if (const auto colon = text.find(':');
      colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    // exactly one colon: IPv4 with a port (an IPv6 address has at least two)
    if (!is_port(text.substr(colon + 1))) return std::nullopt;
    auto ip = parse_ip(text.substr(0, colon));
    if (!ip || !ip->second) return std::nullopt;
    return ip;
  }
  return parse_ip(text);
}

// The canonical text of a parsed address (IPv4 dotted, IPv6 as inet_ntop writes it).
std::string canonical(const std::pair<std::array<std::uint8_t, 16>, bool>& ip) {
  char buf[INET6_ADDRSTRLEN];
  const char* text = ip.second ? inet_ntop(AF_INET, ip.first.data() + 12, buf, sizeof buf)
                               : inet_ntop(AF_INET6, ip.first.data(), buf, sizeof buf);
  return text != nullptr ? std::string(text) : std::string();
}

}  // namespace

Result<TrustedProxies> TrustedProxies::parse(std::string_view list) {
  TrustedProxies out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view entry = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (entry.empty()) continue;
    const auto slash = entry.find('/');
    auto ip = parse_ip(entry.substr(0, slash));
    if (!ip) {
      return Result<TrustedProxies>(errc::invalid_argument, "trusted proxy '" + std::string(entry) +
                                                                "' is not an IP address");
    }
    Block b;
    b.bytes = ip->first;
    const int max = ip->second ? 32 : 128;
    int prefix = max;
    if (slash != std::string_view::npos) {
      std::string_view bits = entry.substr(slash + 1);
      auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || prefix < 0 ||
          prefix > max) {
        return Result<TrustedProxies>(
            errc::invalid_argument, "trusted proxy '" + std::string(entry) + "' has a bad prefix");
      }
    }
    b.prefix = ip->second ? prefix + 96 : prefix;
    out.blocks_.push_back(b);
  }
  return out;
}

bool TrustedProxies::contains(std::string_view address) const {
  auto ip = parse_ip(trim(address));
  return ip && contains_ip(ip->first);
}

bool TrustedProxies::contains_ip(const std::array<std::uint8_t, 16>& ip) const {
  for (const auto& b : blocks_)
    if (in_block(ip, b.bytes, b.prefix)) return true;
  return false;
}

TrustedProxies::Client TrustedProxies::resolve(
    std::string_view peer, bool peer_tls, std::optional<std::string_view> forwarded_for,
    std::optional<std::string_view> forwarded_proto) const {
  const std::span<const std::string_view> none;
  return resolve(peer, peer_tls, forwarded_for ? std::span(&*forwarded_for, 1) : none,
                 forwarded_proto ? std::span(&*forwarded_proto, 1) : none);
}

TrustedProxies::Client TrustedProxies::resolve(
    std::string_view peer, bool peer_tls, std::span<const std::string_view> forwarded_for,
    std::span<const std::string_view> forwarded_proto) const {
  Client client{std::string(peer), peer_tls};
  if (blocks_.empty() || !contains(peer)) return client;  // headers from anyone: ignored
  // The lines are one list (RFC 9110 §5.3): the rightmost element is in the last line.
  std::optional<std::string_view> proto;
  for_each_from_right(forwarded_proto, [&](std::string_view element) {
    proto = element;
    return false;
  });
  if (proto) client.tls = iequals(*proto, "https");
  for_each_from_right(forwarded_for, [&](std::string_view hop) {
    auto ip = parse_node(hop);
    if (!ip) {  // not an address where the client should be: unknown, never the proxy
      client.address.clear();
      client.malformed = true;
      return false;
    }
    client.address = canonical(*ip);
    return contains_ip(ip->first);  // the first untrusted hop is the client
  });
  return client;
}

}  // namespace sessionkit::http
