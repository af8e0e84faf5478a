// PostgresStore beyond the shared contract, against a real server: schema and versioning,
// several stores and processes on one table, what is at rest, text and number rules, the
// server going away and coming back, timeouts, the queue, threads and shutdown.
#include <libpq-fe.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "contract/store_harness.h"
#include "sessionkit/stores/postgres.h"
#include "support/postgres_server.h"

// The conformance suite against PostgresStore: a fresh table per test in the process-wide
// PostgreSQL server (started on first use); skipped when the server binaries are not installed.
namespace sessionkit::testing {
namespace {
struct PostgresTraits {
  static std::string skip_reason() {
    return PostgresServer::bin_dir().empty() ? PostgresServer::missing_message() : "";
  }
  static std::shared_ptr<SessionStore> make(const Clock& clock) {
    auto opened = PostgresStore::open({.conninfo = PostgresServer::shared().conninfo(),
                                       .table = PostgresServer::fresh_table(),
                                       .pool_size = 4,
                                       .clock = &clock});
    if (!opened) throw std::runtime_error("PostgresStore::open: " + opened.status().to_string());
    return std::move(*opened);
  }
};
[[maybe_unused]] const bool kRegistered = register_store<PostgresTraits>("Postgres");
}  // namespace
}  // namespace sessionkit::testing
SESSIONKIT_STORE_CONFORMANCE(Postgres, PostgresTraits);
SESSIONKIT_STORE_CONFORMANCE(EncryptedPostgres, Encrypted<PostgresTraits>);
SESSIONKIT_STORE_CONFORMANCE(CompressedPostgres, Compressed<PostgresTraits>);

namespace sessionkit::testing {
namespace {

using Steady = std::chrono::steady_clock;

// A raw libpq connection for looking at (or interfering with) the table directly.
class RawPg {
 public:
  explicit RawPg(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
    EXPECT_EQ(PQstatus(c_), CONNECTION_OK) << PQerrorMessage(c_);
  }
  ~RawPg() { PQfinish(c_); }
  RawPg(const RawPg&) = delete;
  RawPg& operator=(const RawPg&) = delete;

  // Runs `sql` (several statements allowed); true on success.
  bool exec(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    const auto st = PQresultStatus(r);
    const bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    EXPECT_TRUE(ok) << sql << ": " << PQresultErrorMessage(r);
    PQclear(r);
    return ok;
  }
  // Every value of every row of `sql`'s result, as text.
  std::vector<std::string> values(const std::string& sql) {
    std::vector<std::string> out;
    PGresult* r = PQexec(c_, sql.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << sql << ": " << PQresultErrorMessage(r);
    for (int row = 0; row < PQntuples(r); ++row) {
      for (int col = 0; col < PQnfields(r); ++col)
        out.emplace_back(PQgetvalue(r, row, col), PQgetlength(r, row, col));
    }
    PQclear(r);
    return out;
  }
  std::string one(const std::string& sql) {
    auto v = values(sql);
    return v.empty() ? std::string() : v.front();
  }

 private:
  PGconn* c_;
};

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (PostgresServer::bin_dir().empty()) GTEST_SKIP() << PostgresServer::missing_message();
    server_ = &PostgresServer::shared();
    table_ = PostgresServer::fresh_table();
  }

