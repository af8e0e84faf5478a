// http_client.h — a small synchronous HTTP/1.1 client for the end-to-end tests (Boost.Beast).
//
// One keep-alive connection per client (reconnects when the server closed it), a cookie jar
// that applies Set-Cookie (Max-Age<=0 / Expires in the past delete), and a timeout on every
// exchange so a broken server fails the test instead of hanging it.
//
// Thread safety: one client per thread. Copying a client copies its cookie jar, not the
// connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace e2e {

namespace bhttp = boost::beast::http;
using Response = bhttp::response<bhttp::string_body>;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct SetCookieLine {
  std::string name;
  std::string value;
  std::string raw;       // the whole header value
  bool deletes = false;  // Max-Age<=0 or an Expires in the past
};

// Parses one Set-Cookie header value.
SetCookieLine parse_set_cookie(std::string_view header);

class CookieJar {
 public:
  void apply(const Response& res);  // every Set-Cookie of the response
  std::optional<std::string> get(const std::string& name) const;
  void set(const std::string& name, std::string value) { cookies_[name] = std::move(value); }
  void erase(const std::string& name) { cookies_.erase(name); }
  std::string header() const;  // "a=1; b=2" ("" when empty)

 private:
  std::map<std::string, std::string> cookies_;
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port) : port_(port) {}
  HttpClient(const HttpClient& other) : jar(other.jar), port_(other.port_) {}
  ~HttpClient();

  // Sends a request with Host, Cookie (from the jar) and `headers`; applies Set-Cookie.
  Response request(bhttp::verb method, const std::string& target, std::string body = {},
                   const Headers& headers = {});
  Response get(const std::string& target, const Headers& headers = {}) {
    return request(bhttp::verb::get, target, {}, headers);
  }
  // POST with Content-Type application/json, and X-CSRF-Token when `csrf` is not empty.
  Response post_json(const std::string& target, std::string body, const std::string& csrf);
  // POST with Content-Type application/x-www-form-urlencoded.
  Response post_form(const std::string& target, std::string body);

  // Writes raw bytes on a fresh connection and reads one response.
  Response raw(const std::string& bytes);
  // Writes raw bytes on a fresh connection and returns every byte the server sends until it
  // closes the connection (the bytes should end with a request that asks it to).
  std::string raw_until_close(const std::string& bytes);

  // Set-Cookie lines of the last response.
  const std::vector<SetCookieLine>& last_set_cookies() const { return last_set_cookies_; }
  // How many TCP connections this client has opened.
  int connects() const { return connects_; }
  void close();

  CookieJar jar;

 private:
  void connect();
  void write_raw(const std::string& bytes);
  Response read_response();
  template <class Op>
  void run(Op op);

  std::uint16_t port_;
  boost::asio::io_context ioc_;
  std::unique_ptr<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
  std::vector<SetCookieLine> last_set_cookies_;
  int connects_ = 0;
  std::chrono::seconds timeout_{30};
};

// "a+b%20c" style encoding of a form value.
std::string form_encode(std::string_view value);

}  // namespace e2e
