// Compression at rest on the real stores (issue 17, deliverable 4), with the stores' own
// clients as witnesses: a 1 / 16 / 64 kB cart written through CompressedStore is, as redis-cli,
// psql and SQLite itself read it, a "z1." string several times shorter than the cart's JSON;
// it reads back whole through the decorator; and the same store read without the decorator
// shows the encoded text (the transformation is real). Then the demo runs with
// --compress-above, alone and under --encrypt-at-rest.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "e2e/api.h"
#include "e2e/demo_process.h"
#include "e2e/http_client.h"
#include "sessionkit/blocking_store.h"
#include "sessionkit/stores/compressed.h"
#include "sessionkit/stores/url.h"
#include "support/postgres_server.h"
#include "support/redis_server.h"
#include "support/server_process.h"

namespace e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using sessionkit::BlockingStore;
using sessionkit::CompressedStore;
using sessionkit::SessionKey;
using sessionkit::SessionRecord;
using sessionkit::testing::PostgresServer;
using sessionkit::testing::RedisServer;

// A cart whose compact JSON is about `bytes` long.
json cart(std::size_t bytes) {
  json lines = json::array();
  for (int i = 0; json({{"lines", lines}}).dump().size() < bytes; ++i) {
    lines.push_back({{"sku", "SKU-" + std::to_string(1000 + i)},
                     {"name", "Blue cotton shirt, size " + std::string(i % 2 ? "M" : "L")},
                     {"qty", 1 + i % 3},
                     {"price_cents", 1999 + i % 7 * 100}});
  }
  return {{"lines", lines}};
}

// What the store's own client reads for one payload value: its text as stored.
using RawValue = std::function<std::string(const SessionKey&)>;

// Writes a cart of each size through the decorator and checks the stored text.
void check_store(const std::string& url, const RawValue& raw) {
  auto backend = sessionkit::open_store_url(url);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  auto store = CompressedStore::wrap(backend->store);  // threshold 1 kB
  for (const std::size_t size : {1024u, 16u * 1024, 64u * 1024}) {
    SCOPED_TRACE(size);
    const json value = cart(size);
    const std::size_t plain = value.dump().size();
    const SessionKey key = SessionKey::of(sessionkit::SessionId::generate());
    SessionRecord r;
    r.start(sessionkit::SystemClock{}.now(), 30min, 12h);
    r.user_id = "alice";
    r.data = {{"cart", value}, {"n", 1}};
    ASSERT_TRUE(BlockingStore(*store).create(key, r).ok());
    const std::string stored = raw(key);
    EXPECT_TRUE(stored.starts_with("z1.")) << stored.substr(0, 80);
    EXPECT_LT(stored.size() * (size > 1024 ? 5 : 2), plain)
        << "stored " << stored.size() << " bytes for " << plain;
    EXPECT_EQ(BlockingStore(*store).load(key).value()->data["cart"], value);
    EXPECT_EQ(BlockingStore(*backend->store).load(key).value()->data["cart"], stored)
        << "without the decorator: the encoded text";
    sessionkit::SessionPatch half;
    half.set.emplace_back("cart", cart(size / 2));
    ASSERT_TRUE(BlockingStore(*store).patch(key, half).ok());
    EXPECT_EQ(BlockingStore(*store).load(key).value()->data["cart"], cart(size / 2));
  }
}

TEST(CompressionAtRest, SqliteRowsHoldTheCompressedText) {
  TempDir dir;
  const std::string db = (dir.path() / "s.db").string();
  check_store("sqlite://" + db, [&](const SessionKey& key) {
    sqlite3* h = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "SELECT json_extract(data, '$.cart') FROM sessions WHERE key = ?", -1,
                       &st, nullptr);
    sqlite3_bind_blob(st, 1, key.bytes().data(), static_cast<int>(key.bytes().size()),
                      SQLITE_TRANSIENT);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
  });
}

TEST(CompressionAtRest, RedisHashesHoldTheCompressedText) {
  RedisServer redis;
  check_store(redis.url(), [&](const SessionKey& key) {
    std::string name;
    std::istringstream keys(redis.cli({"--scan", "--pattern", "*" + key.hex() + "*"}));
    std::getline(keys, name);
    // The field holds the value's JSON: a JSON string.
    return json::parse(redis.cli({"HGET", name, "d:cart"})).get<std::string>();
  });
}

TEST(CompressionAtRest, PostgresRowsHoldTheCompressedText) {
  if (PostgresServer::bin_dir().empty()) GTEST_SKIP() << PostgresServer::missing_message();
  PostgresServer pg;
  TempDir dir;
  const std::string psql =
      sessionkit::testing::find_program({"/usr/bin/psql", PostgresServer::bin_dir() + "/psql"});
  ASSERT_FALSE(psql.empty()) << "psql is not installed";
  check_store(pg.url(), [&](const SessionKey& key) {
    auto r = sessionkit::testing::run_program(
        {psql, "-h", "127.0.0.1", "-p", std::to_string(pg.port()), "-U", "postgres", "-d",
         "postgres", "-At", "-c",
         "SELECT data->>'cart' FROM sessionkit_sessions WHERE key = '\\x" + key.hex() + "'"},
        dir.path());
    EXPECT_EQ(r.code, 0) << r.output;
    std::string out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
      out.pop_back();
    return out;
  });
}

// The demo with --compress-above, alone and inside --encrypt-at-rest: sign-in and counting work
// (its values are small and stay as they are).
TEST(CompressionAtRest, DemoRunsWithCompressAbove) {
  for (const bool encrypted : {false, true}) {
    SCOPED_TRACE(encrypted);
    TempDir dir;
    auto args = demo_args("sqlite://" + (dir.path() / "s.db").string());
    args.insert(args.end(),
                {"--compress-above", "64", "--encrypt-at-rest", encrypted ? "true" : "false"});
    DemoProcess demo(args, dir.path(), "demo");
    HttpClient c(demo.port());
    auto token = [&] { return body_json(c.get("/api/session")).value("csrf_token", ""); };
    auto post = [&](const std::string& target, const std::string& body) {
      return c.request(boost::beast::http::verb::post, target, body,
                       {{"Content-Type", "application/json"}, {"X-CSRF-Token", token()}});
    };
    ASSERT_EQ(post("/api/login", R"({"username":"alice","password":"wonderland"})").result_int(),
              200);
    ASSERT_EQ(post("/api/increment", "").result_int(), 200);
    EXPECT_EQ(body_json(c.get("/api/session"))["visits"], 1);
    EXPECT_EQ(demo.stop(), 0);
  }
}

}  // namespace
}  // namespace e2e