  PostgresStoreOptions options(PostgresStoreOptions o = {}) const {
    if (o.conninfo.empty()) o.conninfo = server_->conninfo();
    if (o.table == PostgresStoreOptions{}.table) o.table = table_;
    o.clock = &clock_;
    return o;
  }
  std::shared_ptr<PostgresStore> open(PostgresStoreOptions o = {}) {
    auto r = PostgresStore::open(options(std::move(o)));
    EXPECT_OK(r);
    return r.ok() ? *r : nullptr;
  }
  std::string sql_key(const SessionKey& k) const { return "'\\x" + k.hex() + "'::bytea"; }
  // Opens a transaction on `locker` holding the row of `key` (FOR UPDATE) until ROLLBACK;
  // whether the row was there.
  bool lock_row(RawPg& locker, const SessionKey& key) {
    return locker.exec("BEGIN") &&
           locker.values("SELECT 1 FROM " + table_ + " WHERE key = " + sql_key(key) + " FOR UPDATE")
                   .size() == 1;
  }
  // Waits until `n` backends of the server wait for a lock (a store statement is blocked on a
  // row that a test holds), seen from a connection of its own (outside any transaction).
  bool lock_waiters(int n) {
    RawPg watcher(server_->conninfo());
    const auto deadline = Steady::now() + std::chrono::seconds(10);
    while (Steady::now() < deadline) {
      if (watcher.one("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'") ==
          std::to_string(n)) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  PostgresServer* server_ = nullptr;
  std::string table_;
  ManualClock clock_;
};

// Milliseconds `f` took.
template <class F>
std::int64_t millis(F&& f) {
  const auto start = Steady::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start).count();
}

// Issue 21, finding 9: libpq's errors quoted the connection string, password included. These
// fail before any connection is tried.
TEST(PostgresConninfo, ErrorsNeverEchoThePassword) {
  for (std::string c :
       {"postgresql://app:Pq1x/Zr2y@127.0.0.1:1/db", "postgresql://app:Pq1x@Zr2y@127.0.0.1:1/db",
        "postgresql://app:Pq1x%zzZr2y@127.0.0.1:1/db", "host=127.0.0.1 password=Pq1x Zr2y"}) {
    PostgresStoreOptions o;
    o.conninfo = c;
    auto r = PostgresStore::open(o);
    ASSERT_FALSE(r.ok()) << c;
    EXPECT_EQ(r.message().find("Pq1x"), std::string::npos) << r.message();
    EXPECT_EQ(r.message().find("Zr2y"), std::string::npos) << r.message();
  }
}

TEST_F(PostgresStoreTest, SchemaIsVersionedTypedAndIndexed) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->table(), table_);
  RawPg raw(server_->conninfo());
  EXPECT_EQ(raw.one("SELECT schema_version FROM " + table_ + "_meta"),
            std::to_string(PostgresStore::kSchemaVersion));
  EXPECT_EQ(raw.values("SELECT column_name || ':' || data_type FROM information_schema.columns "
                       "WHERE table_name = '" +
                       table_ + "' ORDER BY ordinal_position"),
            (std::vector<std::string>{"key:bytea", "user_id:text", "created_at:bigint",
                                      "last_access:bigint", "expires_at:bigint",
                                      "absolute_expires_at:bigint", "auth_at:bigint", "ip:text",
                                      "user_agent:text", "data:jsonb"}));
  // The deadline index serves purge_expired, the partial user index list_user.
  auto plan = [&](const std::string& sql) {
    std::string all;
    for (const auto& line : raw.values("EXPLAIN " + sql))
      all += line + "\n";
    return all;
  };
  raw.exec("SET enable_seqscan = off");
  EXPECT_NE(plan("DELETE FROM " + table_ + " WHERE key IN (SELECT key FROM " + table_ +
                 " WHERE least(expires_at, absolute_expires_at) <= 5 LIMIT 10)")
                .find(table_ + "_deadline"),
            std::string::npos);
  EXPECT_NE(plan("SELECT key FROM " + table_ + " WHERE user_id = 'u'").find(table_ + "_user"),
            std::string::npos);
  // Opening again (the schema exists) changes nothing.
  auto again = open();
  ASSERT_TRUE(again);
  EXPECT_EQ(raw.one("SELECT count(*) FROM " + table_ + "_meta"), "1");
}

