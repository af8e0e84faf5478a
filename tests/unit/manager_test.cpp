// SessionManager policy tests: a fake clock, the real memory store, fake HTTP views.
#include "sessionkit/manager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <thread>

#include "sessionkit/blocking_store.h"
#include "sessionkit/stores/memory.h"
#include "support/faulty_store.h"
#include "support/http_fakes.h"
#include "support/manager_harness.h"

namespace sessionkit {
namespace {

using namespace std::chrono_literals;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::FaultyStore;

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";

class ManagerTest : public testing::ManagerHarness {
 protected:
  // A session with a value, committed; returns its cookie pair.
  std::string new_session(std::string key = "k", nlohmann::json value = 1) {
    Session s = load_ok("");
    s.set(std::move(key), std::move(value));
    std::string cookie = commit_cookie(s);
    EXPECT_FALSE(cookie.empty());
    return cookie;
  }
};

TEST_F(ManagerTest, AnonymousReadCostsNothing) {
  Session s = load_ok("");
  EXPECT_TRUE(s.is_new());
  EXPECT_FALSE(s.contains("x"));
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  EXPECT_TRUE(res.all("Set-Cookie").empty());
  EXPECT_EQ(stored(), 0u);
  EXPECT_EQ(store_->writes(), 0u);
}

TEST_F(ManagerTest, ModifiedNewSessionIsStoredAndReloaded) {
  std::string cookie = new_session("visits", 7);
  EXPECT_EQ(stored(), 1u);
  EXPECT_EQ(metrics_->sessions_created, 1u);
  Session again = load_ok(cookie);
  EXPECT_FALSE(again.is_new());
  EXPECT_EQ(again.get<int>("visits"), 7);
  EXPECT_FALSE(again.id_hint().empty());
}

TEST_F(ManagerTest, CookieCarriesSignedIdNotTheKey) {
  Session s = load_ok("");
  s.set("a", 1);
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  auto line = res.set_cookie_line("sid");
  ASSERT_TRUE(line);
  std::string value = res.set_cookie_pair("sid")->substr(4);
  ASSERT_EQ(value.size(), 43u + 1 + 43u);
  EXPECT_NE(line->find("HttpOnly"), std::string::npos);
  EXPECT_NE(line->find("SameSite=Lax"), std::string::npos);
  EXPECT_NE(line->find("Path=/"), std::string::npos);
  // A browser-session cookie by default (issue 21, finding 11): gone when the browser closes.
  EXPECT_EQ(line->find("Max-Age"), std::string::npos);
  EXPECT_EQ(line->find("Expires"), std::string::npos);
  EXPECT_EQ(line->find("Secure"), std::string::npos);  // development mode
  EXPECT_EQ(res.first("Cache-Control"), "no-store");
  // The store holds the digest, never the ID.
  auto id = SessionId::parse(value.substr(0, 43));
  ASSERT_TRUE(id);
  auto rec = BlockingStore(*memory_).load(SessionKey::of(*id));
  ASSERT_TRUE(rec.ok() && rec->has_value());
}

TEST_F(ManagerTest, ProductionCookieAttributes) {
  rebuild(SessionOptions::production());
  Session s = load_ok("");
  s.set("a", 1);
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  auto line = res.set_cookie_line("__Host-sid");
  ASSERT_TRUE(line) << (res.all("Set-Cookie").empty() ? "" : res.all("Set-Cookie")[0]);
  for (const char* attr : {"; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/"}) {
    EXPECT_NE(line->find(attr), std::string::npos) << attr;
  }
  EXPECT_EQ(line->find("Domain"), std::string::npos);
  // A plain "sid" cookie is not read in production.
  std::string pair = *res.set_cookie_pair("__Host-sid");
  EXPECT_FALSE(load_ok(pair).is_new());
  EXPECT_TRUE(load_ok("sid" + pair.substr(pair.find('='))).is_new());
}

TEST_F(ManagerTest, OptionsValidation) {
  SessionOptions o = SessionOptions::production();
  o.cookie.domain = "example.com";
  EXPECT_FALSE(o.validate().ok());  // __Host- forbids Domain
  o = SessionOptions::production();
  o.cookie.secure = false;
  EXPECT_FALSE(o.validate().ok());
  o = SessionOptions::development();
  o.idle_timeout = 0s;
  EXPECT_FALSE(o.validate().ok());
  EXPECT_THROW(rebuild(o), std::invalid_argument);
}

// The library enforces the secret rule itself (issue 20): not only the demo's flag checks.
TEST_F(ManagerTest, ShortSecretsAreRefusedUnlessTheOptionsAllowThem) {
  const std::string strong = "0123456789abcdef0123456789abcdef";  // 32 bytes
  try {
    rebuild(SessionOptions::production(), "hunter2");
    ADD_FAILURE() << "a 7-byte secret was accepted in production";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at least 32 bytes"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("the shortest has 7"), std::string::npos) << e.what();
  }
  // An old secret still verifies cookies: a short one is refused as well.
  EXPECT_THROW(rebuild(SessionOptions::production(), strong + ",old-short"), std::invalid_argument);
  SessionOptions defaults;
  EXPECT_EQ(defaults.min_secret_bytes, Keyring::kMinSecretBytes);
  defaults.cookie.secure = true;
  EXPECT_THROW(rebuild(defaults, "short"), std::invalid_argument) << "the default is strict";
  EXPECT_THROW(rebuild(SessionOptions::production(), strong.substr(1)), std::invalid_argument);
  EXPECT_NO_THROW(rebuild(SessionOptions::production(), strong + "," + strong + "x"));
  EXPECT_NO_THROW(rebuild(SessionOptions::development(), "short"));  // local runs only
  EXPECT_EQ(SessionOptions::development().min_secret_bytes, 0u);
}

TEST_F(ManagerTest, TamperedCookieIsNoSessionAndIsCleared) {
  std::string cookie = new_session();
  std::string tampered = cookie;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  Session s = load_ok(tampered);
  EXPECT_TRUE(s.is_new());
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  auto line = res.set_cookie_line("sid");
  ASSERT_TRUE(line);
  EXPECT_NE(line->find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(stored(), 1u);  // the real session is untouched
  EXPECT_FALSE(load_ok(cookie).is_new());
}

TEST_F(ManagerTest, StrictModeNeverAdoptsUnknownId) {
  // A correctly signed ID the store does not know (e.g. chosen by an attacker who got a
  // signature oracle, or a session that was deleted) is not adopted.
  Keyring k = Keyring::parse(kSecret).value();
  SessionId chosen = SessionId::generate();
  std::string cookie = "sid=" + k.sign(chosen.str(), "cookie:sid");
  Session s = load_ok(cookie);
  EXPECT_TRUE(s.is_new());
  s.set("a", 1);
  std::string issued = commit_cookie(s);
  ASSERT_FALSE(issued.empty());
  EXPECT_EQ(issued.find(chosen.str()), std::string::npos);
  auto rec = BlockingStore(*memory_).load(SessionKey::of(chosen));
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->has_value());
}

TEST_F(ManagerTest, GarbageCookiesAreNoSession) {
  for (std::string c :
       std::vector<std::string>{"sid=", "sid=.", "sid=abc", "sid=" + std::string(5000, 'A'),
                                std::string("sid=\xff\xfe.\x01"), "sid=a.b.c", ";;;=;", "sid"}) {
    auto r = load(c);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->is_new()) << c;
  }
}

TEST_F(ManagerTest, RegenerateRotatesIdKeepsDataDestroysOld) {
  std::string before = new_session("cart", "apples");
  Session s = load_ok(before);
  s.regenerate();
  s.set_user("alice");
  std::string after = commit_cookie(s);
  ASSERT_FALSE(after.empty());
  EXPECT_NE(after, before);
  EXPECT_EQ(stored(), 1u);
  EXPECT_EQ(metrics_->sessions_rotated, 1u);
  EXPECT_TRUE(load_ok(before).is_new());  // the fixated/old ID is worthless
  Session now = load_ok(after);
  EXPECT_EQ(now.get<std::string>("cart"), "apples");
  EXPECT_EQ(now.user_id(), "alice");
  ASSERT_TRUE(now.auth_at());
  EXPECT_EQ(*now.auth_at(), clock_.now());
}

TEST_F(ManagerTest, RegenerateOnNewSessionCreatesOne) {
  Session s = load_ok("");
  s.regenerate();
  s.set("x", 1);
  EXPECT_FALSE(commit_cookie(s).empty());
  EXPECT_EQ(stored(), 1u);
}

TEST_F(ManagerTest, DestroyRemovesRecordAndClearsCookie) {
  std::string cookie = new_session();
  Session s = load_ok(cookie);
  s.destroy();
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  auto line = res.set_cookie_line("sid");
  ASSERT_TRUE(line);
  EXPECT_NE(line->find("Max-Age=0"), std::string::npos);
  EXPECT_NE(line->find("Expires=Thu, 01 Jan 1970 00:00:00 GMT"), std::string::npos);
  EXPECT_EQ(stored(), 0u);
  EXPECT_TRUE(load_ok(cookie).is_new());
  EXPECT_EQ(metrics_->sessions_destroyed, 1u);
}

TEST_F(ManagerTest, IdleTimeout) {
  std::string cookie = new_session();
  const SessionKey key = SessionKey::of(
      *SessionId::parse(cookie.substr(cookie.find('=') + 1, SessionId::kEncodedLength)));
  clock_.advance(options_.idle_timeout - 1s);
  auto live = BlockingStore(*memory_).load(key);  // (a load by the manager would refresh it)
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(live->has_value());
  clock_.advance(2s);
  EXPECT_TRUE(load_ok(cookie).is_new());
  // The store's own TTL hid it (the manager then cannot tell it from an unknown ID).
  auto rec = BlockingStore(*memory_).load(key);
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->has_value());
}

