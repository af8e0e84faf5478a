#include "sessionkit/http/origin.h"

#include <charconv>
#include <optional>

#include "http/ascii.h"

namespace sessionkit::http {
namespace {

constexpr std::uint32_t kNoPort = 0;  // a scheme without a default port, and no explicit port

using ascii::iequals;
using ascii::lower;
constexpr auto trim = ascii::trim_ows;

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::uint32_t default_port(std::string_view scheme) noexcept {
  if (iequals(scheme, "http")) return 80;
  if (iequals(scheme, "https")) return 443;
  return kNoPort;
}

// (scheme, host, port) viewing the text it was parsed from; port with the default applied.
struct Origin {
  std::string_view scheme;
  std::string_view host;  // IPv6 with its brackets
  std::uint32_t port = kNoPort;

  bool operator==(const Origin& o) const noexcept {
    return port == o.port && iequals(scheme, o.scheme) && iequals(host, o.host);
  }
};

// "host[:port]" (a Host header, or an origin's authority): host a reg-name of letters,
// digits, '-', '.', '_', '~' (browsers send IDNs as punycode) or a bracketed IPv6 literal;
// port digits ("" = the default).
bool parse_authority(std::string_view text, std::string_view scheme, Origin& out) noexcept {
  std::size_t host_end = 0;
  if (!text.empty() && text.front() == '[') {
    host_end = text.find(']');
    if (host_end == std::string_view::npos || host_end < 3) return false;
    for (char c : text.substr(1, host_end - 1)) {
      if (!is_hex(c) && c != ':' && c != '.') return false;
    }
    ++host_end;
  } else {
    while (host_end < text.size() && text[host_end] != ':') {
      const char c = text[host_end];
      if (!is_alnum(c) && c != '-' && c != '.' && c != '_' && c != '~') return false;
      ++host_end;
    }
    if (host_end == 0) return false;
  }
  out.scheme = scheme;
  out.host = text.substr(0, host_end);
  out.port = default_port(scheme);
  std::string_view rest = text.substr(host_end);
  if (rest.empty()) return true;
  if (rest.front() != ':') return false;
  rest.remove_prefix(1);
  if (rest.empty()) return true;  // "host:" is the default port (RFC 3986)
  if (rest.size() > 5) return false;
  std::uint32_t port = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
  if (ec != std::errc() || end != rest.data() + rest.size() || port > 65535) return false;
  out.port = port;
  return true;
}

// "scheme://host[:port]", as browsers serialise origins (no path, no user info).
bool parse_origin(std::string_view text, Origin& out) noexcept {
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  const std::string_view scheme = text.substr(0, sep);
  if (!((scheme.front() >= 'a' && scheme.front() <= 'z') ||
        (scheme.front() >= 'A' && scheme.front() <= 'Z'))) {
    return false;
  }
  for (char c : scheme) {
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return parse_authority(text.substr(sep + 3), scheme, out);
}

bool is_safe_method(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE";
}

OriginVerdict allow(std::string_view reason) noexcept {
  return {true, reason};
}
OriginVerdict refuse(std::string_view reason) noexcept {
  return {false, reason};
}

}  // namespace

Result<OriginPolicy> OriginPolicy::parse(std::string_view list) {
  OriginPolicy out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view entry = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (entry.empty()) continue;
    std::string_view text = entry;
    if (text.size() > 1 && text.back() == '/' && text[text.size() - 2] != '/') {
      text.remove_suffix(1);  // "https://app.example/"
    }
    Origin o;
    if (!parse_origin(text, o) || default_port(o.scheme) == kNoPort) {
      return Result<OriginPolicy>(
          errc::invalid_argument,
          "origin '" + std::string(entry) + "' is not of the form http[s]://host[:port]");
    }
    Entry e;
    e.scheme.reserve(o.scheme.size());
    for (char c : o.scheme)
      e.scheme.push_back(lower(c));
    e.host.reserve(o.host.size());
    for (char c : o.host)
      e.host.push_back(lower(c));
    e.port = static_cast<std::uint16_t>(o.port);
    out.origins_.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> OriginPolicy::origins() const {
  std::vector<std::string> out;
  out.reserve(origins_.size());
  for (const Entry& e : origins_) {
    std::string s = e.scheme + "://" + e.host;
    if (e.port != default_port(e.scheme)) s += ":" + std::to_string(e.port);
    out.push_back(std::move(s));
  }
  return out;
}

bool OriginPolicy::contains(std::string_view origin) const noexcept {
  Origin o;
  if (origins_.empty() || !parse_origin(trim(origin), o)) return false;
  for (const Entry& e : origins_) {
    if (o == Origin{e.scheme, e.host, e.port}) return true;
  }
  return false;
}

OriginVerdict check_origin(const RequestView& request, const OriginPolicy& policy) {
  if (is_safe_method(request.method())) return allow("safe method");

  // An Origin that says something: present and not "null" (an empty one is malformed).
  std::optional<std::string_view> origin = request.header("Origin");
  if (origin) {
    origin = trim(*origin);
    if (*origin == "null") origin.reset();
  }

  // 1. Fetch Metadata: the browser's own statement, independent of how we see our Host.
  if (const auto site_header = request.header("Sec-Fetch-Site")) {
    const std::string_view site = trim(*site_header);
    if (iequals(site, "same-origin")) return allow("Sec-Fetch-Site: same-origin");
    if (iequals(site, "none")) return allow("Sec-Fetch-Site: none");
    const bool same_site = iequals(site, "same-site");
    if (!same_site && !iequals(site, "cross-site")) return refuse("unknown Sec-Fetch-Site value");
    if (origin && policy.contains(*origin)) return allow("Origin is a configured origin");
    if (same_site) {
      return policy.allow_same_site ? allow("Sec-Fetch-Site: same-site")
                                    : refuse("same-site request refused");
    }
    return refuse("cross-site request refused");
  }

  // 2. Origin (absent or "null": no statement either way; the CSRF token decides).
  if (!origin) return allow("no origin information");
  if (!policy.derives_from_host()) {
    return policy.contains(*origin) ? allow("Origin is a configured origin")
                                    : refuse("cross-origin request refused");
  }
  Origin claimed;
  if (!parse_origin(*origin, claimed)) return refuse("malformed Origin");
  const auto host_header = request.header("Host");
  if (!host_header) return refuse("Origin without a Host to compare it with");
  Origin ours;
  if (!parse_authority(trim(*host_header), request.is_tls() ? "https" : "http", ours)) {
    return refuse("malformed Host");
  }
  return claimed == ours ? allow("Origin matches Host") : refuse("cross-origin request refused");
}

}  // namespace sessionkit::http
