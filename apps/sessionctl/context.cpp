// context.cpp — see context.h.
#include "context.h"

#include <fstream>
#include <sstream>

#include "sessionkit/events.h"
#include "sessionkit/stores/compressed.h"
#include "sessionkit/stores/encrypted.h"
#include "sessionkit/stores/url.h"

namespace sessionctl {

namespace sk = sessionkit;

namespace {

// The keyring text of --secret or --secret-file (one trailing newline dropped), or "".
std::string secret_text(const Options& o) {
  if (!o.secret.empty() && !o.secret_file.empty()) {
    throw Failure(kUsage, "give --secret or --secret-file, not both");
  }
  if (o.secret_file.empty()) return o.secret;
  std::ifstream in(o.secret_file, std::ios::binary);
  if (!in) throw Failure(kUsage, "--secret-file: cannot read " + o.secret_file);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  if (s.ends_with("\r\n")) {
    s.resize(s.size() - 2);
  } else if (s.ends_with('\n')) {
    s.pop_back();
  }
  if (s.empty()) throw Failure(kUsage, "--secret-file: " + o.secret_file + " is empty");
  return s;
}

}  // namespace

std::shared_ptr<sk::SessionStore> open_store(const std::string& url, const char* flag) {
  sk::Result<sk::StoreBackend> backend = sk::open_store_url(url);
  if (!backend.ok()) {
    throw Failure(
        backend.status().code() == sk::errc::invalid_argument ? kUsage : kStoreError,
        std::string(flag) + " " + sk::redact_store_url(url) + ": " + backend.status().message());
  }
  if (!backend->store) {
    throw Failure(kUsage, std::string(flag) + " " + sk::redact_store_url(url) +
                              ": client-side sessions keep nothing on the server");
  }
  return backend->store;
}

Context::Context(const Options& options)
    : url_(options.store),
      json_(options.json),
      encrypted_(options.encrypted),
      compressed_(options.compressed) {
  if (url_.empty()) throw Failure(kUsage, "--store (or SESSION_STORE) is required");
  raw_ = open_store(url_, "--store");
  store_ = raw_;
  const std::string secret = secret_text(options);
  std::optional<sk::Keyring> keyring;
  if (!secret.empty()) {
    sk::Result<sk::Keyring> k = sk::Keyring::parse(secret);
    if (!k.ok()) throw Failure(kUsage, "--secret: " + k.status().message());
    keyring = std::move(*k);
  }
  if (options.encrypted) {
    if (!keyring) throw Failure(kUsage, "--encrypt-at-rest needs the apps' secret (--secret-file)");
    store_ = sk::EncryptedStore::wrap(store_, *keyring);  // opens compressed values too
  } else if (options.compressed) {
    store_ = sk::CompressedStore::wrap(store_, sk::CompressionOptions::off());  // reads only
  }
  if (keyring) {
    sk::SessionManager::Dependencies deps;
    deps.events = sk::make_null_sink();
    try {
      manager_ = std::make_unique<sk::SessionManager>(store_, *keyring,
                                                      sk::SessionOptions::development(), deps);
    } catch (const std::invalid_argument& e) {
      throw Failure(kUsage, std::string("--secret: ") + e.what());
    }
  }
}

Context::~Context() = default;

std::string Context::handle(const sk::SessionKey& key) const {
  return manager_ ? manager_->session_handle(key) : std::string();
}

Failure store_failure(const sk::Status& st, const std::string& doing, const std::string& url) {
  Exit code = kStoreError;
  switch (st.code()) {
    case sk::errc::not_found:
      code = kNotFound;
      break;
    case sk::errc::invalid_argument:
      code = kUsage;
      break;
    case sk::errc::corrupt:
      code = kCorrupt;
      break;
    default:
      break;
  }
  return Failure(code, doing + ": " + std::string(sk::to_string(st.code())) + ": " +
                           sk::scrub_store_url(st.message(), url));
}

void Context::fail(const sk::Status& st, const std::string& doing) const {
  Failure f = store_failure(st, doing, url_);
  if (f.code == kCorrupt && !manager_) {
    throw Failure(kCorrupt, std::string(f.what()) +
                                " (values sealed or compressed by the apps? see --encrypt-at-rest, "
                                "--compressed)");
  }
  throw f;
}

}  // namespace sessionctl