TEST_F(ManagerTest, ActivityExtendsIdleButNotAbsolute) {
  std::string cookie = new_session();
  // A request every 10 minutes keeps the session alive (idle 30 min) ...
  for (int i = 0; i < 6 * 11; ++i) {
    clock_.advance(10min);
    Session s = load_ok(cookie);
    ASSERT_FALSE(s.is_new()) << "after " << (i + 1) * 10 << " min";
    commit_cookie(s);
  }
  // ... until the absolute timeout (12 h) ends it whatever the activity.
  clock_.advance(10min * 7);
  Session s = load_ok(cookie);
  EXPECT_TRUE(s.is_new());
}

TEST_F(ManagerTest, ManagerRechecksExpiryWhateverTheStoreSays) {
  std::string cookie = new_session();
  // Shorter idle timeout configured later: old records are judged by the new policy.
  SessionOptions shorter = SessionOptions::development();
  shorter.idle_timeout = 5min;
  rebuild(shorter);
  clock_.advance(6min);
  EXPECT_TRUE(load_ok(cookie).is_new());
  EXPECT_EQ(metrics_->sessions_expired, 1u);
}

TEST_F(ManagerTest, LazyTouch) {
  std::string cookie = new_session();
  Time created = clock_.now();
  std::size_t writes = store_->writes();
  clock_.advance(10s);
  {
    Session s = load_ok(cookie);
    EXPECT_TRUE(commit_cookie(s).empty());  // no rolling: no cookie
  }
  EXPECT_EQ(store_->writes(), writes);  // within the touch interval: no write
  clock_.advance(options_.touch_interval);
  {
    Session s = load_ok(cookie);
    commit_cookie(s);
  }
  EXPECT_EQ(store_->writes(), writes + 1);
  Session s = load_ok(cookie);
  EXPECT_EQ(s.last_access(), created + 10s + options_.touch_interval);
  EXPECT_EQ(s.expires_at(), s.last_access() + options_.idle_timeout);
}

