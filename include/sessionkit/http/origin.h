// sessionkit/http/origin.h — where an unsafe request comes from: Fetch Metadata and Origin.
//
// A second line of defence against cross-site request forgery, next to the CSRF token (which
// stays the primary one: a request with no browser signal at all passes here). Browsers say
// where a request comes from in two headers that pages cannot forge: `Sec-Fetch-Site` (Fetch
// Metadata; Chromium 76+, Firefox 90+, Safari 16.4+, sent only to potentially trustworthy
// URLs: https, or http on localhost / loopback) and `Origin` (on every non-GET/HEAD request).
// `check_origin` decides, for a request with an unsafe method:
//
//   1. Safe methods (exactly GET, HEAD, OPTIONS, TRACE) pass.
//   2. `Sec-Fetch-Site`, when present, decides: `same-origin` and `none` (user-initiated) pass;
//      `same-site` passes only with `allow_same_site`; `cross-site` is refused; any other value
//      is refused. Exception: a `same-site` or `cross-site` request whose `Origin` is exactly one
//      of the CONFIGURED origins passes (an app that lives on several origins).
//   3. Otherwise `Origin`, when present and not `null`, must equal one of the app's origins:
//      the configured ones, or, when none are configured, the one derived from the request's
//      `Host` header and `RequestView::is_tls()` (http/https; the adapter sets it from TLS or a
//      trusted proxy). Origins compare as (scheme, host, port): scheme and host
//      case-insensitively, default ports (80 for http, 443 for https) elided, IPv6 hosts in
//      brackets. An Origin with no Host to compare it with (HTTP/1.0), no configured origins, a
//      malformed Origin or a malformed Host is refused.
//   4. `Origin: null` is neither proof nor refusal: a page with `Referrer-Policy: no-referrer`
//      sends it on its own same-origin form posts, and so does a sandboxed frame or an attacker's
//      page with the same policy. It counts as no Origin.
//   5. No Fetch Metadata and no (non-null) Origin — old browsers, non-browser clients — passes.
//
// `Referer` is not consulted: modern browsers always send Origin on unsafe requests, and where
// Origin is missing an attacker's page can suppress Referer too (`no-referrer`), so a Referer
// check could only refuse the careless.
//
// Referrer-Policy for apps: any policy except `no-referrer` keeps a real Origin on same-origin
// form posts. Per Fetch ("append a request `Origin` header"), for a non-CORS request (a form
// post) that is not GET/HEAD, `no-referrer` serialises the Origin as `null` always;
// `same-origin` only for cross-origin requests; `strict-origin`, `strict-origin-when-cross-origin`
// and `no-referrer-when-downgrade` only from https to http. CORS-mode requests (`fetch()`)
// always carry the real origin. Recommended: `strict-origin-when-cross-origin` (the browsers'
// default) or `same-origin` (never leaks a URL to another site).
//
// Thread safety: `OriginPolicy` is immutable after set-up; share freely. `check_origin` is
// reentrant and does not allocate.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/http/request.h"
#include "sessionkit/result.h"

namespace sessionkit::http {

class OriginPolicy {
 public:
  // No configured origins: the app's origin is derived from each request's Host and scheme.
  OriginPolicy() = default;

  // Comma-separated origins, e.g. "https://app.example, https://www.example:8443": scheme
  // http or https, a host (IPv6 in brackets), an optional port; no path (a lone trailing "/" is
  // tolerated), user info, query or wildcard. "" is none (derive from Host). `invalid_argument`
  // naming the bad entry otherwise.
  static Result<OriginPolicy> parse(std::string_view list);

  // Whether Sec-Fetch-Site: same-site (another subdomain of the same registrable domain, or
  // the same host over the other scheme) passes. Off by default.
  bool allow_same_site = false;

  // The configured origins, normalised ("https://app.example", "http://[::1]:8080").
  std::vector<std::string> origins() const;
  bool derives_from_host() const noexcept { return origins_.empty(); }
  // Whether `origin` (a serialised origin, e.g. an Origin header's value) is one of the
  // configured origins, compared as in rule 3. Never true for "null" or when none are configured.
  bool contains(std::string_view origin) const noexcept;

 private:
  struct Entry {
    std::string scheme;  // lowercase, "http" or "https"
    std::string host;    // lowercase; IPv6 with its brackets
    std::uint16_t port = 0;
  };
  std::vector<Entry> origins_;
};

struct OriginVerdict {
  bool allowed = false;
  std::string_view reason;  // a static English phrase, for logs and error bodies
  explicit operator bool() const noexcept { return allowed; }
};

// The verdict for `request` under `policy` (rules in the comment on top).
OriginVerdict check_origin(const RequestView& request, const OriginPolicy& policy = {});

}  // namespace sessionkit::http
