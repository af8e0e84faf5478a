// sessionkit::store_url (sessionkit/stores/url.h): the URL forms, the errors, and the rule that
// no secret of a URL ever reaches a message or a log line.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "sessionkit/events.h"
#include "sessionkit/stores/url.h"
#include "support/server_process.h"

namespace sessionkit::testing {
namespace {

// library_logger() picks up a logger registered as "sessionkit" before its first use.
std::ostringstream& library_log() {
  static std::ostringstream lines;
  return lines;
}
[[maybe_unused]] const bool kLogCaptured = [] {
  spdlog::register_logger(std::make_shared<spdlog::logger>(
      "sessionkit", std::make_shared<spdlog::sinks::ostream_sink_mt>(library_log())));
  return true;
}();

class TempDir {
 public:
  TempDir() {
    std::string name = (std::filesystem::temp_directory_path() / "sk-store-url-XXXXXX").string();
    if (::mkdtemp(name.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = name;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

unsigned mode_of(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

// ---- the URL forms ----

TEST(StoreUrl, MemoryOpensAMemoryStore) {
  auto opened = open_store_url("memory://");
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  ASSERT_NE(opened->store, nullptr);
  EXPECT_EQ(opened->store->name(), "memory");
  EXPECT_FALSE(opened->client_side.has_value());

  auto with_path = open_store_url("memory://x");
  EXPECT_EQ(with_path.code(), errc::invalid_argument);
  EXPECT_NE(with_path.message().find("memory:// takes no path"), std::string::npos)
      << with_path.message();
}

TEST(StoreUrl, CookieChoosesClientSideSessionsAndNoStore) {
  auto plain = open_store_url("cookie://");
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  EXPECT_EQ(plain->store, nullptr);
  ASSERT_TRUE(plain->client_side.has_value());
  EXPECT_EQ(plain->client_side->max_cookie_bytes, ClientSideOptions{}.max_cookie_bytes);

  for (std::size_t n : {100, 1234, 4000}) {
    auto sized = open_store_url("cookie://?max_bytes=" + std::to_string(n));
    ASSERT_TRUE(sized.ok()) << n << ": " << sized.status().to_string();
    ASSERT_TRUE(sized->client_side.has_value());
    EXPECT_EQ(sized->client_side->max_cookie_bytes, n);
  }
  for (const char* bad :
       {"cookie://?max_bytes=99", "cookie://?max_bytes=4001",
        "cookie://?max_bytes=", "cookie://?max_bytes=12x", "cookie://?size=500", "cookie://host"}) {
    auto refused = open_store_url(bad);
    EXPECT_EQ(refused.code(), errc::invalid_argument) << bad;
    EXPECT_NE(refused.message().find("max_bytes"), std::string::npos) << refused.message();
  }
}

TEST(StoreUrl, NoSchemeOrAnUnknownOneIsInvalidAndListsTheSchemes) {
  auto none = open_store_url("sessions.db");
  EXPECT_EQ(none.code(), errc::invalid_argument);
  EXPECT_NE(none.message().find("has no scheme"), std::string::npos) << none.message();
  EXPECT_NE(none.message().find("memory://"), std::string::npos) << none.message();

  auto unknown = open_store_url("mongodb://localhost");
  EXPECT_EQ(unknown.code(), errc::invalid_argument);
  EXPECT_NE(unknown.message().find("unknown store scheme 'mongodb://'"), std::string::npos)
      << unknown.message();
  for (const char* scheme : {"memory://", "cookie://"
#ifdef SESSIONKIT_TEST_SQLITE
                             ,
                             "sqlite://"
#endif
#ifdef SESSIONKIT_TEST_REDIS
                             ,
                             "redis://", "redis+cluster://"
#endif
#ifdef SESSIONKIT_TEST_POSTGRES
                             ,
                             "postgresql://"
#endif
       }) {
    EXPECT_NE(unknown.message().find(scheme), std::string::npos) << unknown.message();
  }
}

// A scheme whose store the build has opens it (here: fails to reach a closed port); one whose
// store the build left out is unsupported, naming the CMake option.
TEST(StoreUrl, EachSchemeOpensItsStoreOrNamesTheOptionThatLeftItOut) {
  TempDir dir;
  const std::string port = std::to_string(free_port());
  struct Case {
    std::string url;
    bool built;
    const char* option;
  };
  const std::vector<Case> cases = {
#ifdef SESSIONKIT_TEST_SQLITE
      {"sqlite://" + (dir.path() / "s.db").string(), true, "SESSIONKIT_WITH_SQLITE"},
#else
      {"sqlite://" + (dir.path() / "s.db").string(), false, "SESSIONKIT_WITH_SQLITE"},
#endif
#ifdef SESSIONKIT_TEST_REDIS
      {"redis://127.0.0.1:" + port, true, "SESSIONKIT_WITH_REDIS"},
      {"rediss+cluster://127.0.0.1:" + port, true, "SESSIONKIT_WITH_REDIS"},
#else
      {"redis://127.0.0.1:" + port, false, "SESSIONKIT_WITH_REDIS"},
      {"rediss+cluster://127.0.0.1:" + port, false, "SESSIONKIT_WITH_REDIS"},
#endif
#ifdef SESSIONKIT_TEST_POSTGRES
      {"postgresql://app@127.0.0.1:" + port + "/db", true, "SESSIONKIT_WITH_POSTGRES"},
#else
      {"postgresql://app@127.0.0.1:" + port + "/db", false, "SESSIONKIT_WITH_POSTGRES"},
#endif
  };
  for (const Case& c : cases) {
    auto opened = open_store_url(c.url);
    if (!c.built) {
      EXPECT_EQ(opened.code(), errc::unsupported) << c.url;
      EXPECT_NE(opened.message().find(std::string(c.option) + "=OFF"), std::string::npos)
          << opened.message();
    } else if (c.url.starts_with("sqlite://")) {
      ASSERT_TRUE(opened.ok()) << opened.status().to_string();
      EXPECT_EQ(opened->store->name(), "sqlite");
    } else {  // nothing listens on the port
      EXPECT_TRUE(opened.code() == errc::unavailable || opened.code() == errc::timeout)
          << c.url << ": " << opened.status().to_string();
    }
  }
}

#ifdef SESSIONKIT_TEST_SQLITE
// sqlite://PATH: missing directories are created owner-only, the file 0600.
TEST(StoreUrl, SqliteCreatesPrivateDirectoriesAndFile) {
  TempDir dir;
  const mode_t old_umask = ::umask(022);
  const std::filesystem::path db = dir.path() / "a" / "b" / "s.db";
  auto opened = open_store_url("sqlite://" + db.string());
  ::umask(old_umask);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  ASSERT_NE(opened->store, nullptr);
  EXPECT_EQ(opened->store->name(), "sqlite");
  EXPECT_FALSE(opened->client_side.has_value());
  EXPECT_EQ(mode_of(dir.path() / "a"), 0700U);
  EXPECT_EQ(mode_of(dir.path() / "a" / "b"), 0700U);
  EXPECT_EQ(mode_of(db), 0600U);

  auto empty = open_store_url("sqlite://");
  EXPECT_EQ(empty.code(), errc::invalid_argument);
  EXPECT_NE(empty.message().find("needs a file path"), std::string::npos) << empty.message();
}

// ?synchronous=normal|full is the option, not part of the file name; anything else is refused;
// a '?' followed by something else stays in the path.
TEST(StoreUrl, SqliteTakesTheSynchronousOption) {
  TempDir dir;
  for (const char* mode : {"normal", "full"}) {
    const std::filesystem::path db = dir.path() / (std::string(mode) + ".db");
    auto opened = open_store_url("sqlite://" + db.string() + "?synchronous=" + mode);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    EXPECT_TRUE(std::filesystem::exists(db)) << mode;
  }
  auto bad = open_store_url("sqlite://" + (dir.path() / "x.db").string() + "?synchronous=off");
  EXPECT_EQ(bad.code(), errc::invalid_argument);
  EXPECT_NE(bad.message().find("?synchronous=normal"), std::string::npos) << bad.message();
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.db"));
  const std::filesystem::path odd = dir.path() / "what?.db";
  ASSERT_TRUE(open_store_url("sqlite://" + odd.string()).ok());
  EXPECT_TRUE(std::filesystem::exists(odd));
}

// An existing file that others may read is opened, with a warning on the library's logger.
TEST(StoreUrl, SqliteWarnsAboutAFileOthersCanRead) {
  TempDir dir;
  const std::filesystem::path db = dir.path() / "s.db";
  ASSERT_TRUE(open_store_url("sqlite://" + db.string()).ok());
  EXPECT_EQ(library_log().str().find("accessible to group or others"), std::string::npos)
      << library_log().str();
  ASSERT_EQ(::chmod(db.c_str(), 0640), 0);
  auto opened = open_store_url("sqlite://" + db.string());
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  library_logger()->flush();
  EXPECT_NE(
      library_log().str().find("'" + db.string() + "' is accessible to group or others (mode 640)"),
      std::string::npos)
      << library_log().str();
}

// A directory that cannot be created (a file stands in the way; root too) is unavailable.
TEST(StoreUrl, ADirectoryThatCannotBeCreatedIsUnavailable) {
  TempDir dir;
  std::ofstream(dir.path() / "file") << "not a directory";
  auto opened = open_store_url("sqlite://" + (dir.path() / "file" / "sub" / "s.db").string());
  EXPECT_EQ(opened.code(), errc::unavailable);
  EXPECT_NE(opened.message().find("cannot create directory"), std::string::npos)
      << opened.message();
}
#endif

// ---- secrets ----

struct LeakCase {
  std::string url;
  std::vector<std::string> secret_pieces;  // none of these may appear anywhere
};

// Every form of store URL with a password, pointing at a closed loopback port so that opening
// fails: neither the error nor the redacted URL holds any piece of the password.
TEST(StoreUrlSecrets, PasswordsNeverReachTheOutput) {
  const std::string port = std::to_string(free_port());
  const std::string host = "127.0.0.1:" + port;
  const std::vector<LeakCase> cases = {
      // PostgreSQL: the password as a query parameter, sslpassword, with '&'.
      {"postgresql://app@" + host + "/db?password=Pq7SecretQueryPw", {"Pq7SecretQueryPw"}},
      {"postgresql://app@" + host + "/db?sslmode=disable&sslpassword=Ss9SecretKeyPw",
       {"Ss9SecretKeyPw"}},
      {"postgres://app@" + host + "/db?password=Am4Secret&Zx8Tail", {"Am4Secret", "Zx8Tail"}},
      {"postgresql://app@" + host + "/db?pass%77ord=Pe3EncodedName", {"Pe3EncodedName"}},
      // ... in the userinfo: percent-encoded, and with unencoded '/', '?', '@', '#' and ':'.
      {"postgresql://app:Pc1Secret%2FKj5Tail%40Hh2End@" + host + "/db",
       {"Pc1Secret", "Kj5Tail", "Hh2End"}},
      {"postgresql://app:Ps5Secret/Qw2Tail@" + host + "/db", {"Ps5Secret", "Qw2Tail"}},
      {"postgresql://app:Pa6Secret@Lm3Tail@" + host + "/db", {"Pa6Secret", "Lm3Tail"}},
      {"postgresql://app:Pq8Secret/Nb4Mid?Vc7Tail@" + host + "/db",
       {"Pq8Secret", "Nb4Mid", "Vc7Tail"}},
      {"postgresql://app:Px2Secret%zzBad@" + host + "/db", {"Px2Secret", "zzBad"}},
      {"postgresql://app:Ph9Secret#Gf4Tail:Rt6End@" + host + "/db",
       {"Ph9Secret", "Gf4Tail", "Rt6End"}},
      // libpq keyword/value strings (not a URL: refused, and shown redacted).
      {"host=127.0.0.1 port=" + port + " password=Kv1SecretPlain", {"Kv1SecretPlain"}},
      {"host=127.0.0.1 port=" + port + " password='Kv2Secret Wq5Quoted'",
       {"Kv2Secret", "Wq5Quoted"}},
      // Redis: unencoded '/', '?', '#', '@', ':'; percent-encoded; a cluster.
      {"redis://:Rs1Secret/Tg6Tail@" + host, {"Rs1Secret", "Tg6Tail"}},
      {"redis://app:Rq2Secret?Yh7Tail@" + host + "/0", {"Rq2Secret", "Yh7Tail"}},
      {"redis://app:Rh3Secret#Uj8Tail@" + host, {"Rh3Secret", "Uj8Tail"}},
      {"redis://:Rc4Secret:Ik9Tail@" + host + "/0", {"Rc4Secret", "Ik9Tail"}},
      {"redis://:Re5Secret%2FOl1Tail@" + host, {"Re5Secret", "Ol1Tail"}},
      {"rediss+cluster://app:Ra6Secret@Pz2Tail@" + host + ",127.0.0.1:" + port,
       {"Ra6Secret", "Pz2Tail"}},
  };
  for (const LeakCase& c : cases) {
    auto opened = open_store_url(c.url);
    ASSERT_FALSE(opened.ok()) << c.url;
    const std::string redacted = redact_store_url(c.url);
    EXPECT_NE(redacted.find("***"), std::string::npos) << c.url << " -> " << redacted;
    for (const std::string& piece : c.secret_pieces) {
      EXPECT_EQ(opened.message().find(piece), std::string::npos)
          << "'" << piece << "' of " << c.url << " in the error: " << opened.message();
      EXPECT_EQ(redacted.find(piece), std::string::npos)
          << "'" << piece << "' of " << c.url << " in " << redacted;
    }
  }
}

// The redacted URL keeps what is not secret, so the operator can still see what was meant.
TEST(StoreUrlSecrets, ShowsTheRestOfTheUrl) {
  EXPECT_EQ(redact_store_url(
                "postgresql://app:Zz1Secret@127.0.0.1:5432/appdb?sslmode=disable&password=Zz2"),
            "postgresql://app:***@127.0.0.1:5432/appdb?sslmode=disable&password=***");
  EXPECT_EQ(redact_store_url("redis://:pw@127.0.0.1:6379/2"), "redis://:***@127.0.0.1:6379/2");
  EXPECT_EQ(redact_store_url("rediss://app:pw@h:6380?ca=/etc/ca.pem&token=t0k"),
            "rediss://app:***@h:6380?ca=/etc/ca.pem&token=***");
  EXPECT_EQ(redact_store_url("host=db password='a b' port=5432"), "host=db password=*** port=5432");
  // Nothing secret: unchanged.
  for (const char* plain : {"memory://", "sqlite://./data/s.db", "redis://app@127.0.0.1:6379/0",
                            "postgresql://app@db/app?sslmode=require", "cookie://?max_bytes=900"}) {
    EXPECT_EQ(redact_store_url(plain), plain);
  }
}

// scrub: every spelling of a secret a library could echo, and nothing else.
TEST(StoreUrlSecrets, ScrubHidesEverySpellingOfTheSecrets) {
  const std::string url = "postgresql://app:Sc1Word%40Tail9@db:5432/app?password=Qp4Other";
  EXPECT_EQ(scrub_store_url("auth failed for 'Sc1Word@Tail9' and Qp4Other", url),
            "auth failed for '***' and ***");
  EXPECT_EQ(scrub_store_url("raw Sc1Word%40Tail9; piece Tail9 alone", url),
            "raw ***; piece *** alone");
  EXPECT_EQ(scrub_store_url("could not connect to db:5432 as app", url),
            "could not connect to db:5432 as app");
  EXPECT_EQ(scrub_store_url("nothing to hide", "memory://"), "nothing to hide");
}

}  // namespace
}  // namespace sessionkit::testing
