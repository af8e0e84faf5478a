// Operational hardening of the demo (issue 21, penetration test findings 9 and 11): store
// passwords never reach the output, the SQLite data is owner-only, secrets come from files,
// and /metrics can be protected by a bearer token (and GET /events with it).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e/api.h"
#include "e2e/demo_process.h"
#include "e2e/http_client.h"
#include "support/server_process.h"

extern char** environ;

namespace e2e {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSecret = "e2e-secret-0123456789abcdef0123456789abcdef";

// The demo as a child process with extra SESSION_* variables and a working directory, its
// stdout and stderr in files. Stopped (SIGTERM, then SIGKILL) by pid when destroyed.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::vector<std::string>& env,
        const fs::path& cwd, const fs::path& logs) {
    static int counter = 0;
    const std::string base = (logs / ("child-" + std::to_string(++counter))).string();
    out_ = base + ".out";
    err_ = base + ".err";
    std::string binary = demo_binary();
    std::vector<std::string> args_copy = args;
    std::vector<char*> argv{binary.data()};
    for (auto& a : args_copy)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_store;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "SESSION_", 8) != 0) env_store.emplace_back(*e);
    }
    env_store.insert(env_store.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_store)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error(std::string("posix_spawn: ") + std::strerror(rc));
  }
  ~Child() { stop(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Everything the child wrote, stdout then stderr.
  std::string output() const {
    return sessionkit::testing::read_text(out_) + sessionkit::testing::read_text(err_);
  }
  // The exit code, waiting up to `timeout` (nullopt: still running).
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    if (!code_ && pid_ > 0) code_ = sessionkit::testing::wait_for_exit(pid_, timeout);
    return code_;
  }
  // The port of the "listening on http://HOST:PORT" line; 0 when the child exits first.
  std::uint16_t port() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string out = sessionkit::testing::read_text(out_);
      const std::size_t at = out.find("listening on http://");
      const std::size_t eol = at == std::string::npos ? at : out.find('\n', at);
      if (eol != std::string::npos) {
        const std::size_t colon = out.rfind(':', eol);
        return static_cast<std::uint16_t>(std::stoi(out.substr(colon + 1, eol - colon - 1)));
      }
      if (wait(std::chrono::milliseconds(20))) return 0;
    }
    return 0;
  }
  void stop() {
    if (pid_ <= 0 || code_) return;
    kill(pid_, SIGTERM);
    if (!wait(std::chrono::seconds(10))) {
      kill(pid_, SIGKILL);
      wait(std::chrono::seconds(10));
    }
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> code_;
  std::string out_;
  std::string err_;
};

// Runs the demo until it exits; its code and everything it printed.
std::pair<int, std::string> run_to_exit(const std::vector<std::string>& args,
                                        const std::vector<std::string>& env, const fs::path& dir) {
  Child child(args, env, dir, dir);
  auto code = child.wait(std::chrono::seconds(60));
  EXPECT_TRUE(code.has_value()) << "the demo did not exit: " << child.output();
  return {code.value_or(-1), child.output()};
}

void write_file(const fs::path& path, const std::string& text, mode_t mode) {
  std::ofstream(path, std::ios::binary) << text;
  fs::permissions(path, static_cast<fs::perms>(mode));
}

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

// ---- finding 9: store passwords in URLs ----

struct LeakCase {
  std::string url;
  std::vector<std::string> secret_pieces;  // none of these may be printed
};

// Every form of store URL with a password, pointing at a closed loopback port so that start-up
// fails: the demo prints the URL (redacted) and the store's error, never the password.
TEST(StoreUrlRedaction, PasswordsNeverReachTheOutput) {
  TempDir dir;
  const std::string port = std::to_string(sessionkit::testing::free_port());
  const std::string host = "127.0.0.1:" + port;
  const std::vector<LeakCase> cases = {
      // PostgreSQL: the password as a query parameter (the finding), sslpassword, with '&'.
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
    auto [code, output] =
        run_to_exit({"--store", c.url, "--listen", "127.0.0.1:0"}, {}, dir.path());
    EXPECT_NE(code, 0) << c.url << "\n" << output;
    EXPECT_NE(output.find("***"), std::string::npos) << c.url << "\n" << output;
    for (const std::string& piece : c.secret_pieces) {
      EXPECT_EQ(output.find(piece), std::string::npos)
          << "'" << piece << "' of " << c.url << " was printed:\n"
          << output;
    }
  }
}

