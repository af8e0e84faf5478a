// Across stores: a record written by any store of this build reads back identically from every
// other. The conformance suite itself (include/sessionkit/testing/store_conformance.h) is
// instantiated by each store's own *_store_test.cpp, which also registers the store here.
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "contract/store_harness.h"

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

}  // namespace
}  // namespace sessionkit::testing
