// sessionkit/http/request.h — the framework-neutral view of an HTTP exchange.
//
// The session manager reads requests only through `RequestView` and writes responses only
// through `ResponseHeaders`. Framework adapters (see sessionkit/http/beast.h) implement these
// two small interfaces over their own types without copying. Views are borrowed: they must
// outlive the manager call they are passed to.
//
// Thread safety: a view is used by one thread at a time.
#pragma once

#include <optional>
#include <string_view>

namespace sessionkit::http {

class RequestView {
 public:
  virtual ~RequestView() = default;
  virtual std::string_view method() const = 0;  // "GET", "POST", ...
  virtual std::string_view target() const = 0;  // origin-form request target, e.g. "/a?b=c"
  // First value of header `name` (case-insensitive), if present.
  virtual std::optional<std::string_view> header(std::string_view name) const = 0;
  // The client address as the server sees it (after any trusted-proxy processing), or "".
  virtual std::string_view peer_address() const = 0;
  // Whether the client reached us over TLS (directly or through a trusted proxy).
  virtual bool is_tls() const = 0;
};

class ResponseHeaders {
 public:
  virtual ~ResponseHeaders() = default;
  // Appends a header line (repeatable headers such as Set-Cookie).
  virtual void add(std::string_view name, std::string_view value) = 0;
  // Sets a header, replacing any previous value.
  virtual void set(std::string_view name, std::string_view value) = 0;
};

}  // namespace sessionkit::http
