// Encryption at rest through the demo (issue 17, deliverable 3), with the stores' own clients as
// witnesses: the SQLite file's bytes (and its WAL), every Redis key through redis-cli, every
// PostgreSQL row through psql. Alice signs in with a marked User-Agent and counts visits; the
// dump must not contain her payload values ({"name":"alice"}), the User-Agent or the client
// address. The same run without --encrypt-at-rest shows all three: the grep can see them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e/api.h"
#include "e2e/demo_process.h"
#include "e2e/http_client.h"
#include "support/postgres_server.h"
#include "support/redis_server.h"
#include "support/server_process.h"

namespace e2e {
namespace {

using nlohmann::json;
using sessionkit::testing::PostgresServer;
using sessionkit::testing::RedisServer;

constexpr const char* kAgent = "MarkedAgent/7.7 (encryption-at-rest test)";

// Alice signs in with the marked User-Agent and counts three visits.
void use(DemoProcess& demo) {
  HttpClient c(demo.port());
  const Headers agent{{"User-Agent", kAgent}};
  auto token = [&] { return body_json(c.get("/api/session", agent)).value("csrf_token", ""); };
  auto post = [&](const std::string& target, const std::string& body) {
    Headers h = agent;
    h.emplace_back("Content-Type", "application/json");
    h.emplace_back("X-CSRF-Token", token());
    return c.request(boost::beast::http::verb::post, target, body, h);
  };
  ASSERT_EQ(post("/api/login", R"({"username":"alice","password":"wonderland"})").result_int(),
            200);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(post("/api/increment", "").result_int(), 200);
  EXPECT_EQ(body_json(c.get("/api/session", agent))["visits"], 3) << "the app reads what it wrote";
}

// What a dump must not show with encryption on, and shows without it.
void expect_hidden(const std::string& dump, bool encrypted) {
  ASSERT_FALSE(dump.empty());
  EXPECT_NE(dump.find("alice"), std::string::npos) << "the user id stays in clear (the index)";
  // PostgreSQL prints jsonb with a space after each colon: JSON is matched without spaces.
  std::string squeezed = dump;
  std::erase(squeezed, ' ');
  const std::pair<const char*, const std::string*> secrets[] = {
      {R"({"name":"alice"})", &squeezed}, {kAgent, &dump}, {"127.0.0.1", &dump}};
  for (const auto& [secret, text] : secrets) {
    if (encrypted) {
      EXPECT_EQ(text->find(secret), std::string::npos) << secret << " in\n" << dump.substr(0, 4000);
    } else {
      EXPECT_NE(text->find(secret), std::string::npos) << secret << " in\n" << dump.substr(0, 4000);
    }
  }
  if (encrypted) {
    EXPECT_NE(dump.find("e1."), std::string::npos) << "sealed values";
  }
}

std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class EncryptionAtRest : public ::testing::TestWithParam<bool> {};

TEST_P(EncryptionAtRest, SqliteFileShowsNoPayloadValue) {
  const bool on = GetParam();
  TempDir dir;
  const auto db = dir.path() / "s.db";
  auto args = demo_args("sqlite://" + db.string());
  args.insert(args.end(), {"--encrypt-at-rest", on ? "true" : "false"});
  DemoProcess demo(args, dir.path(), "demo");
  use(demo);
  EXPECT_EQ(demo.stop(), 0);
  std::string dump = file_bytes(db);
  if (std::filesystem::exists(dir.path() / "s.db-wal")) dump += file_bytes(dir.path() / "s.db-wal");
  expect_hidden(dump, on);
}

TEST_P(EncryptionAtRest, RedisKeysShowNoPayloadValue) {
  const bool on = GetParam();
  RedisServer redis;
  TempDir dir;
  auto args = demo_args(redis.url());
  args.insert(args.end(), {"--encrypt-at-rest", on ? "true" : "false"});
  DemoProcess demo(args, dir.path(), "demo");
  use(demo);
  std::string dump;
  std::istringstream keys(redis.cli({"--scan"}));
  for (std::string key; std::getline(keys, key);) {
    if (key.empty()) continue;
    const std::string type = redis.cli({"TYPE", key});
    dump += key + " (" + type + ")\n";
    if (type == "hash") dump += redis.cli({"HGETALL", key}) + "\n";
    if (type == "string") dump += redis.cli({"GET", key}) + "\n";
    if (type == "set") dump += redis.cli({"SMEMBERS", key}) + "\n";
    if (type == "zset") dump += redis.cli({"ZRANGE", key, "0", "-1"}) + "\n";
  }
  EXPECT_EQ(demo.stop(), 0);
  expect_hidden(dump, on);
}

TEST_P(EncryptionAtRest, PostgresRowsShowNoPayloadValue) {
  if (PostgresServer::bin_dir().empty()) GTEST_SKIP() << PostgresServer::missing_message();
  const bool on = GetParam();
  PostgresServer pg;
  TempDir dir;
  auto args = demo_args(pg.url() + "?connect_timeout=2");
  args.insert(args.end(), {"--encrypt-at-rest", on ? "true" : "false"});
  DemoProcess demo(args, dir.path(), "demo");
  use(demo);
  EXPECT_EQ(demo.stop(), 0);
  const std::string psql =
      sessionkit::testing::find_program({"/usr/bin/psql", PostgresServer::bin_dir() + "/psql"});
  ASSERT_FALSE(psql.empty()) << "psql is not installed";
  auto r = sessionkit::testing::run_program(
      {psql, "-h", "127.0.0.1", "-p", std::to_string(pg.port()), "-U", "postgres", "-d", "postgres",
       "-At", "-c", "SELECT * FROM sessionkit_sessions"},
      dir.path());
  ASSERT_EQ(r.code, 0) << r.output;
  expect_hidden(r.output, on);
}

INSTANTIATE_TEST_SUITE_P(OnAndOff, EncryptionAtRest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

}  // namespace
}  // namespace e2e
