// inspect.cpp — the read commands: stats, list, show.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ostream>
#include <random>
#include <unordered_set>
#include <vector>

#include "commands.h"
#include "render.h"
#include "sessionkit/blocking_store.h"
#include "sessionkit/store_rules.h"
#include "target.h"

#ifdef SESSIONCTL_WITH_REDIS
#include <future>

#include "sessionkit/stores/redis.h"
#endif

namespace sessionctl {

namespace sk = sessionkit;
using nlohmann::json;

namespace {

constexpr std::size_t kPage = 1000;

// The value at quantile q (0..1) of sorted `v`, nearest rank.
std::size_t quantile(const std::vector<std::size_t>& v, double q) {
  if (v.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::llround(q * static_cast<double>(v.size() - 1)));
  return v[std::min(rank, v.size() - 1)];
}

std::string plain(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.is_null() ? "-" : v.dump();
}

#ifdef SESSIONCTL_WITH_REDIS
// What the server holds for the sessions, estimated from MEMORY USAGE of `keys` (a uniform
// sample of the sessions) and of the indexes of `users` (a sample of the users): the means
// times the counts. Null when the store is not Redis.
json redis_memory(const Context& ctx, const std::vector<sk::SessionKey>& keys,
                  const std::vector<std::string>& users, std::size_t sessions,
                  std::size_t user_count) {
  auto* redis = dynamic_cast<sk::RedisStore*>(&ctx.raw_store());
  if (redis == nullptr || keys.empty()) return json();
  auto wait = [&](auto start) {
    std::promise<sk::Result<std::size_t>> p;
    auto f = p.get_future();
    start([&p](sk::Result<std::size_t> r) { p.set_value(std::move(r)); });
    return ctx.must(f.get(), "MEMORY USAGE");
  };
  std::size_t session_bytes = 0, index_bytes = 0;
  for (const sk::SessionKey& k : keys) {
    session_bytes += wait([&](auto cb) { redis->memory_usage(k, cb); });
  }
  for (const std::string& u : users) {
    index_bytes += wait([&](auto cb) { redis->index_memory_usage(u, cb); });
  }
  const double per_session = static_cast<double>(session_bytes) / static_cast<double>(keys.size());
  const double per_index =
      users.empty() ? 0.0 : static_cast<double>(index_bytes) / static_cast<double>(users.size());
  const auto sessions_total = static_cast<std::size_t>(per_session * static_cast<double>(sessions));
  const auto index_total = static_cast<std::size_t>(per_index * static_cast<double>(user_count));
  return {{"sampled_sessions", keys.size()},
          {"bytes_per_session", static_cast<std::size_t>(per_session)},
          {"sessions_bytes_estimated", sessions_total},
          {"sampled_users", users.size()},
          {"bytes_per_user_index", static_cast<std::size_t>(per_index)},
          {"user_index_bytes_estimated", index_total},
          {"total_bytes_estimated", sessions_total + index_total}};
}
#endif

std::string megabytes(std::size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

}  // namespace

json stats_report(const Context& ctx) {
  const auto started = std::chrono::steady_clock::now();
  const sk::Time now = sk::SystemClock{}.now();
  sk::BlockingStore store(ctx.store());
  std::vector<std::size_t> bytes;
  std::unordered_set<std::string> users;
  std::size_t bound = 0, within_hour = 0, within_day = 0;
  std::optional<sk::Time> oldest, newest;
  // A uniform sample of the keys (reservoir), for the Redis memory estimate.
  constexpr std::size_t kSample = 1000;
  std::vector<sk::SessionKey> sample;
  std::mt19937_64 rng(std::random_device{}());
  std::string cursor;
  do {
    sk::ScanPage page = ctx.must(store.scan(cursor, kPage), "scan");
    for (const sk::StoredSession& s : page.sessions) {
      const sk::SessionRecord& r = s.record;
      if (sample.size() < kSample) {
        sample.push_back(s.key);
      } else if (const std::size_t j = rng() % (bytes.size() + 1); j < kSample) {
        sample[j] = s.key;
      }
      bytes.push_back(sk::stores::dump_payload(r.data).size());
      if (!r.user_id.empty()) {
        ++bound;
        users.insert(r.user_id);
      }
      const sk::Time deadline = std::min(r.expires_at, r.absolute_expires_at);
      if (deadline - now <= std::chrono::hours(1)) ++within_hour;
      if (deadline - now <= std::chrono::hours(24)) ++within_day;
      if (!oldest || r.created_at < *oldest) oldest = r.created_at;
      if (!newest || r.created_at > *newest) newest = r.created_at;
    }
    cursor = std::move(page.next_cursor);
  } while (!cursor.empty());
  std::sort(bytes.begin(), bytes.end());
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  json report = {
      {"store", std::string(ctx.store().name())},
      {"sessions", bytes.size()},
      {"bound_sessions", bound},
      {"anonymous_sessions", bytes.size() - bound},
      {"users", users.size()},
      {"payload_bytes",
       {{"min", bytes.empty() ? 0 : bytes.front()},
        {"median", quantile(bytes, 0.5)},
        {"p99", quantile(bytes, 0.99)},
        {"max", bytes.empty() ? 0 : bytes.back()}}},
      {"expiring_within_1h", within_hour},
      {"expiring_within_24h", within_day},
      {"oldest_created", oldest ? json(iso_time(*oldest)) : json()},
      {"newest_created", newest ? json(iso_time(*newest)) : json()},
      {"scan_ms", static_cast<std::int64_t>(ms)},
  };
#ifdef SESSIONCTL_WITH_REDIS
  std::vector<std::string> user_sample;
  for (const std::string& u : users) {
    if (user_sample.size() == 200) break;
    user_sample.push_back(u);
  }
  if (json mem = redis_memory(ctx, sample, user_sample, bytes.size(), users.size());
      !mem.is_null()) {
    report["redis_memory"] = std::move(mem);
  }
#endif
  return report;
}

int stats(const Context& ctx, std::ostream& out) {
  const json report = stats_report(ctx);
  if (ctx.json()) {
    out << report.dump(2) << '\n';
    return kOk;
  }
  const json& b = report["payload_bytes"];
  print_table(out,
              {
                  {"store", plain(report["store"])},
                  {"sessions", plain(report["sessions"])},
                  {"  bound to a user", plain(report["bound_sessions"])},
                  {"  anonymous", plain(report["anonymous_sessions"])},
                  {"users", plain(report["users"])},
                  {"payload bytes", "min " + b["min"].dump() + ", median " + b["median"].dump() +
                                        ", p99 " + b["p99"].dump() + ", max " + b["max"].dump()},
                  {"expiring within 1 h", plain(report["expiring_within_1h"])},
                  {"expiring within 24 h", plain(report["expiring_within_24h"])},
                  {"oldest created", plain(report["oldest_created"])},
                  {"newest created", plain(report["newest_created"])},
                  {"scanned in", plain(report["scan_ms"]) + " ms"},
              });
  if (report.contains("redis_memory")) {
    const json& m = report["redis_memory"];
    print_table(
        out, {{"redis memory (estimated)",
               megabytes(m["total_bytes_estimated"].get<std::size_t>()) + " (sessions " +
                   megabytes(m["sessions_bytes_estimated"].get<std::size_t>()) + ", user index " +
                   megabytes(m["user_index_bytes_estimated"].get<std::size_t>()) +
                   "; MEMORY USAGE of " + m["sampled_sessions"].dump() + " sessions and " +
                   m["sampled_users"].dump() + " users)"}});
  }
  return kOk;
}

int list(const Context& ctx, const std::string& user, std::size_t limit, std::ostream& out) {
  if (limit == 0) throw Failure(kUsage, "--limit: must be at least 1");
  sk::BlockingStore store(ctx.store());
  std::vector<sk::StoredSession> found;
  if (!user.empty()) {
    found = ctx.must(store.list_user(user), "list the sessions of a user");
    if (found.size() > limit) found.resize(limit);
  } else {
    std::string cursor;
    do {
      sk::ScanPage page =
          ctx.must(store.scan(cursor, std::min(limit - found.size(), kPage)), "scan");
      for (sk::StoredSession& s : page.sessions)
        found.push_back(std::move(s));
      cursor = std::move(page.next_cursor);
    } while (!cursor.empty() && found.size() < limit);
  }
  json all = json::array();
  for (const sk::StoredSession& s : found)
    all.push_back(describe(ctx, s));
  if (ctx.json()) {
    out << all.dump(2) << '\n';
    return kOk;
  }
  std::vector<std::vector<std::string>> rows = {{ctx.has_secret() ? "HANDLE" : "KEY", "USER",
                                                 "CREATED", "LAST ACCESS", "EXPIRES", "IP",
                                                 "BYTES"}};
  for (const json& s : all) {
    rows.push_back({ctx.has_secret() ? plain(s["handle"]) : plain(s["key"]).substr(0, 16),
                    s["user"].get<std::string>().empty() ? "-" : plain(s["user"]),
                    plain(s["created"]), plain(s["last_access"]), plain(s["expires_at"]),
                    s["ip"].get<std::string>().empty() ? "-" : plain(s["ip"]),
                    plain(s["payload_bytes"])});
  }
  print_table(out, rows);
  return kOk;
}

int show(const Context& ctx, const Target& target, bool reveal, std::ostream& out,
         std::ostream& log) {
  const sk::StoredSession s = find(ctx, target);
  json view = describe(ctx, s);
  view["payload"] = payload_view(s.record.data, reveal);
  // Values the apps sealed or compressed, read without the matching flag: say so.
  bool sealed = s.record.data.contains("_sk_at_ip") || s.record.data.contains("_sk_at_ua");
  bool packed = false;
  for (const auto& [name, value] : s.record.data.items()) {
    if (!value.is_string()) continue;
    sealed = sealed || value.get_ref<const std::string&>().starts_with("e1.");
    packed = packed || value.get_ref<const std::string&>().starts_with("z1.");
  }
  if (sealed && !ctx.opens_sealed()) {
    log << "sessionctl: the values look sealed by the apps (sessionkit::EncryptedStore): pass "
           "--encrypt-at-rest with their secret to open them\n";
  } else if (packed && !ctx.inflates()) {
    log << "sessionctl: some values look compressed by the apps (sessionkit::CompressedStore): "
           "pass --compressed to read them inflated\n";
  }
  if (reveal) {
    // Who looked at what: the apps' operators see this line in their terminal and logs.
    log << "sessionctl: revealed the payload of session " << s.key.hint() << " (user "
        << (s.record.user_id.empty() ? "-" : s.record.user_id) << ")\n";
  }
  if (ctx.json()) {
    out << view.dump(2) << '\n';
    return kOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, value] : view.items()) {
    if (name != "payload") rows.push_back({name, plain(value)});
  }
  print_table(out, rows);
  out << "payload" << (reveal ? "" : " (redacted: --reveal shows the values)") << ":\n";
  rows.clear();
  for (const auto& [name, value] : view["payload"].items()) {
    rows.push_back(
        {"  " + name,
         reveal ? value.dump() : plain(value["type"]) + ", " + value["bytes"].dump() + " bytes"});
  }
  print_table(out, rows);
  return kOk;
}

}  // namespace sessionctl