// The redacted URL keeps what is not secret, so the operator can still see what was meant.
TEST(StoreUrlRedaction, ShowsTheRestOfTheUrl) {
  TempDir dir;
  const std::string port = std::to_string(sessionkit::testing::free_port());
  auto [code, output] = run_to_exit({"--store", "postgresql://app:Zz1Secret@127.0.0.1:" + port +
                                                    "/appdb?sslmode=disable&password=Zz2Secret"},
                                    {}, dir.path());
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("'postgresql://app:***@127.0.0.1:" + port +
                        "/appdb?sslmode=disable&password=***'"),
            std::string::npos)
      << output;
}

// ---- finding 11: file modes ----

// The default store (sqlite://./data/sessions.db, relative to the working directory): the data
// directory is created 0700, the database and its -wal / -shm files 0600.
TEST(DataFileModes, TheDefaultDataDirectoryAndDatabaseArePrivate) {
  TempDir dir;
  const mode_t old_umask = ::umask(022);  // the usual umask; the child inherits it
  {
    Child demo({"--listen", "127.0.0.1:0", "--secret", kSecret}, {}, dir.path(), dir.path());
    ::umask(old_umask);
    ASSERT_NE(demo.port(), 0) << demo.output();
    HttpClient c(demo.port());
    EXPECT_EQ(c.get("/healthz").result_int(), 200);
    EXPECT_EQ(mode_of(dir.path() / "data"), 0700u);
    EXPECT_EQ(mode_of(dir.path() / "data" / "sessions.db"), 0600u);
    EXPECT_EQ(mode_of(dir.path() / "data" / "sessions.db-wal"), 0600u);
    EXPECT_EQ(mode_of(dir.path() / "data" / "sessions.db-shm"), 0600u);
    EXPECT_EQ(demo.output().find("accessible to group or others"), std::string::npos)
        << demo.output();
  }
  ::umask(old_umask);
}

// An existing file keeps the mode its operator chose, with a warning when it is not private.
TEST(DataFileModes, AnExistingSharedFileIsKeptWithAWarning) {
  TempDir dir;
  const fs::path db = dir.path() / "shared.db";
  write_file(db, "", 0640);
  Child demo({"--listen", "127.0.0.1:0", "--secret", kSecret, "--store", "sqlite://" + db.string()},
             {}, dir.path(), dir.path());
  ASSERT_NE(demo.port(), 0) << demo.output();
  EXPECT_EQ(mode_of(db), 0640u);
  EXPECT_NE(demo.output().find("accessible to group or others (mode 640)"), std::string::npos)
      << demo.output();
}

// ---- finding 11: secrets on the command line ----

TEST(SecretFile, TheKeyringComesFromAFileNamedByFlagOrEnvironment) {
  TempDir dir;
  const fs::path file = dir.path() / "secret";
  write_file(file, std::string(kSecret) + "\n", 0600);
  {
    Child demo({"--listen", "127.0.0.1:0", "--store", "memory://", "--mode", "production",
                "--secret-file", file.string()},
               {}, dir.path(), dir.path());
    ASSERT_NE(demo.port(), 0) << demo.output();
    EXPECT_EQ(demo.output().find("visible"), std::string::npos) << demo.output();
    EXPECT_EQ(demo.output().find("group or others"), std::string::npos) << demo.output();
  }
  {
    Child demo({"--listen", "127.0.0.1:0", "--store", "memory://", "--mode", "production"},
               {"SESSION_SECRET_FILE=" + file.string()}, dir.path(), dir.path());
    ASSERT_NE(demo.port(), 0) << demo.output();
  }
  // The file's secret (trailing newline dropped) is the keyring: a session signed in under it
  // is still signed in under --secret with the same text, on the same SQLite file.
  const std::string store = "sqlite://" + (dir.path() / "s.db").string();
  CookieJar jar;
  {
    Child demo({"--listen", "127.0.0.1:0", "--store", store, "--secret-file", file.string()}, {},
               dir.path(), dir.path());
    ASSERT_NE(demo.port(), 0) << demo.output();
    HttpClient c(demo.port());
    ASSERT_EQ(login(c, "alice", "wonderland").result_int(), 200);
    ASSERT_TRUE(body_json(c.get("/api/session")).value("authenticated", false));
    jar = c.jar;
  }
  Child demo({"--listen", "127.0.0.1:0", "--store", store, "--secret", kSecret}, {}, dir.path(),
             dir.path());
  ASSERT_NE(demo.port(), 0) << demo.output();
  HttpClient again(demo.port());
  again.jar = jar;
  EXPECT_TRUE(body_json(again.get("/api/session")).value("authenticated", false));
}

