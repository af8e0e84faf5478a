#include "core/window_count.h"

#include <string>
#include <utility>

#include "crypto/crypto.h"

namespace sessionkit::detail {

SessionKey counter_key(std::string_view domain, std::initializer_list<std::string_view> parts) {
  std::string text(domain);
  for (std::string_view part : parts) {
    text += '\n';
    text += std::to_string(part.size());
    text += ':';
    text += part;
  }
  return SessionKey(crypto::sha256(text));
}

void count_in_window(const std::shared_ptr<SessionStore>& store, const SessionKey& key,
                     std::string_view field, Time now, Duration window,
                     const Callback<std::int64_t>& done) {
  auto first = [store, key, name = std::string(field), now, window, done]() {
    SessionRecord record;
    record.start(now, window, window);
    record.data = nlohmann::json{{name, 1}};
    store->create(key, record, [store, key, name, done](const Result<void>& r) {
      if (r) return done(1);
      if (r.code() != errc::conflict) return done(r);
      // Another caller created it first: count on top of it.
      store->increment(key, name, 1, std::nullopt, done);
    });
  };
  store->increment(key, std::string(field), 1, std::nullopt,
                   [first = std::move(first), done](Result<std::int64_t> n) {
                     if (n || n.code() != errc::not_found) return done(std::move(n));
                     first();
                   });
}

}  // namespace sessionkit::detail
