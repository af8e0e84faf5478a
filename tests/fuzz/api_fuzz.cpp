// libFuzzer target: sessiond's API (apps/sessiond) from the raw bytes of an HTTP request, as the
// server would hand it over: parsed by Beast with sessiond's limits, then answered by
// `Api::handle` on a memory store that holds one session, "fuzzfuzzfuzzfuzzfuzzfuzz", of user
// "fuzzer". The first input byte chooses the configuration: bit 0 set = no API key required
// (development mode; every route reachable), bit 1 = --allow-clear.
//
// Checks, for any input: nothing crashes, throws or leaks; the answer is never a 5xx (the
// memory store never fails); every answer but 204 and /metrics is a JSON object, and every
// 4xx names its error; a refused request (4xx) leaves the store exactly as it was (the seeded
// session's user and payload, and the number of sessions).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <nlohmann/json.hpp>

#include "api.h"
#include "call.h"
#include "sessionkit/stores/memory.h"

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace sk = sessionkit;

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::string_view kId = "fuzzfuzzfuzzfuzzfuzzfuzz";

// What a refused request must leave unchanged.
struct Snapshot {
  bool present = false;
  std::string user;
  nlohmann::json data;
  std::size_t count = 0;
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(sk::SessionStore& store, const sk::SessionKey& key) {
  Snapshot s;
  store.load(key, std::nullopt, [&](sk::Result<std::optional<sk::SessionRecord>> r) {
    check(r.ok());
    if (*r) {
      s.present = true;
      s.user = (*r)->user_id;
      s.data = (*r)->data;
    }
  });
  store.count([&](sk::Result<std::size_t> n) {
    check(n.ok());
    s.count = *n;
  });
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  spdlog::set_level(spdlog::level::off);  // "clear: n sessions ended" on every such input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view raw(reinterpret_cast<const char*>(data) + 1, size - 1);

  // The server's parse (apps/common/http): a whole request within sessiond's default limits.
  bhttp::request_parser<bhttp::string_body> parser;
  parser.eager(true);
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  boost::beast::error_code ec;
  const std::size_t used = parser.put(asio::buffer(raw.data(), raw.size()), ec);
  if (ec || !parser.is_done()) return 0;  // the server refuses or waits for more
  (void)used;
  sessiond::Request request = parser.release();

  auto store = std::make_shared<sk::MemoryStore>();
  const sk::SessionKey key = *sessiond::key_of_id(kId);
  sk::SessionRecord seeded;
  seeded.start(sk::system_clock().now(), std::chrono::minutes(30), std::chrono::hours(12));
  seeded.user_id = "fuzzer";
  seeded.data = {{"n", 1}, {"s", "text"}, {"list", {1, 2}}};
  store->create(key, seeded, [](sk::Status s) { check(s.ok()); });
  const Snapshot before = snapshot(*store, key);

  static const sessiond::ApiKeys keys(
      {{.name = "fuzz", .digest = sessiond::ApiKeys::digest_of("fuzz-api-key-0123456789")}});
  sessiond::ApiOptions options;
  options.require_key = (mode & 1) == 0;
  options.allow_clear = (mode & 2) != 0;
  sessiond::Api api(store, keys, options, nullptr);

  asio::io_context io;
  std::optional<sessiond::Response> response;
  const std::string peer = "127.0.0.1";
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { response = co_await api.handle(request, peer); },
      [](const std::exception_ptr& e) { check(!e); });
  io.run();
  check(response.has_value());

  const unsigned status = response->result_int();
  check(status >= 200 && status < 500);
  const bool metrics = request.target().starts_with("/metrics") && status == 200;
  if (status != 204 && !metrics && request.method() != bhttp::verb::head) {
    const auto body = nlohmann::json::parse(response->body(), nullptr, false);
    check(body.is_object());
    if (status >= 400) check(body.contains("error") && body["error"].is_string());
  }
  if (status >= 400) check(snapshot(*store, key) == before);
  return 0;
}
