// sessionctl export, import and migrate against real stores (issue 16, deliverable 1): records
// arrive exactly as they were (every field, values as stored, deadlines kept: redis-cli sees the
// remaining TTL), a second run duplicates nothing, --on-conflict decides for records that
// differ, bad export files are refused with the line named, a dry run writes nothing, a
// migration killed with SIGKILL resumes from its cursor file and loses nothing, and users stay
// signed in through the demo on the new store.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "e2e/api.h"
#include "e2e/demo_process.h"
#include "e2e/http_client.h"
#include "e2e/sessionctl_run.h"
#include "sessionkit/blocking_store.h"
#include "sessionkit/stores/encrypted.h"
#include "sessionkit/stores/url.h"
#include "support/postgres_server.h"
#include "support/redis_server.h"
#include "support/server_process.h"

namespace e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace sk = sessionkit;

constexpr const char* kSecret = "sessionctl-transfer-secret-0123456789abcdef";

std::shared_ptr<sk::SessionStore> open(const std::string& url) {
  auto backend = sk::open_store_url(url);
  EXPECT_TRUE(backend.ok()) << url << ": " << backend.status().message();
  return backend.ok() ? backend->store : nullptr;
}

// `n` sessions of every shape: bound and anonymous, with and without an authentication time,
// client info, nested payloads, unicode; every fifth one's values sealed by EncryptedStore (as
// an app with --encrypt-at-rest writes them). Answers them by key.
std::map<std::string, sk::SessionRecord> seed(const std::shared_ptr<sk::SessionStore>& store,
                                              int n) {
  auto sealed = sk::EncryptedStore::wrap(store, sk::Keyring::parse(kSecret).value());
  std::map<std::string, sk::SessionRecord> written;
  const sk::Time now = sk::SystemClock{}.now();
  for (int i = 0; i < n; ++i) {
    const sk::SessionKey key = sk::SessionKey::of(sk::SessionId::generate());
    sk::SessionRecord r;
    r.start(now - std::chrono::seconds(i), 30min + std::chrono::seconds(i), 12h);
    if (i % 3 != 0) r.user_id = "user-" + std::to_string(i % 17);
    if (i % 4 == 0) r.auth_at = now - std::chrono::seconds(i);
    r.ip = "203.0.113." + std::to_string(i % 250);
    r.user_agent = "Transfer/" + std::to_string(i);
    r.data = {{"n", i}, {"cart", {{"items", {i, i + 1}}, {"note", "caf\u00e9 \u2615"}}}};
    sk::SessionStore& via = i % 5 == 0 ? static_cast<sk::SessionStore&>(*sealed) : *store;
    EXPECT_TRUE(sk::BlockingStore(via).create(key, r).ok());
    written[key.hex()] = *sk::BlockingStore(*store).load(key).value();  // as stored
  }
  return written;
}

