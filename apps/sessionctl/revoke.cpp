// revoke.cpp — finding a session, and the write commands: revoke, revoke-user, prune.
#include <ostream>

#include "commands.h"
#include "render.h"
#include "sessionkit/blocking_store.h"
#include "target.h"

namespace sessionctl {

namespace sk = sessionkit;
using nlohmann::json;

sk::StoredSession find(const Context& ctx, const Target& target) {
  sk::BlockingStore store(ctx.store());
  if (!target.key_hex.empty()) {
    const std::optional<sk::SessionKey> key = sk::SessionKey::from_hex(target.key_hex);
    if (!key) throw Failure(kUsage, "--key: 64 lowercase hex characters expected");
    std::optional<sk::SessionRecord> record = ctx.must(store.load(*key), "load");
    if (!record) throw Failure(kNotFound, "no live session has the key " + key->hint() + "...");
    return {*key, std::move(*record)};
  }
  if (target.handle.empty()) throw Failure(kUsage, "name a session: HANDLE or --key HEX");
  if (!ctx.has_secret()) {
    throw Failure(kUsage, "a handle needs the apps' secret (--secret-file); or use --key HEX");
  }
  if (!target.user.empty()) {  // the user index: no scan
    for (sk::StoredSession& s : ctx.must(store.list_user(target.user), "list_user")) {
      if (ctx.handle(s.key) == target.handle) return std::move(s);
    }
    throw Failure(kNotFound, "user " + target.user + " has no session with that handle");
  }
  std::string cursor;
  do {
    sk::ScanPage page = ctx.must(store.scan(cursor, 1000), "scan");
    for (sk::StoredSession& s : page.sessions) {
      if (ctx.handle(s.key) == target.handle) return std::move(s);
    }
    cursor = std::move(page.next_cursor);
  } while (!cursor.empty());
  throw Failure(kNotFound, "no live session has that handle (with another secret, handles differ)");
}

int revoke(const Context& ctx, const Target& target, std::ostream& out) {
  const sk::StoredSession s = find(ctx, target);
  const bool destroyed = ctx.must(sk::BlockingStore(ctx.store()).destroy(s.key), "destroy");
  if (ctx.json()) {
    out << json{{"key", s.key.hex()}, {"revoked", destroyed}}.dump() << '\n';
  } else {
    out << (destroyed ? "revoked session " : "already gone: session ") << s.key.hint() << " (user "
        << (s.record.user_id.empty() ? "-" : s.record.user_id) << ")\n";
  }
  return destroyed ? kOk : kNotFound;
}

int revoke_user(const Context& ctx, const std::string& user, std::ostream& out) {
  if (user.empty()) throw Failure(kUsage, "revoke-user: a user id is required");
  const std::size_t n =
      ctx.must(sk::BlockingStore(ctx.store()).destroy_user(user), "destroy the user's sessions");
  if (ctx.json()) {
    out << json{{"user", user}, {"revoked", n}}.dump() << '\n';
  } else {
    out << "revoked " << n << " session" << (n == 1 ? "" : "s") << " of user " << user << '\n';
  }
  return kOk;
}

int prune(const Context& ctx, std::ostream& out) {
  constexpr std::size_t kBatch = 1000;
  std::size_t total = 0;
  for (;;) {
    const std::size_t n =
        ctx.must(sk::BlockingStore(ctx.store()).purge_expired(kBatch), "purge expired records");
    total += n;
    if (n < kBatch) break;
  }
  if (ctx.json()) {
    out << json{{"pruned", total}}.dump() << '\n';
  } else {
    out << "pruned " << total << " expired record" << (total == 1 ? "" : "s") << '\n';
  }
  return kOk;
}

}  // namespace sessionctl
