// Across stores: a record written by any store of this build reads back identically from every
// other, and invalid UTF-8 is repaired alike. The conformance suite itself
// (include/sessionkit/testing/store_conformance.h) is instantiated by each store's own
// *_store_test.cpp, which also registers the store here.
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "contract/store_harness.h"
#include "sessionkit/store_rules.h"
#include "sessionkit/stores/reference.h"

namespace sessionkit::testing {
namespace {

// Every registered store that can run here, made with one clock.
std::vector<std::pair<std::string, std::shared_ptr<SessionStore>>> every_store(const Clock& clock) {
  std::vector<std::pair<std::string, std::shared_ptr<SessionStore>>> all;
  for (const auto& s : registered_stores()) {
    if (s.skip_reason().empty()) all.emplace_back(s.name, s.make(clock));
  }
  return all;
}

// A record that a store could get wrong: every optional field, Unicode, big and negative
// integers, doubles, empty containers, nulls, nesting, a key that looks like a field name.
SessionRecord tricky_record(Time now) {
  SessionRecord r = make_record(now, "zoë@example.com");
  r.auth_at = now - 90s;
  r.ip = "2001:db8::1";
  r.user_agent = "Mozilla/5.0 (X11; Linux) \"quoted\" ✓";
  r.data = {{"max", std::numeric_limits<std::int64_t>::max()},
            {"min", std::numeric_limits<std::int64_t>::min()},
            {"pi", 3.14159},
            {"half", 1.5},
            {"empty_object", nlohmann::json::object()},
            {"empty_array", nlohmann::json::array()},
            {"nothing", nullptr},
            {"yes", true},
            {"text", "日本語 and emoji 🎉, quotes \" and backslash \\"},
            {"nested", {{"a", {{"b", {1, 2, {{"c", "d"}}}}}}}},
            {"v", "not the version"},
            {"d:x", "a key with the Redis field prefix"},
            {"", "the empty key"}};
  return r;
}

TEST(EveryStore, ARecordWrittenByOneReadsBackIdenticallyFromEveryOther) {
  ManualClock clock;
  auto stores = every_store(clock);
  ASSERT_GE(stores.size(), 2u);
  const SessionRecord original = tricky_record(clock.now());
  for (auto& [from_name, from] : stores) {
    BlockingStore src(*from);
    const SessionKey key = new_key();
    ASSERT_OK(src.create(key, original)) << from_name;
    auto loaded = src.load(key);
    ASSERT_OK(loaded);
    ASSERT_TRUE(loaded->has_value()) << from_name;
    EXPECT_EQ(**loaded, original) << from_name;
    // Migrate it: what one store answers, every other store stores and answers unchanged.
    for (auto& [to_name, to] : stores) {
      if (&to == &from) continue;
      BlockingStore dst(*to);
      const SessionKey copy = new_key();
      ASSERT_OK(dst.create(copy, **loaded)) << from_name << " -> " << to_name;
      auto back = dst.load(copy);
      ASSERT_OK(back);
      ASSERT_TRUE(back->has_value()) << from_name << " -> " << to_name;
      EXPECT_EQ(**back, original) << from_name << " -> " << to_name;
      EXPECT_EQ(encode_record(**back), encode_record(original)) << from_name << " -> " << to_name;
    }
  }
}

// Invalid UTF-8 is repaired the same way in every store (U+FFFD as stores::dump_payload writes
// it): in values at any depth, nested keys and top-level keys, through create, replace, patch
// (names and values) and increment (the field name). Each store's answers are compared with the
// reference store's, step by step.
TEST(EveryStore, InvalidUtf8IsRepairedAsTheReferenceStoreRepairsIt) {
  ManualClock clock;
  const std::string ff{'\xff'}, cut{'\xe2', '\x82'}, surrogate{'\xed', '\xa0', '\x80'};
  // The payload each step leaves, as the store answers it ("" for a failure, named).
  auto steps = [&](SessionStore& store) {
    BlockingStore db(store);
    std::vector<std::string> seen;
    auto look = [&](const SessionKey& key) {
      auto r = db.load(key);
      if (!r.ok() || !r->has_value()) return seen.push_back("load: " + r.status().to_string());
      // What the store answered, with any invalid UTF-8 it left in flagged (dropping invalid
      // bytes and replacing them give the same text only when there are none).
      const nlohmann::json& data = (*r)->data;
      const std::string text = stores::dump_payload(data);
      const bool clean = text == data.dump(-1, ' ', false, nlohmann::json::error_handler_t::ignore);
      seen.push_back(clean ? text : "not repaired: " + text);
    };
    const SessionKey key = new_key();
    SessionRecord rec = make_record(clock.now());
    rec.data["value"] = "x" + cut + "y";
    rec.data["nested"] = {{"k" + surrogate, {"ok", ff, cut + cut, "\xc3"}}, {"fine", 1}};
    rec.data["key" + ff] = "top-level key";
    if (auto s = db.create(key, rec); !s) seen.push_back("create: " + s.to_string());
    look(key);
    SessionRecord next = make_record(clock.now());
    next.data = {{"r" + cut, {{"deep" + ff, ff}}}, {"list", {ff, 1, surrogate}}};
    if (auto s = db.replace(key, next); !s) seen.push_back("replace: " + s.to_string());
    look(key);
    SessionPatch p;
    p.set = {{"value", "v" + cut}, {"obj", {{"k" + surrogate, ff}}}, {"list", "plain"}};
    if (auto s = db.patch(key, p); !s) seen.push_back("patch: " + s.to_string());
    look(key);
    SessionPatch name;
    name.set = {{"set" + ff, 1}};
    if (auto s = db.patch(key, name); !s) seen.push_back("patch name: " + s.to_string());
    look(key);
    auto n = db.increment(key, "n" + ff, 3);
    seen.push_back(n ? std::to_string(*n) : "increment: " + n.status().to_string());
    look(key);
    return seen;
  };
  const std::vector<std::string> names = {"create",     "replace",   "patch",
                                          "patch name", "increment", "after increment"};
  ReferenceStore reference(clock);
  const std::vector<std::string> want = steps(reference);
  ASSERT_EQ(want.size(), names.size());
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_NE(want[0].find("\"key" + fffd + "\":\"top-level key\""), std::string::npos) << want[0];
  EXPECT_NE(want[0].find("\"x" + fffd + "y\""), std::string::npos) << want[0];
  for (auto& [name, store] : every_store(clock)) {
    const std::vector<std::string> got = steps(*store);
    ASSERT_EQ(got.size(), want.size()) << name;
    for (std::size_t i = 0; i < want.size(); ++i)
      EXPECT_EQ(got[i], want[i]) << name << ", " << names[i];
  }
}

}  // namespace
}  // namespace sessionkit::testing