TEST_F(ManagerTest, ADueTouchRidesOnTheLoadAndCommitWritesNothingMore) {
  std::string cookie = new_session();
  clock_.advance(options_.touch_interval);
  const std::size_t calls = store_->calls(), writes = store_->writes();
  Session s = load_ok(cookie);
  EXPECT_EQ(s.last_access(), clock_.now()) << "the load refreshed the access time";
  EXPECT_TRUE(commit_cookie(s).empty());
  EXPECT_EQ(store_->calls(), calls + 1) << "one store call for the whole read";
  EXPECT_EQ(store_->writes(), writes + 1);
}

TEST_F(ManagerTest, RollingTouchesOnceForLoadAndCommit) {
  SessionOptions o = SessionOptions::development();
  o.rolling = true;
  rebuild(o);
  std::string cookie = new_session();
  clock_.advance(1s);
  const std::size_t calls = store_->calls();
  Session s = load_ok(cookie);
  EXPECT_EQ(s.last_access(), clock_.now());
  EXPECT_FALSE(commit_cookie(s).empty()) << "rolling re-sends the cookie";
  EXPECT_EQ(store_->calls(), calls + 1);
}

TEST_F(ManagerTest, TheLoadNeverRefreshesARecordIdlePastTheManagersTimeout) {
  std::string cookie = new_session();  // stored with the default 30-minute idle deadline
  SessionOptions shorter = SessionOptions::development();
  shorter.idle_timeout = 10min;
  rebuild(shorter);
  clock_.advance(15min);  // live for the store, idle for this manager
  Session s = load_ok(cookie);
  EXPECT_FALSE(s.is_stored()) << "expired by the manager's idle timeout, not extended by the load";
  EXPECT_EQ(stored(), 0u);
}

TEST_F(ManagerTest, TouchIntervalIsCappedWithinTheIdleWindow) {
  SessionOptions o = SessionOptions::development();
  o.idle_timeout = 40s;  // shorter than the default 60 s touch interval
  rebuild(o);
  EXPECT_EQ(manager_->options().touch_interval, 20s);
  std::string cookie = new_session();
  for (int i = 0; i < 10; ++i) {  // a request every 25 s keeps the session alive
    clock_.advance(25s);
    Session s = load_ok(cookie);
    ASSERT_FALSE(s.is_new()) << i;
    commit_cookie(s);
  }
}

TEST_F(ManagerTest, RollingResendsCookieEveryResponse) {
  SessionOptions o = SessionOptions::development();
  o.rolling = true;
  rebuild(o);
  std::string cookie = new_session();
  clock_.advance(1s);
  Session s = load_ok(cookie);
  EXPECT_EQ(commit_cookie(s), cookie);  // same ID, fresh Max-Age
}

TEST_F(ManagerTest, ResaveRewritesUnchangedSession) {
  SessionOptions o = SessionOptions::development();
  o.resave = true;
  rebuild(o);
  std::string cookie = new_session();
  std::size_t writes = store_->writes();
  clock_.advance(1s);
  Session s = load_ok(cookie);
  commit_cookie(s);
  EXPECT_EQ(store_->writes(), writes + 1);
  EXPECT_EQ(load_ok(cookie).last_access(), clock_.now());
}

TEST_F(ManagerTest, SaveUninitializedStoresUntouchedNewSession) {
  SessionOptions o = SessionOptions::development();
  o.save_uninitialized = true;
  rebuild(o);
  Session s = load_ok("");
  EXPECT_FALSE(commit_cookie(s).empty());
  EXPECT_EQ(stored(), 1u);
}

TEST_F(ManagerTest, ConcurrentRequestsChangingDifferentKeysKeepBoth) {
  std::string cookie = new_session("base", 0);
  Session a = load_ok(cookie);
  Session b = load_ok(cookie);
  a.set("from_a", "A");
  b.set("from_b", "B");
  b.erase("base");
  commit_cookie(a);
  commit_cookie(b);
  Session c = load_ok(cookie);
  EXPECT_EQ(c.get<std::string>("from_a"), "A");
  EXPECT_EQ(c.get<std::string>("from_b"), "B");
  EXPECT_FALSE(c.contains("base"));
}

TEST_F(ManagerTest, NoResurrectionAfterConcurrentDestroy) {
  std::string cookie = new_session();
  Session slow = load_ok(cookie);
  Session logout = load_ok(cookie);
  logout.destroy();
  commit_cookie(logout);
  slow.set("late", true);
  FakeResponse res;
  Status st = commit(slow, res);
  EXPECT_EQ(st.code(), errc::not_found);
  EXPECT_EQ(stored(), 0u);
  EXPECT_TRUE(load_ok(cookie).is_new());
}