TEST_F(PostgresStoreTest, ANewerSchemaIsRefusedAndLeftAlone) {
  const SessionKey key = new_key();
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_OK(BlockingStore(*store).create(key, make_record(clock_.now())));
  }
  RawPg raw(server_->conninfo());
  raw.exec("UPDATE " + table_ +
           "_meta SET schema_version = " + std::to_string(PostgresStore::kSchemaVersion + 1));
  auto refused = PostgresStore::open(options());
  EXPECT_EQ(refused.code(), errc::corrupt) << refused.message();
  EXPECT_NE(refused.message().find("newer"), std::string::npos) << refused.message();
  EXPECT_EQ(raw.one("SELECT count(*) FROM " + table_), "1");

  raw.exec("UPDATE " + table_ +
           "_meta SET schema_version = " + std::to_string(PostgresStore::kSchemaVersion));
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_TRUE(BlockingStore(*store).load(key)->has_value());
}

TEST_F(PostgresStoreTest, ConcurrentOpensOfANewTableCreateItOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      auto r = PostgresStore::open(options({.pool_size = 1}));
      EXPECT_OK(r);
      if (r.ok()) ++opened;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(opened.load(), 6);
  RawPg raw(server_->conninfo());
  EXPECT_EQ(raw.one("SELECT count(*) FROM " + table_ + "_meta"), "1");
}

TEST_F(PostgresStoreTest, ReopenKeepsTheData) {
  const SessionKey key = new_key();
  SessionRecord rec = make_record(clock_.now(), "alice");
  {
    auto store = open();
    ASSERT_TRUE(store);
    BlockingStore db(*store);
    ASSERT_OK(db.create(key, rec));
    ASSERT_OK(db.increment(key, "visits", 3));
  }
  auto store = open();
  ASSERT_TRUE(store);
  BlockingStore db(*store);
  rec.data["visits"] = 3;
  auto loaded = db.load(key);
  ASSERT_OK(loaded);
  EXPECT_EQ(*loaded, rec);
  auto listed = db.list_user("alice");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
}

TEST_F(PostgresStoreTest, TwoStoresOnOneTableSeeEachOthersWritesAndStayExact) {
  auto one = open({.pool_size = 2});
  auto two = open({.pool_size = 3});
  ASSERT_TRUE(one && two);
  BlockingStore a(*one), b(*two);
  const SessionKey key = new_key();
  ASSERT_OK(a.create(key, make_record(clock_.now())));
  auto seen = b.load(key);
  ASSERT_OK(seen);
  EXPECT_TRUE(seen->has_value());
  EXPECT_EQ(b.create(key, make_record(clock_.now())).code(), errc::conflict);

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      BlockingStore& db = t % 2 ? a : b;
      for (int i = 0; i < 100; ++i) {
        EXPECT_OK(db.increment(key, "n"));
        SessionPatch p;
        p.set = {{"t" + std::to_string(t), i}};
        EXPECT_OK(db.patch(key, p));
      }
    });
  }
  for (auto& th : threads)
    th.join();
  auto rec = a.load(key);
  ASSERT_OK(rec);
  EXPECT_EQ((*rec)->data["n"], 400);
  for (int t = 0; t < 4; ++t)
    EXPECT_EQ((*rec)->data["t" + std::to_string(t)], 99);
  ASSERT_OK(b.destroy(key));
  EXPECT_FALSE(a.load(key)->has_value());
}

TEST_F(PostgresStoreTest, NoSessionIdIsAtRestOnlyItsDigest) {
  auto store = open();
  ASSERT_TRUE(store);
  BlockingStore db(*store);
  std::vector<SessionId> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(SessionId::generate());
    ASSERT_OK(db.create(SessionKey::of(ids.back()), make_record(clock_.now(), "u")));
  }
  RawPg raw(server_->conninfo());
  const auto cells = raw.values("SELECT * FROM " + table_);
  ASSERT_EQ(cells.size(), 100u);
  for (const auto& cell : cells) {
    for (const auto& id : ids)
      EXPECT_EQ(cell.find(id.str()), std::string::npos);
  }
  std::set<std::string> keys;
  for (const auto& k : raw.values("SELECT encode(key, 'hex') FROM " + table_))
    keys.insert(k);
  for (const auto& id : ids)
    EXPECT_TRUE(keys.count(SessionKey::of(id).hex()));
}

