// crypto::random_bytes: the per-thread pool never repeats a stream across calls, threads or a
// fork(), and hands out every byte once.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include "crypto/crypto.h"

namespace sessionkit::crypto {
namespace {

using Block = std::array<std::uint8_t, 32>;

Block draw() {
  Block b;
  random_bytes(b);
  return b;
}

TEST(RandomBytes, SuccessiveDrawsDifferAcrossManyRefills) {
  std::set<Block> seen;
  for (int i = 0; i < 5000; ++i)  // 160 kB: many pool refills and several re-seeds
    ASSERT_TRUE(seen.insert(draw()).second) << "draw " << i << " repeated an earlier one";
}

TEST(RandomBytes, EveryByteValueAppearsAndBitsAreBalanced) {
  std::vector<std::uint8_t> buf(64 * 1024);
  for (std::size_t i = 0; i < buf.size(); i += 100)  // odd sizes: spans pool boundaries
    random_bytes(std::span(buf).subspan(i, std::min<std::size_t>(100, buf.size() - i)));
  std::array<int, 256> counts{};
  long ones = 0;
  for (std::uint8_t b : buf) {
    ++counts[b];
    ones += __builtin_popcount(b);
  }
  for (int v = 0; v < 256; ++v)
    EXPECT_GT(counts[v], 128) << "byte value " << v << " is rare";  // expected 256 each
  const double share = static_cast<double>(ones) / (8.0 * static_cast<double>(buf.size()));
  EXPECT_NEAR(share, 0.5, 0.01);
}

TEST(RandomBytes, LargeRequestsAreFilledToo) {
  std::vector<std::uint8_t> big(4096, 0);  // larger than the pool: straight from the kernel
  random_bytes(big);
  std::size_t zeros = 0;
  for (std::uint8_t b : big)
    zeros += b == 0;
  EXPECT_LT(zeros, 64u);  // expected 16
}

TEST(RandomBytes, ThreadsGetDifferentStreams) {
  constexpr int kThreads = 4;
  std::array<std::vector<Block>, kThreads> got;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&got, t] {
      for (int i = 0; i < 200; ++i)
        got[t].push_back(draw());
    });
  }
  for (auto& th : threads)
    th.join();
  std::set<Block> all;
  for (const auto& v : got)
    for (const Block& b : v)
      ASSERT_TRUE(all.insert(b).second) << "two threads drew the same block";
}

// The parent has a half-used pool when it forks. Without the wipe-on-fork pages the child would
// copy it and both would hand out the same next bytes (the same next session ID).
TEST(RandomBytes, AForkedChildDoesNotRepeatTheParentsStream) {
  (void)draw();  // the pool is seeded and partly used
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    const Block b = draw();
    const bool ok = write(fds[1], b.data(), b.size()) == static_cast<ssize_t>(b.size());
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  const Block parent = draw();
  Block from_child{};
  std::size_t got = 0;
  while (got < from_child.size()) {
    const ssize_t n = read(fds[0], from_child.data() + got, from_child.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, from_child.size());
  EXPECT_NE(parent, from_child);
}

}  // namespace
}  // namespace sessionkit::crypto
