#include "common/http/http_io.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <tuple>
#include <type_traits>

#include "sessionkit/http/beast.h"

namespace sessionkit_apps::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

bool is_parse_error(const error_code& ec) {
  return &ec.category() == &bhttp::make_error_code(bhttp::error::bad_method).category();
}

}  // namespace

void serialize_header(const Response& res, std::string& out) {
  // What Beast's serializer writes for a response header: "HTTP/X.Y NNN reason", then each
  // field as "Name: value", every line ended by CRLF, and an empty line.
  const unsigned version = res.version();
  const unsigned code = res.result_int();
  const std::string_view reason = res.reason();
  out.clear();
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10 % 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
  out += ' ';
  out += static_cast<char>('0' + code / 100 % 10);
  out += static_cast<char>('0' + code / 10 % 10);
  out += static_cast<char>('0' + code % 10);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const auto& field : res) {
    const std::string_view name = field.name_string(), value = field.value();
    out.append(name.data(), name.size());
    out += ": ";
    out.append(value.data(), value.size());
    out += "\r\n";
  }
  out += "\r\n";
}

template <class Stream>
asio::awaitable<ReadOutcome> read_request(Stream& stream, beast::flat_buffer& buffer,
                                          RequestParser& parser, std::chrono::seconds idle_timeout,
                                          std::chrono::seconds header_timeout) {
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  // The header, parsed as it arrives (what http::async_read_header does, with two deadlines):
  // `idle_timeout` until the request's first byte, then `header_timeout` for the whole header.
  ReadOutcome out;
  error_code& ec = out.ec;
  bool header_deadline = false;
  tcp.expires_after(idle_timeout);
  for (;;) {
    if (buffer.size() > 0) {
      if (!header_deadline) {
        tcp.expires_after(header_timeout);
        header_deadline = true;
      }
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec != bhttp::error::need_more) break;  // the header is complete, or malformed
      ec = {};
    }
    const std::size_t room = beast::read_size(buffer, 65536);
    if (room == 0) {
      ec = bhttp::error::buffer_overflow;
      break;
    }
    auto [rec, rn] = co_await stream.async_read_some(buffer.prepare(room), use_tuple);
    buffer.commit(rn);
    if (rec == asio::error::eof) {
      if (parser.got_some()) {
        parser.put_eof(ec);  // partial_message
      } else {
        ec = bhttp::error::end_of_stream;
      }
      break;
    }
    if (rec) {
      ec = rec;
      break;
    }
  }
  if (ec) co_return out;
  // Framing that RFC 9112 answers with 400 and a closed connection: nothing after this header
  // is parsed (a body that is not one would otherwise run as the next request).
  out.framing = sessionkit::beast::framing_error(parser);
  if (out.framing) co_return out;
  if (!parser.is_done()) tcp.expires_after(idle_timeout);
  if (parser.get()[bhttp::field::expect] == "100-continue" && !parser.is_done()) {
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, parser.get().version()};
    std::tie(ec, std::ignore) = co_await bhttp::async_write(stream, cont, use_tuple);
  }
  if (!ec && !parser.is_done()) {
    std::tie(ec, std::ignore) = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
  }
  co_return out;
}

std::optional<Refusal> refusal(const ReadOutcome& read) {
  if (read.framing) return Refusal{.status = HttpStatus::bad_request, .reason = *read.framing};
  const error_code& ec = read.ec;
  if (ec == bhttp::error::header_limit) {
    return Refusal{.status = HttpStatus::request_header_fields_too_large,
                   .reason = "request header too large"};
  }
  if (ec == bhttp::error::body_limit) {
    return Refusal{.status = HttpStatus::payload_too_large, .reason = "request body too large"};
  }
  if (is_parse_error(ec) && ec != bhttp::error::end_of_stream &&
      ec != bhttp::error::partial_message) {
    return Refusal{.status = HttpStatus::bad_request, .reason = "malformed HTTP request"};
  }
  return std::nullopt;
}

template <class Stream>
asio::awaitable<void> close_connection(Stream& stream, bool lingering) {
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  error_code ignored;
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    if (!lingering) {
      tcp.expires_after(std::chrono::seconds(2));
      auto [ec] = co_await stream.async_shutdown(use_tuple);  // close_notify
      (void)ec;                                               // a client that has gone needs none
    }
  }
  tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (lingering) {
    tcp.expires_after(std::chrono::seconds(2));
    std::array<char, std::size_t{16} * 1024> sink;
    std::size_t drained = 0;
    while (drained < std::size_t{1024} * 1024) {
      auto [rec, rn] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
      if (rec) break;
      drained += rn;
    }
  }
  tcp.socket().close(ignored);
}

template asio::awaitable<ReadOutcome> read_request<beast::tcp_stream>(beast::tcp_stream&,
                                                                      beast::flat_buffer&,
                                                                      RequestParser&,
                                                                      std::chrono::seconds,
                                                                      std::chrono::seconds);
template asio::awaitable<ReadOutcome> read_request<TlsStream>(TlsStream&, beast::flat_buffer&,
                                                              RequestParser&, std::chrono::seconds,
                                                              std::chrono::seconds);
template asio::awaitable<void> close_connection<beast::tcp_stream>(beast::tcp_stream&, bool);
template asio::awaitable<void> close_connection<TlsStream>(TlsStream&, bool);

}  // namespace sessionkit_apps::http
