// http_io.h — reading one request from a connection, what to refuse one that cannot be read
// with, the one-buffer response header, and the end of a connection, with the apps' server's
// limits and deadlines (private to the server: server.cpp runs the connection loop).
//
// `read_request` parses the header as it arrives under two deadlines (`idle_timeout` until the
// request's first byte, then `header_timeout` for the whole header), refuses a header whose
// framing RFC 9112 forbids before reading any body (sessionkit::beast::framing_error), honours
// `Expect: 100-continue`, then reads the body (each read under `idle_timeout`). `refusal` says
// how to answer a request that could not be read: 400 for refused framing or malformed input,
// 431 for a header over the parser's limit, 413 for a body over it; nothing when the client went
// away or timed out (the handler words the answer: Handler::refusal in server.h). After a
// refusal the connection is closed, lingering (`close_connection`).
//
// `Stream` is a plain connection (beast::tcp_stream) or a TLS one
// (beast::ssl_stream<beast::tcp_stream>); both are instantiated in http_io.cpp.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/http/message.h"

namespace sessionkit_apps::http {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

struct ReadOutcome {
  boost::system::error_code ec;
  std::optional<std::string_view> framing;  // why the header's framing is refused
};

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

template <class Stream>
boost::asio::awaitable<ReadOutcome> read_request(Stream& stream, boost::beast::flat_buffer& buffer,
                                                 RequestParser& parser,
                                                 std::chrono::seconds idle_timeout,
                                                 std::chrono::seconds header_timeout);

// Why a request is refused: the status to answer with and a short reason for the client.
struct Refusal {
  HttpStatus status;
  std::string_view reason;  // static text
};

// The refusal of a request `read_request` could not read; nullopt when there is none to give.
std::optional<Refusal> refusal(const ReadOutcome& read);

// The response's status line and header fields in one contiguous buffer (`out`, reused across
// a connection's requests), so that the response goes out in one plain gather write with the
// body. Beast's async_write presents the header as a buffer sequence of several pieces per field
// and walks it again on every write_some; this walks it once (docs/performance.md, "The
// one-buffer response write": healthz +42%, read +16%), by hand rather than through Beast's
// serializer, whose buffer views cost ~3% of a request ("Issue 19"). The bytes are the
// serializer's (tests/e2e/http_io_test.cpp compares them).
void serialize_header(const Response& res, std::string& out);

// Ends the connection: shuts the send side down (TLS: sends close_notify first, for at most
// 2 s); `lingering` (after a refusal), reads and discards what the client is still sending (at
// most 1 MiB for 2 s) so that closing with unread data does not reset the connection before the
// client has read the answer; closes the socket.
template <class Stream>
boost::asio::awaitable<void> close_connection(Stream& stream, bool lingering);

}  // namespace sessionkit_apps::http