TEST_F(ManagerTest, IncrementCreatesThenCountsAtomically) {
  Session s = load_ok("");
  auto v = increment(s, "visits", 1);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(*v, 1);
  std::string cookie = commit_cookie(s);
  ASSERT_FALSE(cookie.empty());
  EXPECT_EQ(stored(), 1u);

  constexpr int kThreads = 8, kEach = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        Session x = load_ok(cookie);
        auto r = increment(x, "visits", 1);
        ASSERT_TRUE(r.ok());
        FakeResponse res;
        ASSERT_TRUE(commit(x, res).ok());
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(load_ok(cookie).get<std::int64_t>("visits"), 1 + kThreads * kEach);
}

TEST_F(ManagerTest, IncrementRejectsNonInteger) {
  std::string cookie = new_session("visits", "many");
  Session s = load_ok(cookie);
  EXPECT_EQ(increment(s, "visits", 1).code(), errc::invalid_argument);
  EXPECT_EQ(load_ok(cookie).get<std::string>("visits"), "many");
}

TEST_F(ManagerTest, IncrementOnANewSessionFollowsTheStoreRules) {
  Session s = load_ok("");
  s.set("n", std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(increment(s, "n", 1).code(), errc::invalid_argument);  // overflow: no UB, no record
  s.set("label", "x");
  EXPECT_EQ(increment(s, "label", 1).code(), errc::invalid_argument);
  EXPECT_EQ(stored(), 0u);
  EXPECT_EQ(s.get<std::int64_t>("n"), std::numeric_limits<std::int64_t>::max());
  auto v = increment(s, "fresh", 5);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 5);
  EXPECT_EQ(stored(), 1u);
}

TEST_F(ManagerTest, PayloadLimitsRejectAndKeepStoredData) {
  SessionOptions o = SessionOptions::development();
  o.max_payload_bytes = 1024;
  o.max_keys = 4;
  rebuild(o);
  std::string cookie = new_session("keep", "me");
  Session s = load_ok(cookie);
  s.set("big", std::string(2000, 'x'));
  FakeResponse res;
  EXPECT_EQ(commit(s, res).code(), errc::too_large);
  EXPECT_TRUE(res.all("Set-Cookie").empty());
  Session t = load_ok(cookie);
  for (int i = 0; i < 5; ++i)
    t.set("k" + std::to_string(i), i);
  EXPECT_EQ(commit(t, res).code(), errc::too_large);
  Session check = load_ok(cookie);
  EXPECT_EQ(check.get<std::string>("keep"), "me");
  EXPECT_FALSE(check.contains("big"));
  EXPECT_FALSE(check.contains("k0"));
}

TEST_F(ManagerTest, StoreFailureIsAnErrorNeverNoSession) {
  std::string cookie = new_session();
  store_->set_failing(true);
  auto r = load(cookie);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), errc::unavailable);
  EXPECT_GE(metrics_->store_errors, 1u);
  store_->set_failing(false);
  Session s = load_ok(cookie);
  s.set("x", 2);
  store_->set_failing(true);
  FakeResponse res;
  EXPECT_EQ(commit(s, res).code(), errc::unavailable);
  EXPECT_TRUE(res.all("Set-Cookie").empty());  // never a new cookie over the old one
  store_->set_failing(false);
  EXPECT_FALSE(load_ok(cookie).is_new());
}

TEST_F(ManagerTest, KeyringRotation) {
  std::string cookie = new_session();
  rebuild(SessionOptions::development(),
          "fedcba9876543210fedcba9876543210,0123456789abcdef0123456789abcdef");
  Session s = load_ok(cookie);
  EXPECT_FALSE(s.is_new());  // signed with the old secret: still accepted
  s.regenerate();
  std::string renewed = commit_cookie(s);
  rebuild(SessionOptions::development(), "fedcba9876543210fedcba9876543210");
  EXPECT_FALSE(load_ok(renewed).is_new());  // issued with the new secret
  EXPECT_TRUE(load_ok(cookie).is_new());    // old-secret cookies: no session, not an error
}

TEST_F(ManagerTest, ACookieSignedByAnOlderSecretIsReissuedWithTheNewest) {
  std::string cookie = new_session();
  rebuild(SessionOptions::development(),
          "fedcba9876543210fedcba9876543210,0123456789abcdef0123456789abcdef");
  Session s = load_ok(cookie);
  ASSERT_FALSE(s.is_new());
  const std::string reissued = commit_cookie(s);  // nothing changed, yet the cookie is re-signed
  ASSERT_FALSE(reissued.empty());
  EXPECT_NE(reissued, cookie);
  EXPECT_EQ(reissued.substr(0, reissued.rfind('.')), cookie.substr(0, cookie.rfind('.')));
  Session again = load_ok(reissued);  // newest secret: no further re-issue
  EXPECT_EQ(commit_cookie(again), "");
  rebuild(SessionOptions::development(), "fedcba9876543210fedcba9876543210");
  EXPECT_FALSE(load_ok(reissued).is_new());  // the old secret can now be retired
}

TEST_F(ManagerTest, DuplicateSessionCookiesAreAnAnomaly) {
  std::string cookie = new_session();
  Session s = load_ok(cookie + "; " + cookie);
  EXPECT_FALSE(s.is_new());
  EXPECT_EQ(metrics_->anomalies[Anomaly::duplicate_cookies], 1u);
  EXPECT_EQ(metrics_->anomalies.total(), 1u);
}

TEST_F(ManagerTest, RevokeUserSessionsKeepsCurrent) {
  std::vector<std::string> cookies;
  for (int i = 0; i < 3; ++i) {
    Session s = load_ok("");
    s.set_user("bob");
    s.set("n", i);
    cookies.push_back(commit_cookie(s));
  }
  Session current = load_ok(cookies[0]);
  std::optional<Result<std::size_t>> n;
  manager_->revoke_user_sessions("bob", &current, [&](Result<std::size_t> r) { n.emplace(r); });
  ASSERT_TRUE(n && n->ok());
  EXPECT_EQ(**n, 2u);
  EXPECT_FALSE(load_ok(cookies[0]).is_new());
  EXPECT_TRUE(load_ok(cookies[1]).is_new());
  EXPECT_TRUE(load_ok(cookies[2]).is_new());
}

