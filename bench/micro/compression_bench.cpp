// Compression at rest per store (issue 17, deliverable 4): per store URL and payload size
// (a cart of 1, 16 or 64 kB of JSON), the stored size of the value and the time of
//   write  a patch of the cart (the value alternates between two carts of the same size);
//   read   a load of the record (no touch);
// in four modes: plain (the store alone), zstd (CompressedStore, threshold 1 kB, level 3),
// sealed (EncryptedStore) and sealed+zstd (EncryptedStore with compression).
// Counters: plain_B = the cart's compact JSON, stored_B = the value's text as the inner store
// holds it. Times: wall clock per operation, one caller at a time; CPU = the whole process's
// CPU time (the caller and the store client's own threads; not the server's).
//
// Stores: the comma-separated URLs in SESSIONKIT_BENCH_STORES (any URL open_store_url takes);
// default memory:// and a SQLite file in $TMPDIR. bench/compression.sh starts a private Redis
// and PostgreSQL and passes them too. Other flags: Google Benchmark's.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench_stores.h"
#include "sessionkit/blocking_store.h"
#include "sessionkit/keyring.h"
#include "sessionkit/stores/compressed.h"
#include "sessionkit/stores/encrypted.h"
#include "sessionkit/stores/url.h"

namespace sk = sessionkit;
using namespace std::chrono_literals;

namespace {

template <class T>
T must(sk::Result<T> r) {
  if (!r.ok()) throw std::runtime_error(r.status().to_string());
  return std::move(r).value();
}

// A cart whose compact JSON is about `bytes` long; `variant` changes every line's quantity.
nlohmann::json cart(std::size_t bytes, int variant) {
  nlohmann::json lines = nlohmann::json::array();
  for (int i = 0; nlohmann::json({{"lines", lines}}).dump().size() < bytes; ++i) {
    lines.push_back({{"sku", "SKU-" + std::to_string(100000 + i * 7919 % 100000)},
                     {"name", "Blue cotton shirt, size " + std::string(i % 2 ? "M" : "L")},
                     {"qty", 1 + (i + variant) % 3},
                     {"price_cents", 1999 + i * 37 % 5000},
                     {"added_at", 1764800000000 + i * 61000}});
  }
  return {{"lines", lines}, {"currency", "EUR"}};
}

enum class Mode { plain, zstd, sealed, sealed_zstd };
const char* name_of(Mode m) {
  switch (m) {
    case Mode::plain:
      return "plain";
    case Mode::zstd:
      return "zstd";
    case Mode::sealed:
      return "sealed";
    case Mode::sealed_zstd:
      return "sealed+zstd";
  }
  return "?";
}

// One store in one mode, holding one session with a cart of one size.
struct Fixture {
  std::shared_ptr<sk::SessionStore> inner;
  std::shared_ptr<sk::SessionStore> store;
  sk::SessionKey key = sk::SessionKey::of(sk::SessionId::generate());
  nlohmann::json carts[2];
  std::size_t plain_bytes = 0;

  Fixture(std::shared_ptr<sk::SessionStore> base, Mode mode, std::size_t bytes)
      : inner(std::move(base)) {
    const sk::Keyring keyring =
        must(sk::Keyring::parse("compression-bench-secret-0123456789abcdef"));
    sk::EncryptedStoreOptions sealing;
    sealing.compression = sk::CompressionOptions{};
    switch (mode) {
      case Mode::plain:
        store = inner;
        break;
      case Mode::zstd:
        store = sk::CompressedStore::wrap(inner);
        break;
      case Mode::sealed:
        store = sk::EncryptedStore::wrap(inner, keyring);
        break;
      case Mode::sealed_zstd:
        store = sk::EncryptedStore::wrap(inner, keyring, sealing);
        break;
    }
    carts[0] = cart(bytes, 0);
    carts[1] = cart(bytes, 1);
    plain_bytes = carts[0].dump().size();
    sk::SessionRecord r;
    r.start(sk::SystemClock{}.now(), 30min, 12h);
    r.user_id = "alice";
    r.data = {{"user", {{"name", "alice"}}}, {"cart", carts[0]}};
    if (auto st = sk::BlockingStore(*store).create(key, r); !st.ok()) {
      throw std::runtime_error(st.to_string());
    }
  }
  ~Fixture() { (void)sk::BlockingStore(*inner).destroy(key); }

  std::size_t stored_bytes() const {
    const auto r = must(sk::BlockingStore(*inner).load(key));
    if (!r) throw std::runtime_error("the record is gone");
    return r->data.at("cart").dump().size();
  }
};

void counters(benchmark::State& state, const Fixture& f) {
  state.counters["plain_B"] = static_cast<double>(f.plain_bytes);
  state.counters["stored_B"] = static_cast<double>(f.stored_bytes());
}

void write_cart(benchmark::State& state, Fixture* f) {
  // Two ready patches, alternated: the loop copies no JSON of its own.
  sk::SessionPatch patches[2];
  for (int v = 0; v < 2; ++v)
    patches[v].set.emplace_back("cart", f->carts[v]);
  int i = 0;
  for (auto _ : state) {
    if (auto st = sk::BlockingStore(*f->store).patch(f->key, patches[++i % 2]); !st.ok()) {
      state.SkipWithError(st.to_string().c_str());
      break;
    }
  }
  counters(state, *f);
}

void read_record(benchmark::State& state, Fixture* f) {
  for (auto _ : state) {
    auto r = sk::BlockingStore(*f->store).load(f->key);
    if (!r.ok() || !r->has_value()) {
      state.SkipWithError("not loaded");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  counters(state, *f);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::vector<std::shared_ptr<sk::SessionStore>> stores;
  std::vector<std::unique_ptr<Fixture>> fixtures;
  for (const std::string& url : bench::store_urls("sessionkit-compression-bench.db")) {
    const std::string scheme = url.substr(0, url.find(':'));
    try {
      stores.push_back(must(sk::open_store_url(url)).store);
      if (!stores.back()) throw std::runtime_error("needs a server-side store");
      for (const std::size_t kb : {1, 16, 64}) {
        for (const Mode mode : {Mode::plain, Mode::zstd, Mode::sealed, Mode::sealed_zstd}) {
          fixtures.push_back(std::make_unique<Fixture>(stores.back(), mode, kb * 1024));
          Fixture* f = fixtures.back().get();
          const std::string suffix =
              "/" + scheme + "/" + std::to_string(kb) + "kB/" + name_of(mode);
          benchmark::RegisterBenchmark(("write" + suffix).c_str(), write_cart, f)
              ->Unit(benchmark::kMicrosecond)
              ->MeasureProcessCPUTime()
              ->UseRealTime();
          benchmark::RegisterBenchmark(("read" + suffix).c_str(), read_record, f)
              ->Unit(benchmark::kMicrosecond)
              ->MeasureProcessCPUTime()
              ->UseRealTime();
        }
      }
    } catch (const std::exception& e) {
      std::cerr << "compression_bench: " << sk::redact_store_url(url) << ": " << e.what() << "\n";
      return 1;
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  fixtures.clear();
  return 0;
}