TEST_F(PostgresStoreTest, NumbersRoundTripExactly) {
  auto store = open();
  ASSERT_TRUE(store);
  BlockingStore db(*store);
  const SessionKey key = new_key();
  SessionRecord rec = make_record(clock_.now());
  rec.data = {{"max", std::numeric_limits<std::int64_t>::max()},
              {"min", std::numeric_limits<std::int64_t>::min()},
              {"umax", std::numeric_limits<std::uint64_t>::max()},
              {"half", 1.5},
              {"tenth", 0.1},
              {"tiny", 5e-324},
              {"huge", 1.7976931348623157e308},
              {"third", 1.0 / 3},
              {"neg", -123456789.125},
              {"list", {0, -1, 2.5}}};
  ASSERT_OK(db.create(key, rec));
  auto loaded = db.load(key);
  ASSERT_OK(loaded);
  ASSERT_TRUE(loaded->has_value());
  const auto& data = (*loaded)->data;
  EXPECT_EQ(data, rec.data);
  EXPECT_TRUE(data["max"].is_number_integer());
  EXPECT_EQ(data["max"].get<std::int64_t>(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(data["min"].get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(data["umax"].get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  for (const char* f : {"half", "tenth", "tiny", "huge", "third", "neg"}) {
    EXPECT_TRUE(data[f].is_number_float()) << f;
    EXPECT_EQ(data[f].get<double>(), rec.data[f].get<double>()) << f;
  }
  // Increments at the edges: exact, and an overflow changes nothing.
  EXPECT_EQ(*db.increment(key, "max", -1), std::numeric_limits<std::int64_t>::max() - 1);
  EXPECT_EQ(*db.increment(key, "max", 1), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(db.increment(key, "max", 1).code(), errc::invalid_argument);
  EXPECT_EQ(db.increment(key, "min", -1).code(), errc::invalid_argument);
  EXPECT_EQ(db.increment(key, "umax", 1).code(), errc::invalid_argument);
  EXPECT_EQ(db.increment(key, "half", 1).code(), errc::invalid_argument);
  EXPECT_EQ(*db.increment(key, "min", std::numeric_limits<std::int64_t>::max()), -1);
  EXPECT_EQ((*db.load(key))->data["max"].get<std::int64_t>(),
            std::numeric_limits<std::int64_t>::max());
}

TEST_F(PostgresStoreTest, NulInTextIsRefusedAndInvalidUtf8Replaced) {
  auto store = open();
  ASSERT_TRUE(store);
  BlockingStore db(*store);
  const std::string nul("a\0b", 3);

  // U+0000 anywhere in the payload: invalid_argument, nothing written.
  const SessionKey key = new_key();
  SessionRecord rec = make_record(clock_.now(), "alice");
  rec.data["s"] = nul;
  auto refused = db.create(key, rec);
  EXPECT_EQ(refused.code(), errc::invalid_argument);
  EXPECT_NE(refused.message().find("U+0000"), std::string::npos) << refused.message();
  rec.data = {{nul, 1}};
  EXPECT_EQ(db.create(key, rec).code(), errc::invalid_argument);
  rec.data = {{"deep", {{"list", {1, nul}}}}};
  EXPECT_EQ(db.create(key, rec).code(), errc::invalid_argument);
  EXPECT_EQ(*db.count(), 0u);

  const SessionRecord good = make_record(clock_.now(), "alice");
  ASSERT_OK(db.create(key, good));
  EXPECT_EQ(db.replace(key, rec).code(), errc::invalid_argument);
  SessionPatch p;
  p.set = {{"x", nul}};
  EXPECT_EQ(db.patch(key, p).code(), errc::invalid_argument);
  p.set = {{nul, 1}};
  EXPECT_EQ(db.patch(key, p).code(), errc::invalid_argument);
  p.set = {};
  p.erase = {nul};
  EXPECT_EQ(db.patch(key, p).code(), errc::invalid_argument);
  EXPECT_EQ(db.increment(key, nul).code(), errc::invalid_argument);
  SessionPatch bind;
  bind.user_id = nul;
  EXPECT_EQ(db.patch(key, bind).code(), errc::invalid_argument);
  bind.user_id = "\xff\xfe";
  EXPECT_EQ(db.patch(key, bind).code(), errc::invalid_argument);
  EXPECT_EQ(db.load(key)->value(), good);  // all of it changed nothing
  EXPECT_TRUE(db.list_user(nul)->empty());
  EXPECT_EQ(*db.destroy_user(nul), 0u);

  // The JSON escape "\u0000" as plain text is fine; so is every other control character.
  SessionPatch text;
  text.set = {{"escaped", "\\u0000"}, {"controls", "\x01\t\n\x1f"}};
  ASSERT_OK(db.patch(key, text));
  auto loaded = db.load(key);
  EXPECT_EQ((*loaded)->data["escaped"], "\\u0000");
  EXPECT_EQ((*loaded)->data["controls"], "\x01\t\n\x1f");

  // Header-derived text is stored with U+FFFD in place of what PostgreSQL cannot hold.
  const SessionKey other = new_key();
  SessionRecord odd = make_record(clock_.now());
  odd.ip = std::string("10.0.0.1\0", 9);
  odd.user_agent = "caf\xe9";
  odd.data = {{"bad", "x\xffy"}};
  ASSERT_OK(db.create(other, odd));
  auto back = db.load(other);
  ASSERT_OK(back);
  EXPECT_EQ((*back)->ip, "10.0.0.1\xEF\xBF\xBD");
  EXPECT_EQ((*back)->user_agent, "caf\xEF\xBF\xBD");
  EXPECT_EQ((*back)->data["bad"], "x\xEF\xBF\xBDy");
}

TEST_F(PostgresStoreTest, OptionsAreChecked) {
  for (std::string bad : std::vector<std::string>{"", "Sessions", "1abc", "a-b", "x;drop", "sk\"t",
                                                  std::string(49, 'a')}) {
    auto r = PostgresStore::open({.conninfo = server_->conninfo(), .table = bad});
    EXPECT_EQ(r.code(), errc::invalid_argument) << bad;
  }
  EXPECT_OK(PostgresStore::open({.conninfo = server_->conninfo(), .table = std::string(48, 'a')}));
  EXPECT_EQ(PostgresStore::open(options({.pool_size = 0})).code(), errc::invalid_argument);
  EXPECT_EQ(PostgresStore::open(options({.queue_limit = 0})).code(), errc::invalid_argument);
  EXPECT_EQ(
      PostgresStore::open(options({.statement_timeout = std::chrono::milliseconds(0)})).code(),
      errc::invalid_argument);
  EXPECT_EQ(PostgresStore::open(options({.conninfo = "host"})).code(), errc::invalid_argument);
  EXPECT_EQ(PostgresStore::open(options({.conninfo = "postgresql://[::1"})).code(),
            errc::invalid_argument);

  // A URI works as well as key=value pairs.
  auto uri = PostgresStore::open(
      options({.conninfo = server_->url() + "?sslmode=disable&application_name=sk-test"}));
  ASSERT_OK(uri);
  EXPECT_OK(BlockingStore(**uri).health());

  // Nothing listening: unavailable, at once.
  const std::uint16_t closed = free_port();
  std::int64_t took = millis([&] {
    auto r = PostgresStore::open(
        options({.conninfo = "host=127.0.0.1 user=postgres port=" + std::to_string(closed)}));
    EXPECT_EQ(r.code(), errc::unavailable);
    EXPECT_NE(r.message().find("127.0.0.1"), std::string::npos) << r.message();
  });
  EXPECT_LT(took, 2000);
}

TEST_F(PostgresStoreTest, ALockedRowAnswersTimeoutAndTheStoreCarriesOn) {
  auto store = open({.pool_size = 2, .statement_timeout = std::chrono::milliseconds(300)});
  ASSERT_TRUE(store);
  BlockingStore db(*store);
  const SessionKey key = new_key();
  ASSERT_OK(db.create(key, make_record(clock_.now(), "alice")));

  RawPg locker(server_->conninfo());
  ASSERT_TRUE(lock_row(locker, key));
  SessionPatch p;
  p.set = {{"a", 1}};
  for (int i = 0; i < 3; ++i) {  // every worker meets the lock, keeps its connection
    const std::int64_t took = millis([&] {
      auto r = db.patch(key, p);
      EXPECT_EQ(r.code(), errc::timeout) << r.message();
    });
    EXPECT_GE(took, 250);
    EXPECT_LT(took, 300 + 1000 + 1000);
  }
  EXPECT_EQ(db.increment(key, "n").code(), errc::timeout);
  EXPECT_EQ(db.destroy(key).code(), errc::timeout);
  EXPECT_EQ(db.destroy_user("alice").code(), errc::timeout);
  auto read = db.load(key);  // readers do not wait for row locks
  ASSERT_OK(read);
  EXPECT_TRUE(read->has_value());
  locker.exec("ROLLBACK");

  ASSERT_OK(db.patch(key, p));
  EXPECT_EQ(*db.increment(key, "n"), 1);
  EXPECT_EQ((*db.load(key))->data["a"], 1);
}

TEST_F(PostgresStoreTest, AServerThatStopsIsUnavailableAndTheStoreRecoversByItself) {
  PostgresServer own;  // a private server: this test stops it
  auto opened = PostgresStore::open({.conninfo = own.conninfo(),
                                     .table = table_,
                                     .pool_size = 3,
                                     .connect_timeout = std::chrono::milliseconds(1000),
                                     .statement_timeout = std::chrono::milliseconds(2000),
                                     .reconnect_interval = std::chrono::milliseconds(50),
                                     .clock = &clock_});
  ASSERT_OK(opened);
  std::shared_ptr<PostgresStore> store = *opened;
  BlockingStore db(*store);
  std::vector<SessionKey> keys;
  for (int i = 0; i < 5; ++i) {
    keys.push_back(new_key());
    SessionRecord rec = make_record(clock_.now(), "alice");
    rec.data["i"] = i;
    ASSERT_OK(db.create(keys.back(), rec));
  }
  // Every worker holds a live connection when the server goes away.
  std::vector<std::thread> warm;
  for (int t = 0; t < 6; ++t)
    warm.emplace_back([&] { EXPECT_OK(db.count()); });
  for (auto& t : warm)
    t.join();

  own.stop();
  ASSERT_FALSE(own.running());
  for (int round = 0; round < 4; ++round) {
    const std::int64_t took = millis([&] {
      auto loaded = db.load(keys[0]);
      EXPECT_EQ(loaded.code(), errc::unavailable) << "a failure is never a miss";
      SessionPatch p;
      p.set = {{"lost", true}};
      EXPECT_EQ(db.patch(keys[1], p).code(), errc::unavailable);
      EXPECT_EQ(db.increment(keys[2], "n").code(), errc::unavailable);
      EXPECT_EQ(db.create(new_key(), make_record(clock_.now())).code(), errc::unavailable);
      EXPECT_EQ(db.count().code(), errc::unavailable);
      auto health = db.health();
      EXPECT_EQ(health.code(), errc::unavailable);
      EXPECT_FALSE(health.message().empty());
    });
    EXPECT_LT(took, 3000) << "round " << round;  // each answer far below the timeouts
  }

  own.start();  // same data directory, same port
  const auto deadline = Steady::now() + std::chrono::seconds(20);
  while (!db.health().ok() && Steady::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_OK(db.health());
  // Every worker is back (each op may land on any of them), with the data from before.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5; ++i) {
      auto loaded = db.load(keys[i]);
      ASSERT_OK(loaded);
      ASSERT_TRUE(loaded->has_value()) << i;
      EXPECT_EQ((*loaded)->data["i"], i);
      EXPECT_FALSE((*loaded)->data.contains("lost"));
    }
  }
  EXPECT_EQ(*db.increment(keys[2], "n"), 1);
  EXPECT_EQ(db.list_user("alice")->size(), 5u);
  ASSERT_OK(db.create(new_key(), make_record(clock_.now())));
  EXPECT_EQ(*db.count(), 6u);

  // A restart while the store is idle: connections the server closed are noticed before use
  // and replaced, so not even the first operations after the restart fail.
  warm.clear();
  for (int t = 0; t < 6; ++t)
    warm.emplace_back([&] { EXPECT_OK(db.count()); });
  for (auto& t : warm)
    t.join();
  own.stop();
  own.start();
  warm.clear();
  for (int t = 0; t < 6; ++t) {
    warm.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto loaded = db.load(keys[i]);
        EXPECT_OK(loaded);
        EXPECT_TRUE(loaded.ok() && loaded->has_value());
      }
    });
  }
  for (auto& t : warm)
    t.join();
  store.reset();  // before the server it talks to
}

TEST_F(PostgresStoreTest, AServerThatDoesNotAnswerIsUnavailableNotAHang) {
  PostgresServer own;
  // A frozen postmaster still gets TCP connections accepted (by the kernel), never an answer.
  own.pause();
  const std::int64_t took = millis([&] {
    auto r = PostgresStore::open({.conninfo = own.conninfo(),
                                  .table = table_,
                                  .connect_timeout = std::chrono::milliseconds(500),
                                  .clock = &clock_});
    EXPECT_EQ(r.code(), errc::unavailable) << r.message();
    EXPECT_NE(r.message().find("500 ms"), std::string::npos) << r.message();
  });
  EXPECT_GE(took, 450);
  EXPECT_LT(took, 2500);
  own.resume();
  auto r = PostgresStore::open({.conninfo = own.conninfo(), .table = table_, .clock = &clock_});
  ASSERT_OK(r);
  EXPECT_OK(BlockingStore(**r).health());
}

// Answers of the asynchronous interface, collected from whatever thread delivers them.
template <class T>
struct Answers {
  std::mutex m;
  std::condition_variable cv;
  std::vector<Result<T>> results;
  std::vector<std::thread::id> threads;
  Callback<T> callback() {
    return [this](Result<T> r) {
      std::lock_guard lock(m);
      results.push_back(std::move(r));
      threads.push_back(std::this_thread::get_id());
      cv.notify_all();
    };
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, timeout, [&] { return results.size() >= n; });
  }
};