TEST_F(ManagerTest, UsersListAndRevokeTheirOwnSessionsByHandle) {
  std::vector<std::string> bobs;
  for (int i = 0; i < 3; ++i) {
    Session s = load_ok("");
    s.set_user("bob");
    s.set("n", i);
    bobs.push_back(commit_cookie(s));
    clock_.advance(1s);
  }
  Session alice = load_ok("");
  alice.set_user("alice");
  const std::string alice_cookie = commit_cookie(alice);

  Session current = load_ok(bobs[1]);
  std::optional<Result<std::vector<SessionManager::SessionSummary>>> listed;
  manager_->list_sessions(current, [&](auto r) { listed.emplace(std::move(r)); });
  ASSERT_TRUE(listed && listed->ok());
  const auto& mine = **listed;
  ASSERT_EQ(mine.size(), 3u);  // bob's only, newest first
  EXPECT_GT(mine[0].created_at, mine[1].created_at);
  EXPECT_EQ(std::count_if(mine.begin(), mine.end(), [](const auto& v) { return v.current; }), 1);
  EXPECT_TRUE(mine[1].current);
  for (const auto& v : mine) {
    EXPECT_EQ(v.handle.size(), 22u);
    for (const auto& cookie : bobs) {  // a handle reveals neither the ID nor the store key
      const std::string id = cookie.substr(cookie.find('=') + 1, 43);
      EXPECT_EQ(v.handle.find(id.substr(0, 8)), std::string::npos);
    }
  }

  auto revoke = [&](const Session& who, const std::string& handle) {
    std::optional<Result<bool>> out;
    manager_->revoke_session(who, handle, [&](Result<bool> r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(out && out->ok());
    return out && out->ok() && **out;
  };
  Session alice_now = load_ok(alice_cookie);
  EXPECT_FALSE(revoke(alice_now, mine[0].handle)) << "another user's session: not found";
  EXPECT_FALSE(revoke(current, "not-a-handle"));
  EXPECT_TRUE(revoke(current, mine[0].handle));
  EXPECT_TRUE(load_ok(bobs[2]).is_new());  // the newest one is gone
  EXPECT_FALSE(load_ok(bobs[0]).is_new());
  EXPECT_FALSE(load_ok(alice_cookie).is_new());
  EXPECT_FALSE(revoke(current, mine[0].handle)) << "already revoked";

  Session anonymous = load_ok("");
  std::optional<Result<std::vector<SessionManager::SessionSummary>>> none;
  manager_->list_sessions(anonymous, [&](auto r) { none.emplace(std::move(r)); });
  ASSERT_TRUE(none && none->ok());
  EXPECT_TRUE((*none)->empty());
}

TEST_F(ManagerTest, BindingIsOffByDefault) {
  Session s = load_from("", "Firefox", "10.0.0.1").value();
  s.set("k", 1);
  const std::string cookie = commit_cookie(s);
  Session other = load_from(cookie, "curl", "10.0.0.2").value();
  EXPECT_FALSE(other.is_new());
  EXPECT_EQ(other.refusal(), "");
}

TEST_F(ManagerTest, UserAgentBindingRefusesAnotherClientAndDestroysTheSession) {
  SessionOptions o = SessionOptions::development();
  o.bind.user_agent = true;
  rebuild(o);
  Session s = load_from("", "Firefox", "10.0.0.1").value();
  s.set_user("alice");
  const std::string cookie = commit_cookie(s);
  // The same browser from another address: fine (only the User-Agent is bound).
  Session moved = load_from(cookie, "Firefox", "10.0.0.9").value();
  EXPECT_FALSE(moved.is_new());
  EXPECT_EQ(moved.refusal(), "");

  Session stolen = load_from(cookie, "curl/8.0", "10.0.0.9").value();
  EXPECT_TRUE(stolen.is_new());
  EXPECT_NE(stolen.refusal().find("User-Agent"), std::string::npos);
  EXPECT_EQ(metrics_->anomalies[Anomaly::binding_mismatch], 1u);
  EXPECT_EQ(metrics_->anomalies.total(), 1u);
  EXPECT_EQ(stored(), 0u);  // destroyed: the rightful owner must log in again too
  FakeResponse res;
  ASSERT_TRUE(commit(stolen, res).ok());
  auto cleared = res.set_cookie_line("sid");
  ASSERT_TRUE(cleared);
  EXPECT_NE(cleared->find("Max-Age=0"), std::string::npos);
  EXPECT_TRUE(load_from(cookie, "Firefox", "10.0.0.1").value().is_new());
}

TEST_F(ManagerTest, IpBindingRefusesAnotherAddressAndKeepsTheOriginalAcrossRotation) {
  SessionOptions o = SessionOptions::development();
  o.bind.ip = true;
  rebuild(o);
  Session s = load_from("", "Firefox", "192.0.2.7").value();
  s.set("k", 1);
  std::string cookie = commit_cookie(s);
  Session login = load_from(cookie, "Other UA", "192.0.2.7").value();  // UA not bound
  ASSERT_FALSE(login.is_new());
  login.set_user("alice");
  login.regenerate();
  cookie = commit_cookie(login);
  Session refused = load_from(cookie, "Firefox", "198.51.100.1").value();
  EXPECT_TRUE(refused.is_new());
  EXPECT_NE(refused.refusal().find("198.51.100.1"), std::string::npos);
  EXPECT_NE(refused.refusal().find("192.0.2.7"), std::string::npos);
  EXPECT_EQ(stored(), 0u);
}

TEST_F(ManagerTest, BindingFailsClosedWhenTheRefusedSessionCannotBeDestroyed) {
  SessionOptions o = SessionOptions::development();
  o.bind.user_agent = true;
  rebuild(o);
  Session s = load_from("", "Firefox", "10.0.0.1").value();
  s.set("k", 1);
  const std::string cookie = commit_cookie(s);
  store_->set_failing_destroy(true);
  auto r = load_from(cookie, "curl", "10.0.0.1");
  EXPECT_EQ(r.code(), errc::unavailable);  // 503, not "carry on as a visitor"
  store_->set_failing_destroy(false);
  EXPECT_TRUE(load_from(cookie, "curl", "10.0.0.1").value().is_new());
  EXPECT_EQ(stored(), 0u);
}

TEST_F(ManagerTest, ReauthenticationIsRecordedAndChecked) {
  Session anon = load_ok("");
  EXPECT_FALSE(manager_->authenticated_within(anon, 1h));
  Session s = load_ok("");
  s.set_user("alice");
  const std::string cookie = commit_cookie(s);
  EXPECT_TRUE(manager_->authenticated_within(s, 5min));
  clock_.advance(6min);
  Session later = load_ok(cookie);
  EXPECT_FALSE(manager_->authenticated_within(later, 5min));
  EXPECT_TRUE(manager_->authenticated_within(later, 10min));
  later.reauthenticated();
  EXPECT_TRUE(later.is_modified());
  EXPECT_EQ(commit_cookie(later), "");  // no new ID needed: the cookie stays
  EXPECT_TRUE(manager_->authenticated_within(later, 1s));
  Session reloaded = load_ok(cookie);
  EXPECT_TRUE(manager_->authenticated_within(reloaded, 1s));
  EXPECT_EQ(reloaded.auth_at(), clock_.now());
  EXPECT_EQ(reloaded.user_id(), "alice");
}

TEST_F(ManagerTest, SessionCapEvictsTheOldestOnLogin) {
  SessionOptions o = SessionOptions::development();
  o.max_sessions_per_user = 2;
  rebuild(o);
  std::vector<std::string> bobs;
  for (int i = 0; i < 4; ++i) {
    Session s = load_ok("");
    s.set_user("bob");
    bobs.push_back(commit_cookie(s));
    clock_.advance(1s);
  }
  Session alice = load_ok("");
  alice.set_user("alice");
  const std::string alice_cookie = commit_cookie(alice);
  EXPECT_TRUE(load_ok(bobs[0]).is_new());
  EXPECT_TRUE(load_ok(bobs[1]).is_new());
  EXPECT_FALSE(load_ok(bobs[2]).is_new());
  EXPECT_FALSE(load_ok(bobs[3]).is_new());
  EXPECT_FALSE(load_ok(alice_cookie).is_new());
  EXPECT_EQ(metrics_->sessions_destroyed, 2u);

  // A login from the oldest remaining session rotates it: the new ID counts as the newest, so
  // the next login evicts the other one.
  Session relog = load_ok(bobs[2]);
  relog.set_user("bob");
  relog.regenerate();
  const std::string renewed = commit_cookie(relog);
  clock_.advance(1s);
  Session fresh = load_ok("");
  fresh.set_user("bob");
  const std::string newest = commit_cookie(fresh);
  EXPECT_FALSE(load_ok(renewed).is_new());
  EXPECT_FALSE(load_ok(newest).is_new());
  EXPECT_TRUE(load_ok(bobs[3]).is_new());
}

TEST_F(ManagerTest, SessionCapThatCannotBeEnforcedFailsTheLogin) {
  SessionOptions o = SessionOptions::development();
  o.max_sessions_per_user = 1;
  rebuild(o);
  Session first = load_ok("");
  first.set_user("bob");
  const std::string cookie = commit_cookie(first);
  store_->set_failing_destroy(true);
  Session second = load_ok("");
  second.set_user("bob");
  FakeResponse res;
  EXPECT_EQ(commit(second, res).code(), errc::unavailable);
  EXPECT_TRUE(res.all("Set-Cookie").empty());
  store_->set_failing_destroy(false);
  EXPECT_FALSE(load_ok(cookie).is_new());
}

// Two logins of one user race with a cap of 1: both records are stored before either looks
// at the user's sessions. Each used to keep itself and end the other, which left the user with
// no session and both logins "successful". Both now rank the sessions the same way: the newer
// login stays, and the older one is ended and told so (conflict, no cookie).
TEST_F(ManagerTest, RacingLoginsUnderTheCapKeepExactlyTheNewest) {
  SessionOptions o = SessionOptions::development();
  o.max_sessions_per_user = 1;
  rebuild(o);
  store_->hold_list_user(true);
  Session older = load_ok("");
  older.set_user("bob");
  FakeResponse older_res;
  std::optional<Status> older_done;
  manager_->commit(older, older_res, [&](Status st) { older_done.emplace(std::move(st)); });
  clock_.advance(1s);
  Session newer = load_ok("");
  newer.set_user("bob");
  FakeResponse newer_res;
  std::optional<Status> newer_done;
  manager_->commit(newer, newer_res, [&](Status st) { newer_done.emplace(std::move(st)); });
  ASSERT_EQ(store_->held(), 2u) << "both records stored, neither cap check done";
  EXPECT_FALSE(older_done || newer_done);

  store_->hold_list_user(false);
  store_->release_held();
  ASSERT_TRUE(older_done && newer_done);
  EXPECT_EQ(newer_done->code(), errc::ok) << newer_done->to_string();
  EXPECT_EQ(older_done->code(), errc::conflict) << older_done->to_string();
  EXPECT_TRUE(older_res.all("Set-Cookie").empty()) << "an ended login gets no cookie";
  EXPECT_FALSE(older.is_stored());

  const std::string cookie =
      newer_res.set_cookie_pair(manager_->options().cookie.full_name()).value_or("");
  ASSERT_FALSE(cookie.empty());
  EXPECT_EQ(load_ok(cookie).user_id(), "bob");
  std::optional<Result<std::vector<StoredSession>>> listed;
  memory_->list_user("bob",
                     [&](Result<std::vector<StoredSession>> r) { listed.emplace(std::move(r)); });
  ASSERT_TRUE(listed && listed->ok());
  EXPECT_EQ((*listed)->size(), 1u) << "exactly the cap";
  EXPECT_EQ(metrics_->sessions_destroyed, 1u);
}

// ---- client-side sessions (ClientSideOptions) ----

class CookieSessionTest : public ManagerTest {
 protected:
  void SetUp() override { use_client_side(SessionOptions::development()); }

  void use_client_side(SessionOptions options, std::string_view secrets = kSecret,
                       ClientSideOptions cookie = {}) {
    options_ = options;
    metrics_ = std::make_shared<Metrics>();
    manager_ = std::make_unique<SessionManager>(
        nullptr, Keyring::parse(secrets).value(), options,
        SessionManager::Dependencies{&clock_, make_null_sink(), metrics_, nullptr, cookie});
  }
  // How many store calls the manager made (its store latency histogram's count).
  std::string store_calls() const {
    const std::string text = metrics_->render_prometheus(std::nullopt);
    const std::string name = "sessionkit_store_latency_seconds_count ";
    const std::size_t at = text.find(name);
    return at == std::string::npos
               ? "?"
               : text.substr(at + name.size(), text.find('\n', at) - at - name.size());
  }
};

TEST_F(CookieSessionTest, TheWholeSessionTravelsSealedAndTheServerKeepsNothing) {
  Session s = load_ok("");
  s.set("visits", 7);
  s.set("secret-name", "top secret value");
  s.set_user("alice");
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  const std::string cookie = *res.set_cookie_pair("sid");
  const std::string value = cookie.substr(4);
  EXPECT_EQ(value.find("secret"), std::string::npos) << "encrypted, not just signed";
  EXPECT_EQ(value.find('.'), std::string::npos);
  EXPECT_GT(value.size(), 100u);
  EXPECT_EQ(res.first("Cache-Control"), "no-store");

  Session again = load_ok(cookie);
  EXPECT_FALSE(again.is_new());
  EXPECT_EQ(again.get<int>("visits"), 7);
  EXPECT_EQ(again.get<std::string>("secret-name"), "top secret value");
  EXPECT_EQ(again.user_id(), "alice");
  EXPECT_EQ(again.id_hint(), s.id_hint());
  EXPECT_TRUE(manager_->authenticated_within(again, 1s));
  EXPECT_EQ(manager_->store(), nullptr);
  EXPECT_EQ(store_calls(), "0") << "a client-side manager never calls a store";
  EXPECT_EQ(metrics_->sessions_created, 1u);
}

TEST_F(CookieSessionTest, TamperedForeignAndRetiredCookiesAreNoSession) {
  const std::string cookie = new_session("k", 1);
  std::string tampered = cookie;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(load_ok(tampered).is_new());
  EXPECT_TRUE(load_ok(cookie.substr(0, cookie.size() - 4)).is_new());

  // Rotation: accepted while the old secret is listed, re-sealed with the newest one.
  use_client_side(SessionOptions::development(),
                  "fedcba9876543210fedcba9876543210,0123456789abcdef0123456789abcdef");
  Session s = load_ok(cookie);
  ASSERT_FALSE(s.is_new());
  const std::string resealed = commit_cookie(s);
  ASSERT_FALSE(resealed.empty()) << "an old-secret cookie is re-sealed on its next response";
  use_client_side(SessionOptions::development(), "fedcba9876543210fedcba9876543210");
  EXPECT_TRUE(load_ok(cookie).is_new());
  Session kept = load_ok(resealed);
  EXPECT_FALSE(kept.is_new());
  EXPECT_EQ(kept.get<int>("k"), 1);

  // A server-side manager's signed cookie means nothing here, and vice versa.
  rebuild(SessionOptions::development(), "fedcba9876543210fedcba9876543210");
  EXPECT_TRUE(load_ok(resealed).is_new());
}

TEST_F(CookieSessionTest, TimeoutsAreEnforcedFromInsideTheSealedValue) {
  const std::string cookie = new_session("k", 1);
  // Within the touch interval an unchanged read sends no cookie at all.
  clock_.advance(10s);
  Session quiet = load_ok(cookie);
  EXPECT_EQ(commit_cookie(quiet), "");
  // Past it, the cookie is re-sealed with a later idle deadline.
  clock_.advance(60s);
  Session touched = load_ok(cookie);
  const std::string refreshed = commit_cookie(touched);
  ASSERT_FALSE(refreshed.empty());
  clock_.advance(options_.idle_timeout - 30s);  // the original deadline has passed
  EXPECT_TRUE(load_ok(cookie).is_new());
  Session alive = load_ok(refreshed);
  EXPECT_FALSE(alive.is_new());
  EXPECT_EQ(metrics_->sessions_expired, 1u);

  // The absolute deadline holds however active the session is.
  std::string current = refreshed;
  for (int i = 0; i < 30; ++i) {
    clock_.advance(25min);
    Session s = load_ok(current);
    if (s.is_new()) break;
    const std::string next = commit_cookie(s);
    if (!next.empty()) current = next;
  }
  Session late = load_ok(current);
  EXPECT_TRUE(late.is_new());
  FakeResponse res;
  ASSERT_TRUE(commit(late, res).ok());
  EXPECT_NE(res.set_cookie_line("sid")->find("Max-Age=0"), std::string::npos);
}

TEST_F(CookieSessionTest, ASessionTooLargeForACookieFailsAndSendsNothing) {
  use_client_side(SessionOptions::development(), kSecret,
                  ClientSideOptions{.max_cookie_bytes = 600});
  const std::string cookie = new_session("k", 1);
  Session s = load_ok(cookie);
  s.set("big", std::string(600, 'x'));
  FakeResponse res;
  Status st = commit(s, res);
  EXPECT_EQ(st.code(), errc::too_large);
  EXPECT_NE(st.message().find("cookie"), std::string::npos) << st.message();
  EXPECT_TRUE(res.all("Set-Cookie").empty());
  Session check = load_ok(cookie);
  EXPECT_EQ(check.get<int>("k"), 1);
  EXPECT_FALSE(check.contains("big"));
}

TEST_F(CookieSessionTest, RegenerateDestroyAndIncrement) {
  Session s = load_ok("");
  auto v = increment(s, "visits", 2);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 2);
  const std::string first = commit_cookie(s);
  Session t = load_ok(first);
  EXPECT_EQ(*increment(t, "visits", 3), 5);
  EXPECT_EQ(increment(t, "visits", std::numeric_limits<std::int64_t>::max()).code(),
            errc::invalid_argument);
  FakeResponse token_res;
  const std::string token = manager_->csrf_token(t, token_res);
  t.regenerate();
  t.set_user("bob");
  const std::string second = commit_cookie(t);
  ASSERT_FALSE(second.empty());
  Session u = load_ok(second);
  EXPECT_EQ(u.get<int>("visits"), 5);
  EXPECT_NE(u.id_hint(), load_ok(first).id_hint());
  EXPECT_FALSE(manager_->verify_csrf(u, token)) << "signing in starts a new CSRF secret";
  EXPECT_EQ(metrics_->sessions_rotated, 1u);

  u.destroy();
  FakeResponse res;
  ASSERT_TRUE(commit(u, res).ok());
  EXPECT_NE(res.set_cookie_line("sid")->find("Max-Age=0"), std::string::npos);
  // The documented limit: nothing on the server remembers the logout, so a copy replays.
  EXPECT_FALSE(load_ok(second).is_new());
}

TEST_F(CookieSessionTest, ServerSideOperationsAreUnsupportedAndTheCapIsRefused) {
  Session s = load_ok("");
  s.set_user("alice");
  commit_cookie(s);
  std::optional<Result<std::size_t>> revoked;
  manager_->revoke_user_sessions("alice", &s, [&](Result<std::size_t> r) { revoked.emplace(r); });
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->code(), errc::unsupported);
  std::optional<Result<std::vector<SessionManager::SessionSummary>>> listed;
  manager_->list_sessions(s, [&](auto r) { listed.emplace(std::move(r)); });
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->code(), errc::unsupported);

  SessionOptions capped = SessionOptions::development();
  capped.max_sessions_per_user = 3;
  EXPECT_THROW(use_client_side(capped), std::invalid_argument);
}

