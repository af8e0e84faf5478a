// The apps' response header writer (apps/common/http/http_io.h, serialize_header) against what
// Beast's own serializer writes for the same response, byte for byte.
#include <gtest/gtest.h>

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/serializer.hpp>
#include <string>

#include "common/http/http_io.h"

namespace sessionkit_apps::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

std::string beast_header(Response& res) {
  std::string out;
  bhttp::serializer<false, bhttp::string_body> sr(res);
  sr.split(true);
  boost::system::error_code ec;
  while (!ec && !sr.is_header_done()) {
    sr.next(ec, [&](boost::system::error_code&, const auto& buffers) {
      std::size_t n = 0;
      for (auto b : beast::buffers_range_ref(buffers)) {
        out.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      sr.consume(n);
    });
  }
  EXPECT_FALSE(ec) << ec.message();
  return out;
}

std::string ours(const Response& res) {
  std::string out = "left over from the previous response";
  serialize_header(res, out);
  return out;
}

TEST(SerializeHeader, WritesWhatBeastWritesForATypicalResponse) {
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::cache_control, "no-store");
  res.insert(bhttp::field::set_cookie, "sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax");
  res.insert(bhttp::field::set_cookie, "other=; Max-Age=0");
  res.set("X-Custom-Header", "");
  res.body() = R"({"ok":true})";
  res.keep_alive(true);
  res.prepare_payload();
  const std::string header = ours(res);
  EXPECT_EQ(header, beast_header(res));
  EXPECT_EQ(header,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/json\r\n"
            "Cache-Control: no-store\r\n"
            "Set-Cookie: sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax\r\n"
            "Set-Cookie: other=; Max-Age=0\r\n"
            "X-Custom-Header: \r\n"
            "Content-Length: 11\r\n"
            "\r\n");
}

TEST(SerializeHeader, WritesWhatBeastWritesForOtherVersionsStatusesAndReasons) {
  Response http10{bhttp::status::not_found, 10};
  http10.keep_alive(false);
  http10.prepare_payload();
  EXPECT_EQ(ours(http10), beast_header(http10));
  EXPECT_EQ(ours(http10).substr(0, 24), "HTTP/1.0 404 Not Found\r\n");

  Response custom{bhttp::status::service_unavailable, 11};
  custom.reason("Store Down");
  custom.set(bhttp::field::retry_after, "1");
  EXPECT_EQ(ours(custom), beast_header(custom));
  EXPECT_EQ(ours(custom).substr(0, 29), "HTTP/1.1 503 Store Down\r\nRetr");

  Response unknown{static_cast<bhttp::status>(599), 11};
  EXPECT_EQ(ours(unknown), beast_header(unknown));

  Response empty{bhttp::status::no_content, 11};
  EXPECT_EQ(ours(empty), "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(ours(empty), beast_header(empty));

  for (const auto s :
       {bhttp::status::continue_, bhttp::status::see_other, bhttp::status::bad_request,
        bhttp::status::forbidden, bhttp::status::payload_too_large,
        bhttp::status::too_many_requests, bhttp::status::internal_server_error}) {
    Response res{s, 11};
    res.set(bhttp::field::location, "/login?next=%2F");
    EXPECT_EQ(ours(res), beast_header(res)) << static_cast<unsigned>(s);
  }
}

}  // namespace
}  // namespace sessionkit_apps::http