// Every record of `want` is in `store`, exactly; and `store` holds nothing else.
void expect_holds(sk::SessionStore& store, const std::map<std::string, sk::SessionRecord>& want) {
  std::size_t seen = 0;
  std::string cursor;
  do {
    auto page = sk::BlockingStore(store).scan(cursor, 500);
    ASSERT_TRUE(page.ok()) << page.status().message();
    for (const sk::StoredSession& s : page->sessions) {
      ++seen;
      auto it = want.find(s.key.hex());
      ASSERT_NE(it, want.end()) << "a session the source never had: " << s.key.hint();
      EXPECT_EQ(s.record, it->second) << "session " << s.key.hint() << " differs";
    }
    cursor = page->next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(seen, want.size());
}

TEST(SessionctlTransfer, ExportImportSqliteToRedisKeepsEveryField) {
  TempDir dir;
  sk::testing::RedisServer redis;
  const std::string from = "sqlite://" + (dir.path() / "s.db").string();
  const auto source = open(from);
  const auto written = seed(source, 120);
  const std::string file = (dir.path() / "sessions.jsonl").string();

  Ran exported = run_sessionctl(dir, {"--store", from, "export", "-o", file, "--json"});
  ASSERT_EQ(exported.code, 0) << exported.output;
  EXPECT_EQ(exported.doc["sessions"], 120);
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  ASSERT_EQ(lines.size(), 122u) << "header, 120 sessions, end";
  EXPECT_EQ(json::parse(lines.front())["sessionkit_export"], 1);
  EXPECT_EQ(json::parse(lines.back()), json({{"end", true}, {"sessions", 120}}));
  EXPECT_FALSE(std::filesystem::exists(file + ".part"));

  Ran imported = run_sessionctl(dir, {"--store", redis.url(), "import", "-i", file, "--json"});
  ASSERT_EQ(imported.code, 0) << imported.output;
  EXPECT_EQ(imported.doc["copied"], 120) << imported.output;
  const auto target = open(redis.url());
  expect_holds(*target, written);
  // The deadline came along: redis-cli sees a TTL near what the source had left.
  const auto& [hex, record] = *written.begin();
  std::istringstream keys(redis.cli({"--scan", "--pattern", "*" + hex + "*"}));
  std::string name;
  std::getline(keys, name);
  const long ttl_ms = std::stol(redis.cli({"PTTL", name}));
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(record.expires_at -
                                                                          sk::SystemClock{}.now());
  EXPECT_GT(ttl_ms, left.count() - 60'000) << name;
  EXPECT_LE(ttl_ms, left.count() + 1'000) << name;

  // A second import duplicates nothing and changes nothing.
  Ran again = run_sessionctl(dir, {"--store", redis.url(), "import", "-i", file, "--json"});
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_EQ(again.doc["copied"], 0);
  EXPECT_EQ(again.doc["already_there"], 120) << again.output;
  expect_holds(*target, written);
  // The sealed values still open with the apps' secret on the new store.
  auto sealed = sk::EncryptedStore::wrap(target, sk::Keyring::parse(kSecret).value());
  int opened_count = 0;
  for (const auto& [key_hex, r] : written) {
    if (!r.data["cart"].is_string()) continue;  // written in clear: EncryptedStore refuses it
    ++opened_count;
    auto opened = sk::BlockingStore(*sealed).load(*sk::SessionKey::from_hex(key_hex));
    ASSERT_TRUE(opened.ok() && opened->has_value()) << opened.status().message();
    EXPECT_EQ((**opened).data["cart"]["note"], "caf\u00e9 \u2615");
    EXPECT_EQ((**opened).ip.substr(0, 10), "203.0.113.");
  }
  EXPECT_EQ(opened_count, 24) << "every fifth session was sealed";
}

// When the target holds a key with other contents: skip keeps it, newer keeps the one used
// last, fail stops with exit code 5; a dry run counts and writes nothing.
TEST(SessionctlTransfer, OnConflictDecidesForRecordsThatDiffer) {
  TempDir dir;
  const std::string from = "sqlite://" + (dir.path() / "from.db").string();
  const std::string to = "sqlite://" + (dir.path() / "to.db").string();
  const auto source = open(from);
  const auto target = open(to);
  auto written = seed(source, 3);
  auto it = written.begin();
  const sk::SessionKey older = *sk::SessionKey::from_hex(it->first);
  const sk::SessionKey newer = *sk::SessionKey::from_hex((++it)->first);
  sk::SessionRecord r = written[older.hex()];
  r.last_access -= 1min;  // the target's copy was used before the source's
  r.data["mark"] = "target-older";
  ASSERT_TRUE(sk::BlockingStore(*target).create(older, r).ok());
  r = written[newer.hex()];
  r.last_access += 1s;  // the target's copy was used after the source's
  r.data["mark"] = "target-newer";
  ASSERT_TRUE(sk::BlockingStore(*target).create(newer, r).ok());
  auto mark = [&](const sk::SessionKey& k) {
    return sk::BlockingStore(*target).load(k).value()->data.value("mark", "");
  };

  Ran dry = run_sessionctl(dir, {"--store", from, "migrate", "--to", to, "--dry-run",
                                 "--on-conflict", "newer", "--json"});
  ASSERT_EQ(dry.code, 0) << dry.output;
  EXPECT_EQ(dry.doc["copied"], 1) << dry.output;
  EXPECT_EQ(dry.doc["replaced"], 1);
  EXPECT_EQ(dry.doc["kept_target"], 1);
  EXPECT_EQ(sk::BlockingStore(*target).count().value(), 2u) << "a dry run writes nothing";
  EXPECT_EQ(mark(older), "target-older");

  Ran failed = run_sessionctl(
      dir, {"--store", from, "migrate", "--to", to, "--on-conflict", "fail", "--parallel", "1"});
  EXPECT_EQ(failed.code, 5) << failed.output;
  EXPECT_NE(failed.err.find("already in the target"), std::string::npos) << failed.output;
  EXPECT_EQ(mark(older), "target-older");
  EXPECT_EQ(mark(newer), "target-newer");

  Ran skipped = run_sessionctl(dir, {"--store", from, "migrate", "--to", to, "--json"});
  ASSERT_EQ(skipped.code, 0) << skipped.output;
  EXPECT_EQ(skipped.doc["kept_target"], 2) << skipped.output;
  EXPECT_EQ(mark(older), "target-older");

  Ran newest = run_sessionctl(
      dir, {"--store", from, "migrate", "--to", to, "--on-conflict", "newer", "--json"});
  ASSERT_EQ(newest.code, 0) << newest.output;
  EXPECT_EQ(newest.doc["replaced"], 1) << newest.output;
  EXPECT_EQ(newest.doc["kept_target"], 1);
  EXPECT_EQ(mark(older), "") << "replaced by the source's newer record";
  EXPECT_EQ(sk::BlockingStore(*target).load(older).value(), written[older.hex()]);
  EXPECT_EQ(mark(newer), "target-newer") << "a newer record is never overwritten";
}

// Files that are not a whole, well-formed export are refused with the line named; what came
// before a bad line in earlier batches stays imported, nothing of the bad batch is written.
TEST(SessionctlTransfer, BadExportsAreRefusedWithTheLineNamed) {
  TempDir dir;
  const std::string from = "sqlite://" + (dir.path() / "from.db").string();
  seed(open(from), 4);
  const std::string good = (dir.path() / "good.jsonl").string();
  ASSERT_EQ(run_sessionctl(dir, {"--store", from, "export", "-o", good}).code, 0);
  std::vector<std::string> lines;
  {
    std::ifstream in(good);
    for (std::string line; std::getline(in, line);)
      lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 6u);
  auto write = [&](const std::string& name, const std::vector<std::string>& body) {
    std::ofstream out(dir.path() / name);
    for (const std::string& l : body)
      out << l << '\n';
    return (dir.path() / name).string();
  };
  int n = 0;
  auto import = [&](const std::string& file, const std::string& expect_in_message,
                    std::size_t expect_stored) {
    const std::string to =
        "sqlite://" + (dir.path() / ("to" + std::to_string(n++) + ".db")).string();
    Ran r = run_sessionctl(dir, {"--store", to, "import", "-i", file, "--batch", "2"});
    EXPECT_EQ(r.code, 4) << file << ": " << r.output;
    EXPECT_NE(r.err.find(expect_in_message), std::string::npos) << file << ": " << r.output;
    EXPECT_EQ(sk::BlockingStore(*open(to)).count().value(), expect_stored) << file;
  };
  std::vector<std::string> bad = lines;
  bad[4] = R"({"key":"zz","record":{}})";
  import(write("badkey.jsonl", bad), "line 5: \"key\"", 2);
  bad = lines;
  bad[3] = R"({"key":")" + std::string(64, 'a') + R"(","record":{"v":2}})";
  import(write("badrecord.jsonl", bad), "line 4: unsupported record version", 2);
  bad = lines;
  bad[2] = "{not json";
  import(write("notjson.jsonl", bad), "line 3: not a JSON object", 0);
  bad = lines;
  bad.pop_back();
  import(write("truncated.jsonl", bad), "without its end line: truncated", 4);
  bad = lines;
  bad.back() = R"({"end":true,"sessions":5})";
  import(write("count.jsonl", bad), "the file holds 4", 4);
  bad = lines;
  bad.push_back(lines[1]);
  import(write("after.jsonl", bad), "more lines after the end line", 4);
  bad = lines;
  bad.front() = R"({"sessionkit_export":2})";
  import(write("version.jsonl", bad), "line 1: export format version 2", 0);
  import(write("empty.jsonl", {}), "not a sessionkit export", 0);
  import(write("other.jsonl", {R"({"hello":"world"})"}), "not a sessionkit export", 0);
}

// migrate with the 2-node-plus cluster and PostgreSQL as targets: everything arrives, and a
// second run (the same cursor file) says it is complete.
void migrate_to(const std::string& to) {
  TempDir dir;
  const std::string from = "sqlite://" + (dir.path() / "from.db").string();
  const auto written = seed(open(from), 300);
  const std::string cursor = (dir.path() / "cursor.json").string();
  Ran ran = run_sessionctl(dir, {"--store", from, "migrate", "--to", to, "--cursor-file", cursor,
                                 "--batch", "64", "--json"});
  ASSERT_EQ(ran.code, 0) << ran.output;
  EXPECT_EQ(ran.doc["copied"], 300) << ran.output;
  expect_holds(*open(to), written);
  Ran again = run_sessionctl(
      dir, {"--store", from, "migrate", "--to", to, "--cursor-file", cursor, "--json"});
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_EQ(again.doc["done"], true) << again.output;
  EXPECT_NE(again.err.find("complete"), std::string::npos);
  // The cursor file belongs to this pair of stores.
  Ran other =
      run_sessionctl(dir, {"--store", from, "migrate", "--to",
                           "sqlite://" + (dir.path() / "x.db").string(), "--cursor-file", cursor});
  EXPECT_EQ(other.code, 2) << other.output;
  EXPECT_NE(other.err.find("belongs to the migration"), std::string::npos) << other.output;
}

TEST(SessionctlTransfer, MigrateSqliteToRedisCluster) {
  sk::testing::RedisCluster cluster;
  migrate_to(cluster.url());
}

TEST(SessionctlTransfer, MigrateSqliteToPostgres) {
  using sk::testing::PostgresServer;
  if (PostgresServer::bin_dir().empty()) GTEST_SKIP() << PostgresServer::missing_message();
  PostgresServer pg;
  migrate_to(pg.url());
}

// kill -9 in the middle of a migration, then the same command: every session arrives once,
// none is lost, and the progress lines (stderr is not a terminal) came out as it ran.
TEST(SessionctlTransfer, MigrateResumesAfterKill9) {
  TempDir dir;
  sk::testing::RedisServer redis;
  const std::string from = "sqlite://" + (dir.path() / "from.db").string();
  const auto written = seed(open(from), 1500);
  const std::string cursor = (dir.path() / "cursor.json").string();
  const std::vector<std::string> args = {
      SESSIONCTL_BINARY, "--store",       from,   "migrate", "--to",
      redis.url(),       "--cursor-file", cursor, "--batch", "50"};
  {
    std::vector<std::string> slow = args;
    slow.insert(slow.end(), {"--rate", "500", "--progress-interval", "0.2"});
    sk::testing::ServerProcess run(slow, dir.path(), "migrate",
                                   sk::testing::ServerProcess::RunAs::caller);
    // Wait until some pages are done, then kill it mid-page.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    std::size_t done = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(cursor);
      json j = json::parse(in, nullptr, false);
      if (!j.is_discarded() && j.is_object()) done = j["counts"]["read"].get<std::size_t>();
      if (done >= 400) break;
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_GE(done, 400u) << run.output();
    std::this_thread::sleep_for(37ms);  // inside a page
    EXPECT_EQ(run.stop(0ms, SIGKILL), 128 + SIGKILL);
    EXPECT_NE(run.output().find("sessions"), std::string::npos) << "progress lines";
  }
  const std::size_t stored = sk::BlockingStore(*open(redis.url())).count().value();
  EXPECT_LT(stored, 1500u) << "killed before the end";
  EXPECT_GE(stored, 400u);

  std::vector<std::string> resume(args.begin() + 1, args.end());
  resume.push_back("--json");
  Ran ran = run_sessionctl(dir, resume);
  ASSERT_EQ(ran.code, 0) << ran.output;
  EXPECT_EQ(ran.doc["resumed"], true);
  EXPECT_NE(ran.err.find("resuming the migration"), std::string::npos) << ran.output;
  // The page in flight at the kill was done again: its sessions were found already there.
  EXPECT_EQ(ran.doc["copied"].get<std::size_t>() + ran.doc["already_there"].get<std::size_t>(),
            1500u)
      << ran.output;
  EXPECT_EQ(ran.doc["kept_target"], 0);
  expect_holds(*open(redis.url()), written);
}

// The target goes down in the middle: exit 3 (never a silent partial copy), the cursor file
// keeps the last page done, and the same command finishes the job once the target is back.
TEST(SessionctlTransfer, ATargetOutageStopsWithExitThreeAndTheSameCommandResumes) {
  TempDir dir;
  sk::testing::RedisServerOptions durable;
  durable.appendfsync_always = true;  // what was copied survives the restart
  sk::testing::RedisServer redis(durable);
  const std::string from = "sqlite://" + (dir.path() / "from.db").string();
  const auto written = seed(open(from), 600);
  const std::string cursor = (dir.path() / "cursor.json").string();
  const std::vector<std::string> args = {
      SESSIONCTL_BINARY, "--store", from,      "migrate", "--to",   redis.url(),
      "--cursor-file",   cursor,    "--batch", "50",      "--rate", "300"};
  sk::testing::ServerProcess run(args, dir.path(), "migrate",
                                 sk::testing::ServerProcess::RunAs::caller);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  std::size_t done = 0;
  while (done < 200 && std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(cursor);
    json j = json::parse(in, nullptr, false);
    if (!j.is_discarded() && j.is_object()) done = j["counts"]["read"].get<std::size_t>();
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GE(done, 200u) << run.output();
  redis.stop();
  const auto code = sk::testing::wait_for_exit(run.pid(), 60s);
  ASSERT_TRUE(code.has_value()) << run.output();
  EXPECT_EQ(*code, 3) << run.output();
  EXPECT_NE(run.output().find("run the same command again to resume"), std::string::npos)
      << run.output();
  redis.start();
  std::vector<std::string> again(args.begin() + 1, args.end() - 2);  // without --rate
  again.push_back("--json");
  Ran resumed = run_sessionctl(dir, again);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_EQ(resumed.doc["resumed"], true);
  expect_holds(*open(redis.url()), written);
}

// On a terminal (a pseudo-terminal from script(1)), the progress is a bar redrawn in place,
// with the percentage and the time left.
TEST(SessionctlTransfer, ProgressBarOnATerminal) {
  const std::string script = sk::testing::find_program({"/usr/bin/script", "/bin/script"});
  if (script.empty()) GTEST_SKIP() << "script(1) (bsdutils) is not installed";
  TempDir dir;
  const std::string from = "sqlite://" + (dir.path() / "from.db").string();
  seed(open(from), 400);
  const std::string to = "sqlite://" + (dir.path() / "to.db").string();
  auto r = sk::testing::run_program({script, "-qfec",
                                     std::string(SESSIONCTL_BINARY) + " --store " + from +
                                         " migrate --to " + to + " --rate 400 --batch 20",
                                     "/dev/null"},
                                    dir.path());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.out.find("\r\033[Kmigrate  [#"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ETA 0:0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[########################]  100.0%  400/400 sessions"), std::string::npos)
      << r.out;
  EXPECT_EQ(sk::BlockingStore(*open(to)).count().value(), 400u);
}

// Users signed in on the demo over SQLite are still signed in, with the same session, on the
// demo over Redis after the migration (the cookie and the secret stay).
TEST(SessionctlTransfer, UsersStaySignedInThroughTheDemoOnTheNewStore) {
  TempDir dir;
  sk::testing::RedisServer redis;
  const std::string from = "sqlite://" + (dir.path() / "demo.db").string();
  std::vector<HttpClient> users;
  std::vector<json> before;
  {
    DemoProcess demo(demo_args(from), dir.path(), "demo-sqlite");
    for (const char* name : {"alice", "bob"}) {
      HttpClient c(demo.port());
      ASSERT_EQ(
          login(c, name, name == std::string("alice") ? "wonderland" : "builder").result_int(),
          200u);
      for (int i = 0; i < 3; ++i)
        ASSERT_EQ(c.post_json("/api/increment", "", csrf(c)).result_int(), 200u);
      json s = body_json(c.get("/api/session"));
      s.erase("csrf_token");
      before.push_back(s);
      users.push_back(c);
    }
    EXPECT_EQ(demo.stop(), 0);
  }
  Ran ran = run_sessionctl(dir, {"--store", from, "migrate", "--to", redis.url(), "--json"});
  ASSERT_EQ(ran.code, 0) << ran.output;
  EXPECT_GE(ran.doc["copied"].get<int>(), 2) << ran.output;
  DemoProcess demo(demo_args(redis.url()), dir.path(), "demo-redis");
  for (std::size_t i = 0; i < users.size(); ++i) {
    HttpClient c(demo.port());
    c.jar = users[i].jar;
    json s = body_json(c.get("/api/session"));
    s.erase("csrf_token");
    EXPECT_EQ(s, before[i]) << "the same session answers the same on the new store";
    EXPECT_EQ(s["authenticated"], true);
    EXPECT_EQ(body_json(c.post_json("/api/increment", "", csrf(c)))["visits"],
              before[i]["visits"].get<int>() + 1);
  }
  EXPECT_EQ(demo.stop(), 0);
}

// The cut-over without a pause (docs/operations.md): the apps move to Redis with the SQLite
// store as their fallback, and `sessionctl migrate` copies the rest while users keep counting
// and some sign out. Afterwards, on Redis alone: every signed-in user is still signed in with
// every increment counted, and nobody who signed out is signed in again.
TEST(SessionctlTransfer, CutOverWithoutAPause) {
  TempDir dir;
  sk::testing::RedisServer redis;
  const std::string old_store = "sqlite://" + (dir.path() / "old.db").string();
  struct User {
    std::unique_ptr<HttpClient> client;
    int visits = 0;
    bool signed_out = false;
    decltype(HttpClient::jar) before_signing_out{};  // the cookie a thief may have copied
  };
  std::vector<User> users;
  {
    DemoProcess old_demo(demo_args(old_store), dir.path(), "demo-old");
    for (int i = 0; i < 12; ++i) {
      HttpClient c(old_demo.port());
      const bool alice = i % 2 == 0;
      ASSERT_EQ(login(c, alice ? "alice" : "bob", alice ? "wonderland" : "builder").result_int(),
                200u);
      for (int k = 0; k <= i % 3; ++k)
        ASSERT_EQ(c.post_json("/api/increment", "", csrf(c)).result_int(), 200u);
      users.push_back({std::make_unique<HttpClient>(c), i % 3 + 1});
    }
    // The rollout: the new configuration is up before the old one goes.
    auto args = demo_args(redis.url());
    args.insert(args.end(), {"--fallback-store", old_store});
    DemoProcess moving(args, dir.path(), "demo-moving");
    EXPECT_EQ(old_demo.stop(), 0);
    for (User& u : users) {
      auto c = std::make_unique<HttpClient>(moving.port());
      c->jar = u.client->jar;
      u.client = std::move(c);
    }
    // Half the users come back before the migration starts (copied on first use).
    for (std::size_t i = 0; i < users.size(); i += 2) {
      ASSERT_EQ(
          users[i].client->post_json("/api/increment", "", csrf(*users[i].client)).result_int(),
          200u);
      ++users[i].visits;
    }
    sk::testing::ServerProcess migrate(
        {SESSIONCTL_BINARY, "--store", old_store, "migrate", "--to", redis.url(), "--rate", "4",
         "--batch", "64", "--parallel", "1"},
        dir.path(), "migrate", sk::testing::ServerProcess::RunAs::caller);
    // While it runs: every user counts; every third signs out.
    for (int round = 0; round < 4; ++round) {
      for (std::size_t i = 0; i < users.size(); ++i) {
        User& u = users[i];
        if (u.signed_out) continue;
        if (round == 1 && i % 3 == 1) {
          u.before_signing_out = u.client->jar;
          ASSERT_EQ(u.client->post_json("/api/logout", "", csrf(*u.client)).result_int(), 200u);
          u.signed_out = true;
          continue;
        }
        Response r = u.client->post_json("/api/increment", "", csrf(*u.client));
        ASSERT_EQ(r.result_int(), 200u) << r.body();
        EXPECT_EQ(body_json(r)["visits"], ++u.visits);
      }
      std::this_thread::sleep_for(300ms);
    }
    const auto done = sk::testing::wait_for_exit(migrate.pid(), 60s);
    ASSERT_TRUE(done.has_value()) << migrate.output();
    EXPECT_EQ(*done, 0) << migrate.output();
    EXPECT_EQ(moving.stop(), 0);
  }
  // Redis alone now.
  DemoProcess after(demo_args(redis.url()), dir.path(), "demo-after");
  for (User& u : users) {
    HttpClient c(after.port());
    c.jar = u.signed_out ? u.before_signing_out : u.client->jar;
    const json s = body_json(c.get("/api/session"));
    if (u.signed_out) {
      EXPECT_EQ(s["authenticated"], false) << "the session signed out from stays ended";
      continue;
    }
    EXPECT_EQ(s["authenticated"], true);
    EXPECT_EQ(s["visits"], u.visits) << "every increment counted, none lost";
  }
  EXPECT_EQ(after.stop(), 0);
}

}  // namespace
}  // namespace e2e