TEST_F(CookieSessionTest, AManagerTakesAStoreOrClientSideSessionsNeitherBothNorNone) {
  auto make = [&](std::shared_ptr<SessionStore> store, std::optional<ClientSideOptions> client) {
    return std::make_unique<SessionManager>(
        std::move(store), Keyring::parse(kSecret).value(), SessionOptions::development(),
        SessionManager::Dependencies{&clock_, make_null_sink(), nullptr, nullptr, client});
  };
  auto memory = std::make_shared<MemoryStore>(MemoryStoreOptions{.clock = &clock_});
  EXPECT_THROW(make(memory, ClientSideOptions{}), std::invalid_argument);
  EXPECT_THROW(make(nullptr, std::nullopt), std::invalid_argument);
  auto stored = make(memory, std::nullopt);
  EXPECT_EQ(stored->store(), memory.get());
  EXPECT_FALSE(stored->client_side().has_value());
  auto client = make(nullptr, ClientSideOptions{.max_cookie_bytes = 1000});
  EXPECT_EQ(client->store(), nullptr);
  ASSERT_TRUE(client->client_side().has_value());
  EXPECT_EQ(client->client_side()->max_cookie_bytes, 1000u);
}

TEST_F(CookieSessionTest, BindingRefusesAnotherClient) {
  SessionOptions o = SessionOptions::development();
  o.bind.user_agent = true;
  use_client_side(o);
  Session s = load_from("", "Firefox", "10.0.0.1").value();
  s.set("k", 1);
  const std::string cookie = commit_cookie(s);
  EXPECT_FALSE(load_from(cookie, "Firefox", "10.0.0.1").value().is_new());
  Session refused = load_from(cookie, "curl", "10.0.0.1").value();
  EXPECT_TRUE(refused.is_new());
  EXPECT_FALSE(refused.refusal().empty());
  EXPECT_EQ(metrics_->anomalies[Anomaly::binding_mismatch], 1u);
  EXPECT_EQ(metrics_->anomalies.total(), 1u);
}

}  // namespace
}  // namespace sessionkit