TEST(SecretFile, RefusesAnEmptyMissingOrUnparsableFile) {
  TempDir dir;
  const fs::path empty = dir.path() / "empty";
  write_file(empty, "\n", 0600);
  const fs::path bad = dir.path() / "bad";
  write_file(bad, "abc,,def\n", 0600);
  const fs::path missing = dir.path() / "missing";
  for (const auto& [args, env, expect] :
       std::vector<std::tuple<std::vector<std::string>, std::vector<std::string>, std::string>>{
           {{"--secret-file", empty.string()}, {}, "is empty"},
           {{}, {"SESSION_SECRET_FILE=" + empty.string()}, "is empty"},
           {{"--secret-file", missing.string()}, {}, "cannot read it"},
           {{"--secret-file", dir.path().string()}, {}, "not a regular file"},
           {{"--secret-file", bad.string()}, {}, "empty item"},
           {{"--secret-file", empty.string(), "--secret", kSecret}, {}, "not both"},
       }) {
    std::vector<std::string> full = args;
    full.insert(full.end(), {"--store", "memory://", "--listen", "127.0.0.1:0"});
    auto [code, output] = run_to_exit(full, env, dir.path());
    EXPECT_EQ(code, 2) << output;
    EXPECT_NE(output.find(expect), std::string::npos) << expect << "\n" << output;
    EXPECT_EQ(output.find("abc,,def"), std::string::npos) << output;
  }
}

TEST(SecretFile, WarnsAboutAFileOthersCanReadAndAboutSecretOnTheCommandLine) {
  TempDir dir;
  const fs::path file = dir.path() / "secret";
  write_file(file, kSecret, 0644);
  {
    Child demo({"--listen", "127.0.0.1:0", "--store", "memory://", "--secret-file", file.string()},
               {}, dir.path(), dir.path());
    ASSERT_NE(demo.port(), 0) << demo.output();
    EXPECT_NE(demo.output().find("can be read or written by group or others (mode 644)"),
              std::string::npos)
        << demo.output();
  }
  Child demo({"--listen", "127.0.0.1:0", "--store", "memory://", "--secret", kSecret}, {},
             dir.path(), dir.path());
  ASSERT_NE(demo.port(), 0) << demo.output();
  EXPECT_NE(demo.output().find("--secret on the command line can be seen by other local users"),
            std::string::npos)
      << demo.output();
}

// ---- finding 11: /metrics ----

TEST(MetricsToken, ProtectsMetricsWhenConfigured) {
  TempDir dir;
  const std::string token = "m3trics-T0ken_abc.def~ghi";
  const fs::path file = dir.path() / "metrics-token";
  write_file(file, token + "\n", 0600);
  for (bool by_env : {false, true}) {
    std::vector<std::string> args = {"--listen",  "127.0.0.1:0", "--store",
                                     "memory://", "--secret",    kSecret};
    std::vector<std::string> env;
    if (by_env) {
      env.push_back("SESSION_METRICS_TOKEN_FILE=" + file.string());
    } else {
      args.insert(args.end(), {"--metrics-token-file", file.string()});
    }
    Child demo(args, env, dir.path(), dir.path());
    ASSERT_NE(demo.port(), 0) << demo.output();
    HttpClient c(demo.port());
    EXPECT_EQ(c.get("/metrics").result_int(), 401) << by_env;
    EXPECT_EQ(c.get("/metrics", {{"Authorization", "Bearer wrong-token"}}).result_int(), 401);
    EXPECT_EQ(c.get("/metrics", {{"Authorization", "Bearer " + token + "x"}}).result_int(), 401);
    EXPECT_EQ(c.get("/metrics", {{"Authorization", token}}).result_int(), 401);
    Response ok = c.get("/metrics", {{"Authorization", "Bearer " + token}});
    EXPECT_EQ(ok.result_int(), 200) << by_env;
    EXPECT_NE(ok.body().find("# TYPE sessionkit_"), std::string::npos) << ok.body();
    EXPECT_EQ(demo.output().find(token), std::string::npos) << demo.output();
  }
}

TEST(MetricsToken, MetricsArePublicWithoutTheFlag) {
  TempDir dir;
  DemoProcess demo({"--listen", "127.0.0.1:0", "--store", "memory://", "--secret", kSecret},
                   dir.path(), "metrics-public");
  HttpClient c(demo.port());
  Response res = c.get("/metrics");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_NE(res.body().find("# TYPE sessionkit_"), std::string::npos) << res.body();
}

