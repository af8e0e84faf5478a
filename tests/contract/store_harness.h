// Test support for this repository's store tests. The conformance suite itself, with new_key(),
// make_record() and is_ok(), is the installed header sessionkit/testing/store_conformance.h;
// each store instantiates it from its own *_store_test.cpp. Here: short assertion names, a
// temporary directory, and the list of stores that the cross-store test (EveryStore) migrates
// records between.
#pragma once

#include <iostream>

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sessionkit/blocking_store.h"
#include "sessionkit/clock.h"
#include "sessionkit/keyring.h"
#include "sessionkit/store.h"
#include "sessionkit/stores/encrypted.h"
#include "sessionkit/stores/fallback.h"
#include "sessionkit/stores/memory.h"
#include "sessionkit/testing/store_conformance.h"

namespace sessionkit::testing {

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "sessionkit-store-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// `store`, keeping `owner` (say a TempDir holding its file) alive until after the store is gone.
template <class Owner>
std::shared_ptr<SessionStore> owning(std::shared_ptr<SessionStore> store,
                                     std::shared_ptr<Owner> owner) {
  struct Both {
    std::shared_ptr<Owner> owner;
    std::shared_ptr<SessionStore> store;  // declared last: destroyed first
  };
  auto both = std::make_shared<Both>(Both{std::move(owner), std::move(store)});
  return std::shared_ptr<SessionStore>(both, both->store.get());
}

// The same store behind an EncryptedStore (values sealed at rest): the contract must hold
// through it unchanged (SESSIONKIT_STORE_CONFORMANCE(EncryptedX, Encrypted<XTraits>)).
// With `compress`, every value is also zstd-compressed before it is sealed.
template <class Traits, bool compress = false>
struct Encrypted {
  static std::shared_ptr<SessionStore> make(const Clock& clock) {
    EncryptedStoreOptions options;
    if (compress) options.compression = {.threshold = 1, .only_if_smaller = false};
    return EncryptedStore::wrap(Traits::make(clock),
                                Keyring::parse("encrypted-conformance-secret-0123456789").value(),
                                options);
  }
  static constexpr bool kOrderedScan = ConformanceTraits<Traits>::kOrderedScan;
  static constexpr bool kExpiresByTtl = ConformanceTraits<Traits>::kExpiresByTtl;
  static constexpr bool kCountIsExpensive = ConformanceTraits<Traits>::kCountIsExpensive;
  static std::string skip_reason() { return ConformanceTraits<Traits>::skip_reason(); }
};

// The same store behind a CompressedStore that compresses every value, however small
// (SESSIONKIT_STORE_CONFORMANCE(CompressedX, Compressed<XTraits>)).
template <class Traits>
struct Compressed {
  static std::shared_ptr<SessionStore> make(const Clock& clock) {
    return CompressedStore::wrap(Traits::make(clock), {.threshold = 1, .only_if_smaller = false});
  }
  static constexpr bool kOrderedScan = ConformanceTraits<Traits>::kOrderedScan;
  static constexpr bool kExpiresByTtl = ConformanceTraits<Traits>::kExpiresByTtl;
  static constexpr bool kCountIsExpensive = ConformanceTraits<Traits>::kCountIsExpensive;
  static std::string skip_reason() { return ConformanceTraits<Traits>::skip_reason(); }
};

// The same store as the primary of a FallbackStore whose fallback (a memory store) holds
// nothing: every call passes through with the contract unchanged
// (SESSIONKIT_STORE_CONFORMANCE(FallbackX, WithFallback<XTraits>)). What the fallback adds is
// tested in tests/unit/fallback_store_test.cpp.
template <class Traits>
struct WithFallback {
  static std::shared_ptr<SessionStore> make(const Clock& clock) {
    return FallbackStore::wrap(Traits::make(clock),
                               MemoryStore::open({.shards = 2, .clock = &clock}).value());
  }
  static constexpr bool kOrderedScan = ConformanceTraits<Traits>::kOrderedScan;
  static constexpr bool kExpiresByTtl = ConformanceTraits<Traits>::kExpiresByTtl;
  static constexpr bool kCountIsExpensive = ConformanceTraits<Traits>::kCountIsExpensive;
  static std::string skip_reason() { return ConformanceTraits<Traits>::skip_reason(); }
};

// The stores of this build, for the cross-store test: each *_store_test.cpp adds its traits
// with register_store<Traits>("Name") next to its SESSIONKIT_STORE_CONFORMANCE line.
struct RegisteredStore {
  std::string name;
  std::shared_ptr<SessionStore> (*make)(const Clock&);
  std::string (*skip_reason)();
};

inline std::vector<RegisteredStore>& registered_stores() {
  static std::vector<RegisteredStore> stores;
  return stores;
}

template <class Traits>
bool register_store(std::string name) {
  registered_stores().push_back(
      {std::move(name),
       [](const Clock& clock) -> std::shared_ptr<SessionStore> { return Traits::make(clock); },
       &ConformanceTraits<Traits>::skip_reason});
  return true;
}

// Runs `body(rig)` once per registered store that can run here, each with a fresh `Rig(store)`,
// and prints which stores ran (the matrices of refresh tokens and the login throttle).
template <class Rig, class Body>
void for_every_store(Body body) {
  std::size_t ran = 0;
  std::string names;
  for (const RegisteredStore& s : registered_stores()) {
    if (!s.skip_reason().empty()) {
      names += " (" + s.name + " skipped: " + s.skip_reason() + ")";
      continue;
    }
    SCOPED_TRACE("store " + s.name);
    auto rig = std::make_unique<Rig>(s);
    body(*rig);
    ++ran;
    names += " " + s.name;
  }
  std::cout << "[  stores  ]" << names << "\n";
  EXPECT_GE(ran, 2u) << "at least memory and the reference store";
}

}  // namespace sessionkit::testing

#define ASSERT_OK(expr) SESSIONKIT_ASSERT_OK(expr)
#define EXPECT_OK(expr) SESSIONKIT_EXPECT_OK(expr)
