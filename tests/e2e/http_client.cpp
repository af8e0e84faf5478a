#include "e2e/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <stdexcept>

namespace e2e {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

}  // namespace

SetCookieLine parse_set_cookie(std::string_view header) {
  SetCookieLine line;
  line.raw = std::string(header);
  std::size_t semi = header.find(';');
  std::string_view pair = trim(header.substr(0, semi));
  std::size_t eq = pair.find('=');
  line.name = std::string(trim(pair.substr(0, eq)));
  line.value = eq == std::string_view::npos ? "" : std::string(trim(pair.substr(eq + 1)));
  std::string_view rest = semi == std::string_view::npos ? "" : header.substr(semi + 1);
  while (!rest.empty()) {
    std::size_t next = rest.find(';');
    std::string attr = lower(trim(rest.substr(0, next)));
    rest = next == std::string_view::npos ? "" : rest.substr(next + 1);
    if (attr.starts_with("max-age=")) {
      try {
        if (std::stoll(attr.substr(8)) <= 0) line.deletes = true;
      } catch (...) {
      }
    } else if (attr.starts_with("expires=") && attr.find("1970") != std::string::npos) {
      line.deletes = true;
    }
  }
  return line;
}

void CookieJar::apply(const Response& res) {
  for (const auto& field : res) {
    if (field.name() != bhttp::field::set_cookie) continue;
    SetCookieLine line = parse_set_cookie(field.value());
    if (line.deletes || line.value.empty()) {
      cookies_.erase(line.name);
    } else {
      cookies_[line.name] = line.value;
    }
  }
}

std::optional<std::string> CookieJar::get(const std::string& name) const {
  auto it = cookies_.find(name);
  if (it == cookies_.end()) return std::nullopt;
  return it->second;
}

std::string CookieJar::header() const {
  std::string out;
  for (const auto& [name, value] : cookies_) {
    if (!out.empty()) out += "; ";
    out += name + "=" + value;
  }
  return out;
}

HttpClient::~HttpClient() {
  close();
}

void HttpClient::close() {
  if (stream_) {
    error_code ignored;
    stream_->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_->socket().close(ignored);
    stream_.reset();
  }
}

template <class Op>
void HttpClient::run(Op op) {
  error_code result = asio::error::would_block;
  stream_->expires_after(timeout_);
  op([&result](error_code ec, std::size_t) { result = ec; });
  ioc_.restart();
  ioc_.run();
  if (result) throw boost::system::system_error(result);
}

void HttpClient::connect() {
  close();
  stream_ = std::make_unique<beast::tcp_stream>(ioc_);
  buffer_.clear();
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port_);
  error_code result = asio::error::would_block;
  stream_->expires_after(timeout_);
  stream_->async_connect(ep, [&result](error_code ec) { result = ec; });
  ioc_.restart();
  ioc_.run();
  if (result) throw boost::system::system_error(result, "connect");
  ++connects_;
}

Response HttpClient::read_response() {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  run([&](auto handler) { bhttp::async_read(*stream_, buffer_, parser, handler); });
  Response res = parser.release();
  last_set_cookies_.clear();
  for (const auto& field : res) {
    if (field.name() == bhttp::field::set_cookie) {
      last_set_cookies_.push_back(parse_set_cookie(field.value()));
    }
  }
  jar.apply(res);
  if (!res.keep_alive()) close();
  return res;
}

Response HttpClient::request(bhttp::verb method, const std::string& target, std::string body,
                             const Headers& headers) {
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port_));
  req.set(bhttp::field::user_agent, "sessionkit-e2e");
  if (std::string cookies = jar.header(); !cookies.empty()) req.set(bhttp::field::cookie, cookies);
  for (const auto& [name, value] : headers)
    req.set(name, value);
  req.body() = std::move(body);
  if (method != bhttp::verb::get || !req.body().empty()) req.prepare_payload();
  req.keep_alive(true);

  for (int attempt = 0;; ++attempt) {
    const bool reused = stream_ != nullptr;
    try {
      if (!stream_) connect();
      run([&](auto handler) { bhttp::async_write(*stream_, req, handler); });
      return read_response();
    } catch (const boost::system::system_error&) {
      close();
      // A kept-alive connection the server closed meanwhile: retry once on a fresh one.
      if (!reused || attempt > 0) throw;
    }
  }
}

Response HttpClient::post_json(const std::string& target, std::string body,
                               const std::string& csrf) {
  Headers headers{{"Content-Type", "application/json"}};
  if (!csrf.empty()) headers.emplace_back("X-CSRF-Token", csrf);
  return request(bhttp::verb::post, target, std::move(body), headers);
}

Response HttpClient::post_form(const std::string& target, std::string body) {
  return request(bhttp::verb::post, target, std::move(body),
                 {{"Content-Type", "application/x-www-form-urlencoded"}});
}

void HttpClient::write_raw(const std::string& bytes) {
  run([&](auto handler) { asio::async_write(*stream_, asio::buffer(bytes), handler); });
}

Response HttpClient::raw(const std::string& bytes) {
  connect();
  write_raw(bytes);
  return read_response();
}

std::string HttpClient::raw_until_close(const std::string& bytes) {
  connect();
  write_raw(bytes);
  std::string received;
  error_code result = asio::error::would_block;
  stream_->expires_after(timeout_);
  asio::async_read(*stream_, asio::dynamic_buffer(received),
                   [&result](error_code ec, std::size_t) { result = ec; });
  ioc_.restart();
  ioc_.run();
  close();
  if (result != asio::error::eof) throw boost::system::system_error(result, "read until close");
  return received;
}

std::string form_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace e2e
