// SqliteStore beyond the shared contract: restart, several stores on one file, what is at rest
// in the file, its permissions, schema versioning, open errors, and failures answered as errors.
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "contract/store_harness.h"
#include "sessionkit/stores/sqlite.h"

// The conformance suite against SqliteStore: a new file in a new temporary directory per test.
namespace sessionkit::testing {
namespace {
struct SqliteTraits {
  static std::shared_ptr<SessionStore> make(const Clock& clock) {
    auto dir = std::make_shared<TempDir>();
    // synchronous=NORMAL: the contract does not depend on fsync, and the suite runs on shared,
    // slow disks. The default (FULL) is exercised by the tests below.
    auto opened = SqliteStore::open({.path = (dir->path() / "sessions.db").string(),
                                     .pool_size = 4,
                                     .synchronous_full = false,
                                     .clock = &clock});
    if (!opened) throw std::runtime_error("SqliteStore::open: " + opened.status().to_string());
    return owning(std::move(*opened), std::move(dir));
  }
};
[[maybe_unused]] const bool kRegistered = register_store<SqliteTraits>("Sqlite");
}  // namespace
}  // namespace sessionkit::testing
SESSIONKIT_STORE_CONFORMANCE(Sqlite, SqliteTraits);
SESSIONKIT_STORE_CONFORMANCE(EncryptedSqlite, Encrypted<SqliteTraits>);
SESSIONKIT_STORE_CONFORMANCE(CompressedSqlite, Compressed<SqliteTraits>);

namespace sessionkit::testing {
namespace {

// A raw sqlite3 connection for looking at (or interfering with) the file directly.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  int exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  // Every value of every row of `sql`'s result, as bytes.
  std::vector<std::string> values(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
    while (sqlite3_step(s) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const void* p = sqlite3_column_blob(s, i);
        out.emplace_back(p ? static_cast<const char*>(p) : "", sqlite3_column_bytes(s, i));
      }
    }
    sqlite3_finalize(s);
    return out;
  }
  std::string one(const std::string& sql) {
    auto v = values(sql);
    return v.empty() ? std::string() : v.front();
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::string path() const { return (dir_.path() / "sessions.db").string(); }
  std::shared_ptr<SqliteStore> open(SqliteStoreOptions o = {}) {
    if (o.path.empty()) o.path = path();
    o.clock = &clock_;
    auto r = SqliteStore::open(o);
    EXPECT_OK(r);
    return r.ok() ? *r : nullptr;
  }

  TempDir dir_;
  ManualClock clock_;
};

TEST_F(SqliteStoreTest, DataSurvivesARestart) {
  const SessionKey key = new_key();
  SessionRecord rec = make_record(clock_.now(), "alice");
  {
    auto store = open();
    BlockingStore db(*store);
    ASSERT_OK(db.create(key, rec));
    ASSERT_OK(db.increment(key, "visits", 3));
  }
  auto store = open();
  BlockingStore db(*store);
  rec.data["visits"] = 3;
  auto loaded = db.load(key);
  ASSERT_OK(loaded);
  EXPECT_EQ(*loaded, rec);
  auto listed = db.list_user("alice");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
}

TEST_F(SqliteStoreTest, TwoStoresOnOneFileSeeEachOthersWritesAndStayExact) {
  auto one = open({.pool_size = 2});
  auto two = open({.pool_size = 2});
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
      for (int i = 0; i < 100; ++i)
        EXPECT_OK(db.increment(key, "n"));
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ((*a.load(key))->data["n"], 400);
  ASSERT_OK(b.destroy(key));
  EXPECT_FALSE(a.load(key)->has_value());
}

TEST_F(SqliteStoreTest, NoSessionIdIsAtRestOnlyItsDigest) {
  std::vector<SessionId> ids;
  {
    auto store = open();
    BlockingStore db(*store);
    for (int i = 0; i < 10; ++i) {
      ids.push_back(SessionId::generate());
      SessionRecord rec = make_record(clock_.now(), "user" + std::to_string(i));
      ASSERT_OK(db.create(SessionKey::of(ids.back()), rec));
    }
    RawDb raw(path());
    const auto cells = raw.values("SELECT * FROM sessions");
    ASSERT_FALSE(cells.empty());
    for (const auto& cell : cells) {
      for (const auto& id : ids)
        EXPECT_EQ(cell.find(id.str()), std::string::npos);
    }
    std::set<std::string> keys;
    for (const auto& k : raw.values("SELECT key FROM sessions"))
      keys.insert(k);
    for (const auto& id : ids) {
      const SessionKey key = SessionKey::of(id);
      EXPECT_TRUE(keys.count(std::string(key.bytes().begin(), key.bytes().end())));
    }
  }
  // Nor anywhere in the file's bytes (the WAL is checkpointed into it on close).
  std::ifstream in(path(), std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), {}};
  ASSERT_FALSE(bytes.empty());
  for (const auto& id : ids)
    EXPECT_EQ(bytes.find(id.str()), std::string::npos);
}