TEST_F(PostgresStoreTest, CallbacksRunOnTheStoresWorkerThreads) {
  auto store = open({.pool_size = 2});
  ASSERT_TRUE(store);
  Answers<std::size_t> answers;
  for (int i = 0; i < 20; ++i)
    store->count(answers.callback());
  ASSERT_TRUE(answers.wait_for(20));
  std::set<std::thread::id> threads(answers.threads.begin(), answers.threads.end());
  EXPECT_FALSE(threads.count(std::this_thread::get_id()));
  EXPECT_LE(threads.size(), 2u);
  for (const auto& r : answers.results)
    EXPECT_OK(r);
}

TEST_F(PostgresStoreTest, AFullQueueAnswersUnavailableAtOnce) {
  auto store = open({.pool_size = 1, .queue_limit = 3});
  ASSERT_TRUE(store);
  const SessionKey key = new_key();
  ASSERT_OK(BlockingStore(*store).create(key, make_record(clock_.now())));
  RawPg locker(server_->conninfo());
  ASSERT_TRUE(lock_row(locker, key));

  Answers<void> answers;
  SessionPatch p;
  p.set = {{"a", 1}};
  store->patch(key, p, answers.callback());  // the only worker waits for the lock
  ASSERT_TRUE(lock_waiters(1));
  for (int i = 0; i < 6; ++i)
    store->patch(key, p, answers.callback());
  {
    std::lock_guard lock(answers.m);  // the refused ones were answered inline
    ASSERT_EQ(answers.results.size(), 3u);
    for (const auto& r : answers.results) {
      EXPECT_EQ(r.code(), errc::unavailable);
      EXPECT_NE(r.message().find("queue"), std::string::npos) << r.message();
    }
  }
  locker.exec("ROLLBACK");
  ASSERT_TRUE(answers.wait_for(7));
  std::lock_guard lock(answers.m);
  for (std::size_t i = 3; i < 7; ++i)
    EXPECT_OK(answers.results[i]);
}

