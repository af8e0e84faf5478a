// Token sessions on real stores (issue 15, deliverable 7): per store URL, the cost of
//   Refresh/rotate     a refresh with the current token: load, compare-and-swap with the touch;
//   Refresh/replay     the previous token within grace: load only, nothing written;
//   SessionCheck/read  the stateful access-token check without its cache: one session load;
//   SessionCheck/cached  the same check answered from its cache.
// Wall-clock time per operation, one caller at a time (latency, not throughput).
//
// Stores: the comma-separated URLs in SESSIONKIT_BENCH_STORES (any URL open_store_url takes);
// default memory:// and a SQLite file in $TMPDIR. bench/tokens.sh starts a private Redis and
// PostgreSQL and passes them too. Other flags: Google Benchmark's.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench_stores.h"
#include "sessionkit/events.h"
#include "sessionkit/keyring.h"
#include "sessionkit/manager.h"
#include "sessionkit/session.h"
#include "sessionkit/stores/url.h"
#include "sessionkit/sync.h"
#include "sessionkit/tokens/access_token.h"
#include "sessionkit/tokens/refresh_tokens.h"
#include "sessionkit/tokens/session_check.h"
#include "support/http_fakes.h"

namespace sk = sessionkit;
namespace tok = sessionkit::tokens;
using sk::testing::FakeRequest;
using sk::testing::FakeResponse;

namespace {

const std::string kSecret = "token-bench-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

template <class T>
T must(sk::Result<T> r) {
  if (!r.ok()) throw std::runtime_error(r.status().to_string());
  return std::move(r).value();
}

// Starts an asynchronous call and waits for its answer (stores may answer on their own thread).
template <class T, class Start>
sk::Result<T> wait_for(Start start) {
  std::promise<sk::Result<T>> promise;
  auto answer = promise.get_future();
  start([&promise](sk::Result<T> r) { promise.set_value(std::move(r)); });
  return answer.get();
}

// One store with a signed-in session and its refresh tokens.
struct Fixture {
  std::shared_ptr<sk::SessionStore> store;
  std::unique_ptr<sk::SessionManager> manager;
  std::optional<tok::RefreshTokens> refresh;
  std::optional<tok::SessionCheck> uncached;
  std::optional<tok::SessionCheck> cached;
  FakeRequest request{""};
  std::string token;  // the current refresh token
  tok::AccessToken access;

  explicit Fixture(const std::string& url) {
    store = must(sk::open_store_url(url)).store;
    if (!store) throw std::runtime_error(url + ": token sessions need a server-side store");
    sk::SessionManager::Dependencies deps;
    deps.events = sk::make_null_sink();
    const sk::Keyring keyring = must(sk::Keyring::parse(kSecret));
    manager = std::make_unique<sk::SessionManager>(store, keyring,
                                                   sk::SessionOptions::development(), deps);
    // A long grace: the replay benchmark presents one previous token for its whole run.
    refresh.emplace(*manager, keyring, tok::RefreshTokenOptions{.grace = std::chrono::hours(1)});
    uncached.emplace(*manager, keyring, tok::SessionCheckOptions{.cache_for = {}});
    cached.emplace(*manager, keyring, tok::SessionCheckOptions{.cache_for = std::chrono::hours(1)});
    sk::Session s = must(sk::sync::load(*manager, request));
    s.set_user("alice");
    FakeResponse res;
    if (auto st = sk::sync::commit(*manager, s, res); !st.ok()) {
      throw std::runtime_error(st.to_string());
    }
    token = must(wait_for<std::string>(
        [&](sk::Callback<std::string> done) { refresh->start(s, std::move(done)); }));
    access.subject = "alice";
    access.session_id = must(uncached->sid(s));
  }

  tok::Refresh redeem(const std::string& presented) {
    return must(wait_for<tok::Refresh>([&](sk::Callback<tok::Refresh> done) {
      refresh->refresh(request, presented, std::move(done));
    }));
  }
  bool check(tok::SessionCheck& c) {
    return must(wait_for<bool>(
        [&](sk::Callback<bool> done) { c.check(access, request, std::move(done)); }));
  }
};

void rotate(benchmark::State& state, Fixture* f) {
  for (auto _ : state) {
    tok::Refresh r = f->redeem(f->token);
    if (r.outcome != tok::Refresh::Outcome::rotated) {
      state.SkipWithError(("not rotated: " + r.reason).c_str());
      break;
    }
    f->token = std::move(r.refresh_token);
  }
}

void replay(benchmark::State& state, Fixture* f) {
  const std::string previous = f->token;
  f->token = f->redeem(previous).refresh_token;  // `previous` is now the previous token
  for (auto _ : state) {
    tok::Refresh r = f->redeem(previous);
    if (r.outcome != tok::Refresh::Outcome::replayed) {
      state.SkipWithError(("not replayed: " + r.reason).c_str());
      break;
    }
    benchmark::DoNotOptimize(r.refresh_token.data());
  }
}

void check(benchmark::State& state, Fixture* f, tok::SessionCheck* c) {
  for (auto _ : state) {
    if (!f->check(*c)) {
      state.SkipWithError("the session is not live");
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::vector<std::unique_ptr<Fixture>> fixtures;
  for (const std::string& url : bench::store_urls("sessionkit-token-bench.db")) {
    const std::string scheme = url.substr(0, url.find(':'));
    try {
      fixtures.push_back(std::make_unique<Fixture>(url));
    } catch (const std::exception& e) {
      std::cerr << "token_bench: " << sk::redact_store_url(url) << ": " << e.what() << "\n";
      return 1;
    }
    Fixture* f = fixtures.back().get();
    benchmark::RegisterBenchmark(("Refresh/rotate/" + scheme).c_str(), rotate, f)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Refresh/replay/" + scheme).c_str(), replay, f)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("SessionCheck/read/" + scheme).c_str(), check, f, &*f->uncached)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("SessionCheck/cached/" + scheme).c_str(), check, f, &*f->cached)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