TEST(MetricsToken, RefusesAnEmptyOrMissingTokenFile) {
  TempDir dir;
  const fs::path empty = dir.path() / "empty";
  write_file(empty, "", 0600);
  const fs::path spaced = dir.path() / "spaced";
  write_file(spaced, "two words\n", 0600);
  for (const auto& [file, expect] :
       std::vector<std::pair<fs::path, std::string>>{{empty, "is empty"},
                                                     {dir.path() / "missing", "cannot read it"},
                                                     {spaced, "printable"}}) {
    auto [code, output] = run_to_exit(
        {"--store", "memory://", "--metrics-token-file", file.string(), "--listen", "127.0.0.1:0"},
        {}, dir.path());
    EXPECT_EQ(code, 2) << output;
    EXPECT_NE(output.find("--metrics-token-file"), std::string::npos) << output;
    EXPECT_NE(output.find(expect), std::string::npos) << expect << "\n" << output;
  }
}

// ---- GET /events: the recent lifecycle events, behind the metrics token ----

// The events of an /events answer, checked for the shape every answer has.
nlohmann::json events_of(const Response& res) {
  EXPECT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(res[bhttp::field::cache_control], "no-store");
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  nlohmann::json j = body_json(res);
  EXPECT_TRUE(j["instance"].is_string() && j["last_seq"].is_number_unsigned() &&
              j["dropped"].is_number_unsigned() && j["events"].is_array())
      << j;
  return j;
}

TEST(EventsEndpoint, ListsTheLifecycleInOrderAndAfterGivesOnlyNewerOnes) {
  TempDir dir;
  std::vector<std::string> args = demo_args("memory://");
  args.insert(args.end(), {"--login-pair-free", "0"});  // one wrong password: an anomaly
  DemoProcess demo(args, dir.path(), "events");
  HttpClient c(demo.port());
  const nlohmann::json before = events_of(c.get("/events"));
  EXPECT_EQ(before["last_seq"], 0);
  EXPECT_EQ(before["events"].size(), 0u);
  const std::string instance = before["instance"];
  EXPECT_EQ(instance.size(), 16u);
  EXPECT_EQ(instance.find_first_not_of("0123456789abcdef"), std::string::npos) << instance;

  // An anonymous session stored (created), signed in (rotated), signed out (destroyed).
  ASSERT_EQ(c.post_json("/api/increment", "", csrf(c)).result_int(), 200);
  ASSERT_EQ(login(c, "alice", "wonderland").result_int(), 200);
  ASSERT_EQ(c.post_json("/api/logout", "", csrf(c)).result_int(), 200);

  const nlohmann::json all = events_of(c.get("/events"));
  EXPECT_EQ(all["instance"], instance) << "the same process, the same instance";
  EXPECT_EQ(all["dropped"], 0);
  const nlohmann::json& events = all["events"];
  ASSERT_EQ(events.size(), 3u) << all;
  const std::vector<std::string> types = {"created", "rotated", "destroyed"};
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["seq"], i + 1) << events[i];
    EXPECT_EQ(events[i]["event"], types[i]) << events[i];
    EXPECT_TRUE(events[i]["at_ms"].is_number_integer()) << events[i];
    EXPECT_EQ(events[i]["key"].get<std::string>().size(), 8u) << events[i];
    EXPECT_TRUE(events[i]["reason"].is_string()) << events[i];
  }
  EXPECT_EQ(events[0]["user"], "") << "the anonymous session";
  EXPECT_EQ(events[1]["user"], "alice");
  EXPECT_EQ(events[1]["old_key"], events[0]["key"]) << "the sign-in rotated that session";
  EXPECT_EQ(events[2]["user"], "alice");
  EXPECT_EQ(events[2]["key"], events[1]["key"]);
  EXPECT_EQ(all["last_seq"], 3);
  EXPECT_EQ(events.dump().find("wonderland"), std::string::npos);

  // after= gives only the newer ones; limit= at most that many, oldest first.
  const nlohmann::json newer = events_of(c.get("/events?after=2"));
  ASSERT_EQ(newer["events"].size(), 1u) << newer;
  EXPECT_EQ(newer["events"][0]["seq"], 3);
  EXPECT_EQ(newer["events"][0]["event"], "destroyed");
  const nlohmann::json first = events_of(c.get("/events?after=0&limit=1"));
  ASSERT_EQ(first["events"].size(), 1u) << first;
  EXPECT_EQ(first["events"][0]["seq"], 1);
  EXPECT_EQ(first["last_seq"], 3);
  EXPECT_EQ(events_of(c.get("/events?after=3"))["events"].size(), 0u);
  EXPECT_EQ(events_of(c.get("/events?limit=5000"))["events"].size(), 3u) << "capped, not refused";

  // The sign-in guards' events land there too: a wrong password over --login-pair-free.
  ASSERT_EQ(login(c, "alice", "not-her-password").result_int(), 401);
  const nlohmann::json anomaly = events_of(c.get("/events?after=3"));
  ASSERT_EQ(anomaly["events"].size(), 1u) << anomaly;
  EXPECT_EQ(anomaly["events"][0]["seq"], 4);
  EXPECT_EQ(anomaly["events"][0]["event"], "anomaly");
  EXPECT_EQ(anomaly["events"][0]["anomaly"], "login_failures_pair");

  // Not a number: 400 with the demo's JSON error.
  for (const char* target : {"/events?after=abc", "/events?after=-1", "/events?after=",
                             "/events?limit=abc", "/events?after=1x", "/events?after=%zz"}) {
    Response bad = c.get(target);
    EXPECT_EQ(bad.result_int(), 400) << target;
    EXPECT_TRUE(body_json(bad)["error"].is_string()) << target << " " << bad.body();
  }
  EXPECT_NE(body_json(c.get("/events?after=abc"))["error"].get<std::string>().find("after"),
            std::string::npos);
  EXPECT_EQ(c.request(bhttp::verb::post, "/events").result_int(), 405);

  // Another process numbers from 1 again, under another instance.
  DemoProcess other(demo_args("memory://"), dir.path(), "events-other");
  HttpClient c2(other.port());
  const nlohmann::json restarted = events_of(c2.get("/events"));
  EXPECT_NE(restarted["instance"], instance);
  EXPECT_EQ(restarted["last_seq"], 0);
}