TEST_F(PostgresStoreTest, AnOperationWaitingTooLongForAWorkerAnswersTimeout) {
  auto store = open({.pool_size = 1,
                     .statement_timeout = std::chrono::milliseconds(1000),
                     .queue_timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(store);
  const SessionKey key = new_key();
  ASSERT_OK(BlockingStore(*store).create(key, make_record(clock_.now())));
  RawPg locker(server_->conninfo());
  ASSERT_TRUE(lock_row(locker, key));
  Answers<void> blocked;
  store->touch(key, {clock_.now(), clock_.now() + 30min}, blocked.callback());
  ASSERT_TRUE(lock_waiters(1));
  auto queued = BlockingStore(*store).load(key);
  EXPECT_EQ(queued.code(), errc::timeout);
  EXPECT_NE(queued.message().find("queue_timeout"), std::string::npos) << queued.message();
  ASSERT_TRUE(blocked.wait_for(1));
  EXPECT_EQ(blocked.results[0].code(), errc::timeout);
  locker.exec("ROLLBACK");
  EXPECT_OK(BlockingStore(*store).load(key));
}

TEST_F(PostgresStoreTest, DestroyingTheStoreAnswersEveryQueuedOperation) {
  auto store = open({.pool_size = 1, .statement_timeout = std::chrono::milliseconds(2000)});
  ASSERT_TRUE(store);
  const SessionKey key = new_key();
  ASSERT_OK(BlockingStore(*store).create(key, make_record(clock_.now())));
  RawPg locker(server_->conninfo());
  ASSERT_TRUE(lock_row(locker, key));
  Answers<void> running;
  Answers<std::optional<SessionRecord>> queued;
  store->touch(key, {clock_.now(), clock_.now() + 30min}, running.callback());
  ASSERT_TRUE(lock_waiters(1));
  for (int i = 0; i < 5; ++i)
    store->load(key, std::nullopt, queued.callback());
  store.reset();  // waits for the running statement (bounded by statement_timeout)
  ASSERT_TRUE(running.wait_for(1, std::chrono::milliseconds(0)));
  EXPECT_EQ(running.results[0].code(), errc::timeout);
  ASSERT_TRUE(queued.wait_for(5, std::chrono::milliseconds(0)));
  for (const auto& r : queued.results) {
    EXPECT_EQ(r.code(), errc::unavailable);
    EXPECT_NE(r.message().find("closed"), std::string::npos) << r.message();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard lock(queued.m);
  EXPECT_EQ(queued.results.size(), 5u);  // exactly once each
  locker.exec("ROLLBACK");
}

TEST_F(PostgresStoreTest, ACallbackMayDropTheLastOwner) {
  auto store = open({.pool_size = 3});
  ASSERT_TRUE(store);
  SessionStore* raw = store.get();
  auto owner = std::make_shared<std::shared_ptr<PostgresStore>>(std::move(store));
  std::promise<bool> dropped;
  raw->count([owner, &dropped](Result<std::size_t> r) {
    owner->reset();  // the store is destroyed here, on its own worker thread
    dropped.set_value(r.ok());
  });
  auto f = dropped.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(f.get());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the worker winds down
}

}  // namespace
}  // namespace sessionkit::testing
