// context.h — what every sessionctl command works with: the store opened from --store (with the
// decorators the apps use), the keyring for session handles, the output mode, and the exit
// codes (private to sessionctl).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "sessionkit/keyring.h"
#include "sessionkit/manager.h"
#include "sessionkit/store.h"

namespace sessionctl {

// Exit codes (docs/operations.md).
enum Exit : int {
  kOk = 0,
  kNotFound = 1,    // the session, handle or key named does not exist
  kUsage = 2,       // a bad flag or argument
  kStoreError = 3,  // the store could not answer (unavailable, timeout)
  kCorrupt = 4,     // the store answered data sessionctl cannot read, or an input file is bad
  kConflict = 5,    // import/migrate --on-conflict fail met a session the target already has
};

// A failure with the exit code it maps to; main prints the message.
struct Failure : std::runtime_error {
  Failure(Exit code, const std::string& what) : std::runtime_error(what), code(code) {}
  Exit code;
};

struct Options {
  std::string store;        // --store / SESSION_STORE
  std::string secret;       // --secret / SESSION_SECRET
  std::string secret_file;  // --secret-file / SESSION_SECRET_FILE
  bool encrypted = false;   // --encrypt-at-rest: the apps seal values (same secret needed)
  bool compressed = false;  // --compressed: the apps compress values
  bool json = false;        // --json: machine-readable output
};

// The store at `url` as it is (no decorators); `flag` names the option in errors. Failure
// kUsage for a malformed URL or a client-side store, kStoreError when it cannot be opened.
std::shared_ptr<sessionkit::SessionStore> open_store(const std::string& url, const char* flag);

// The Failure for a store's error status: its exit code, and the message with `url`'s secrets
// scrubbed.
Failure store_failure(const sessionkit::Status& st, const std::string& doing,
                      const std::string& url);

class Context {
 public:
  explicit Context(const Options& options);
  ~Context();

  sessionkit::SessionStore& store() const { return *store_; }
  // The store as it is, without the decorators: values as stored (sealed, compressed).
  // export, import and migrate copy records with it.
  sessionkit::SessionStore& raw_store() const { return *raw_; }
  const std::string& url() const noexcept { return url_; }
  bool json() const noexcept { return json_; }
  // The session's handle as the apps show it (SessionSummary::handle), or "" without a secret.
  std::string handle(const sessionkit::SessionKey& key) const;
  bool has_secret() const noexcept { return manager_ != nullptr; }
  bool opens_sealed() const noexcept { return encrypted_; }
  bool inflates() const noexcept { return encrypted_ || compressed_; }

  // The value, or a Failure with the exit code for its error.
  template <class T>
  T must(sessionkit::Result<T> r, const std::string& doing) const {
    if (!r.ok()) fail(r.status(), doing);
    return std::move(r).value();
  }
  void must(const sessionkit::Status& st, const std::string& doing) const {
    if (!st.ok()) fail(st, doing);
  }
  [[noreturn]] void fail(const sessionkit::Status& st, const std::string& doing) const;

 private:
  std::string url_;
  std::shared_ptr<sessionkit::SessionStore> raw_;
  std::shared_ptr<sessionkit::SessionStore> store_;
  std::unique_ptr<sessionkit::SessionManager> manager_;  // for handles only
  bool json_ = false;
  bool encrypted_ = false;
  bool compressed_ = false;
};

}  // namespace sessionctl
