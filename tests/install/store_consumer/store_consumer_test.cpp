// The installed conformance suite against this project's own store: the one line and the
// traits, exactly as docs/stores.md ("Writing a store") tells a user to write them.
#include <sessionkit/testing/store_conformance.h>

#include <cstdio>
#include <memory>

#include "flat_store.h"

namespace consumer {
struct FlatStoreTraits {
  static std::shared_ptr<sessionkit::SessionStore> make(const sessionkit::Clock& clock) {
    return std::make_shared<FlatStore>(clock);
  }
  // Where a store may differ, said explicitly here (these are the defaults).
  static constexpr bool kOrderedScan = true;
  static constexpr bool kExpiresByTtl = false;
  static constexpr bool kCountIsExpensive = false;
};
}  // namespace consumer

SESSIONKIT_STORE_CONFORMANCE(Flat, consumer::FlatStoreTraits);

// GTest::gtest_main would do; this main also checks that the suite really ran (35 tests now,
// the lazy touch at load included; the suite only grows), none skipped, and says so for CTest.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int failed = RUN_ALL_TESTS();
  const auto& run = *::testing::UnitTest::GetInstance();
  if (failed != 0 || run.successful_test_count() < 35 || run.skipped_test_count() != 0) {
    std::printf("store_consumer: FAILED (%d passed, %d skipped, %d failed)\n",
                run.successful_test_count(), run.skipped_test_count(), run.failed_test_count());
    return 1;
  }
  std::printf("store_consumer: ok (%d conformance tests passed)\n", run.successful_test_count());
  return 0;
}
