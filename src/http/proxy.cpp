#include "sessionkit/http/proxy.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace sessionkit::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

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
  if (!ip) return false;
  for (const auto& b : blocks_)
    if (in_block(ip->first, b.bytes, b.prefix)) return true;
  return false;
}

TrustedProxies::Client TrustedProxies::resolve(
    std::string_view peer, bool peer_tls, std::optional<std::string_view> forwarded_for,
    std::optional<std::string_view> forwarded_proto) const {
  Client client{std::string(peer), peer_tls};
  if (blocks_.empty() || !contains(peer)) return client;  // headers from anyone: ignored
  if (forwarded_proto) {
    std::string_view proto = *forwarded_proto;
    if (auto comma = proto.rfind(','); comma != std::string_view::npos)
      proto = proto.substr(comma + 1);
    proto = trim(proto);
    client.tls = proto.size() == 5 && (proto[0] | 0x20) == 'h' && (proto[1] | 0x20) == 't' &&
                 (proto[2] | 0x20) == 't' && (proto[3] | 0x20) == 'p' && (proto[4] | 0x20) == 's';
  }
  if (!forwarded_for) return client;
  std::string_view rest = *forwarded_for;
  while (!rest.empty()) {
    const auto comma = rest.rfind(',');
    const std::string_view hop =
        trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    if (hop.empty()) continue;
    if (!parse_ip(hop)) break;  // not an address: nothing further left can be vouched for
    client.address = std::string(hop);
    if (!contains(hop)) break;  // the first untrusted hop is the client
  }
  return client;
}

}  // namespace sessionkit::http