TEST(EventsEndpoint, NeedsTheMetricsTokenWhenOneIsConfigured) {
  TempDir dir;
  const std::string token = "ev3nts-T0ken_abc.def~ghi";
  const fs::path token_file = dir.path() / "metrics-token";
  write_file(token_file, token + "\n", 0600);
  const fs::path secret_file = dir.path() / "secret";
  write_file(secret_file, kSecret, 0600);
  for (const std::string mode : {"development", "production"}) {
    Child demo({"--listen", "127.0.0.1:0", "--store", "memory://", "--mode", mode, "--secret-file",
                secret_file.string(), "--metrics-token-file", token_file.string()},
               {}, dir.path(), dir.path());
    ASSERT_NE(demo.port(), 0) << demo.output();
    HttpClient c(demo.port());
    for (const Headers& wrong : std::vector<Headers>{{},
                                                     {{"Authorization", "Bearer wrong-token"}},
                                                     {{"Authorization", "Bearer " + token + "x"}},
                                                     {{"Authorization", token}}}) {
      Response refused = c.get("/events", wrong);
      EXPECT_EQ(refused.result_int(), 401) << mode;
      EXPECT_EQ(refused[bhttp::field::www_authenticate], "Bearer realm=\"metrics\"") << mode;
      EXPECT_EQ(body_json(refused)["error"], "events need a bearer token");
    }
    EXPECT_EQ(c.get("/events?after=abc").result_int(), 401) << "the token is checked first";
    const nlohmann::json ok = events_of(c.get("/events", {{"Authorization", "Bearer " + token}}));
    EXPECT_EQ(ok["last_seq"], 0) << mode;
    EXPECT_EQ(c.get("/metrics", {{"Authorization", "Bearer " + token}}).result_int(), 200);
    EXPECT_EQ(demo.output().find(token), std::string::npos) << demo.output();
  }
}

TEST(EventsEndpoint, ProductionWithoutATokenDoesNotServeIt) {
  TempDir dir;
  const fs::path secret_file = dir.path() / "secret";
  write_file(secret_file, kSecret, 0600);
  Child demo({"--listen", "127.0.0.1:0", "--store", "memory://", "--mode", "production",
              "--secret-file", secret_file.string()},
             {}, dir.path(), dir.path());
  ASSERT_NE(demo.port(), 0) << demo.output();
  HttpClient c(demo.port());
  Response res = c.get("/events");
  EXPECT_EQ(res.result_int(), 404);
  const std::string error = body_json(res).value("error", "");
  EXPECT_NE(error.find("--metrics-token-file"), std::string::npos) << error;
  EXPECT_NE(error.find("user ids"), std::string::npos) << error;
  EXPECT_EQ(c.get("/metrics").result_int(), 200) << "/metrics stays public, as before";
  EXPECT_NE(demo.output().find("/events is not served"), std::string::npos) << demo.output();
}

}  // namespace
}  // namespace e2e