TEST_F(SqliteStoreTest, SchemaIsVersionedInWalModeWithItsIndexesUsed) {
  auto store = open();
  RawDb raw(path());
  EXPECT_EQ(raw.one("PRAGMA user_version"), std::to_string(SqliteStore::kSchemaVersion));
  EXPECT_EQ(raw.one("PRAGMA journal_mode"), "wal");
  auto plan = [&](const std::string& sql) {
    std::string all;
    for (const auto& v : raw.values("EXPLAIN QUERY PLAN " + sql))
      all += v + "\n";
    return all;
  };
  EXPECT_NE(plan("SELECT key FROM sessions WHERE min(expires_at, absolute_expires_at) <= 5 "
                 "LIMIT 10")
                .find("sessions_deadline"),
            std::string::npos);
  EXPECT_NE(plan("SELECT key FROM sessions WHERE user_id = 'x'").find("sessions_user"),
            std::string::npos);
}

TEST_F(SqliteStoreTest, OpenAnswersErrorsNeverThrows) {
  EXPECT_EQ(SqliteStore::open({.path = ":memory:"}).code(), errc::invalid_argument);
  EXPECT_EQ(SqliteStore::open({.path = ""}).code(), errc::invalid_argument);
  EXPECT_EQ(SqliteStore::open({.path = path(), .pool_size = 0}).code(), errc::invalid_argument);
  auto missing_dir = SqliteStore::open({.path = (dir_.path() / "no" / "such.db").string()});
  EXPECT_TRUE(missing_dir.is_unavailable()) << missing_dir.message();

  const std::string junk = (dir_.path() / "junk.db").string();
  std::ofstream(junk) << std::string(4096, 'j');
  auto not_db = SqliteStore::open({.path = junk});
  EXPECT_FALSE(not_db.ok());
  EXPECT_EQ(not_db.code(), errc::corrupt) << not_db.message();

  { auto store = open(); }
  { RawDb(path()).exec("PRAGMA user_version = 99"); }
  auto newer = SqliteStore::open({.path = path()});
  EXPECT_EQ(newer.code(), errc::corrupt) << newer.message();
}

TEST_F(SqliteStoreTest, ALockedDatabaseIsUnavailableNotMissing) {
  auto store = open({.busy_timeout = std::chrono::milliseconds(50)});
  BlockingStore db(*store);
  const SessionKey key = new_key();
  ASSERT_OK(db.create(key, make_record(clock_.now())));
  RawDb writer(path());
  ASSERT_EQ(writer.exec("BEGIN IMMEDIATE"), SQLITE_OK);
  auto created = db.create(new_key(), make_record(clock_.now()));
  EXPECT_EQ(created.code(), errc::unavailable) << created.message();
  EXPECT_EQ(db.increment(key, "n").code(), errc::unavailable);
  auto read = db.load(key);  // WAL: readers are not blocked by the writer
  ASSERT_OK(read);
  EXPECT_TRUE(read->has_value());
  ASSERT_EQ(writer.exec("COMMIT"), SQLITE_OK);
  EXPECT_OK(db.increment(key, "n"));
  EXPECT_OK(db.health());
}

TEST_F(SqliteStoreTest, ACorruptPayloadIsAnErrorNotAMiss) {
  auto store = open();
  BlockingStore db(*store);
  const SessionKey key = new_key();
  ASSERT_OK(db.create(key, make_record(clock_.now())));
  RawDb(path()).exec("UPDATE sessions SET data = 'not json'");
  EXPECT_EQ(db.load(key).code(), errc::corrupt);
  EXPECT_EQ(db.increment(key, "n").code(), errc::corrupt);
  SessionPatch p;
  p.set = {{"a", 1}};
  EXPECT_EQ(db.patch(key, p).code(), errc::corrupt);
  EXPECT_OK(db.destroy(key));
  EXPECT_OK(db.health());
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

// The rows hold user ids, addresses and user agents: a new file and its -wal and -shm files
// are owner-only even under the usual umask 022.
TEST_F(SqliteStoreTest, ANewFileIsOwnerOnly) {
  const mode_t old_umask = ::umask(022);
  auto store = open();
  ::umask(old_umask);
  BlockingStore db(*store);
  ASSERT_OK(db.create(new_key(), make_record(clock_.now(), "alice")));
  EXPECT_EQ(mode_of(path()), 0600u);
  EXPECT_EQ(mode_of(path() + "-wal"), 0600u);
  EXPECT_EQ(mode_of(path() + "-shm"), 0600u);
}

// An operator's choice stays: an existing file keeps its mode; `file_mode` widens a new one.
TEST_F(SqliteStoreTest, AnExistingFileKeepsItsModeAndFileModeIsAnOption) {
  const mode_t old_umask = ::umask(022);
  std::ofstream(path()).close();
  ::chmod(path().c_str(), 0640);
  auto store = open();
  const std::string other = (dir_.path() / "group.db").string();
  SqliteStoreOptions group;
  group.path = other;
  group.file_mode = 0640;
  auto shared = SqliteStore::open(group);
  ::umask(old_umask);
  ASSERT_OK(shared);
  EXPECT_EQ(mode_of(path()), 0640u);
  EXPECT_EQ(mode_of(other), 0640u);
  for (unsigned bad : {0U, 0400U, 01600U}) {
    SqliteStoreOptions o;
    o.path = (dir_.path() / "bad.db").string();
    o.file_mode = bad;
    EXPECT_EQ(SqliteStore::open(o).code(), errc::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace sessionkit::testing
