// sessionkit/stores/redis.h — a SessionStore on Redis (one server) or a Redis Cluster.
//
// What it is: the store for many app instances. Each session is one Redis hash under
// `<prefix>s:<hex of SHA-256(ID)>` with a TTL at its deadline; a user's sessions are indexed in
// a sorted set `<prefix>u:<user id>`. Every change is one Lua script run atomically on the
// server, so a read request costs one command (HGETALL, or one script when the access time is
// refreshed) and a write request two (the load, and one script that changes the named keys or
// increments a counter). Key layout, scripts and costs: docs/stores.md.
//
// Connections: `connections` pipelined connections per server (many requests in flight on
// each), on one I/O thread owned by the store; plain TCP or TLS (`rediss://`, OpenSSL via
// Asio), AUTH with a password or an ACL user. Lost connections reconnect by themselves with
// backoff; while a server is unreachable, calls fail fast with `unavailable`. Every call is
// bounded by `command_timeout` (`timeout` when it passes).
//
// Event loops (`attach`): an app whose threads each run one Asio io_context (the apps' server,
// Seastar-style servers) can give each loop connections of its own. A call made on a thread
// that runs an attached loop is written on that loop's connection and its callback runs on that
// same thread, inline in the loop: no hop to the store's I/O thread and back, and the commands
// one turn of the loop issues leave in one write. Calls from any other thread use the store's
// own I/O thread as before. Each attached loop has one pipelined connection per server
// (`connections` is for the store's own thread). Reconnects, timeouts and errors behave the
// same on both; the loop must keep running while its calls are in flight.
//
// Thread safety: every member function may be called from any thread. Callbacks run on the
// store's I/O thread, or (for a call made on an attached loop) on that loop's thread: they must
// not block, and must never wait for another call of this store on that thread (so never use
// BlockingStore from inside a callback, nor on an attached loop's thread: BlockingStore refuses
// with `invalid_argument` there rather than wait forever).
//
// Expiry: a record is missing once the store's clock reaches its deadline (checked in every
// script and on every read); Redis deletes it by TTL. `purge_expired` has nothing to do and
// answers 0. The user index drops entries past their absolute deadline as it is written.
//
// Scan: walks every server with SCAN (never KEYS), in no particular order; the cursor is opaque.
// A session that exists for the whole scan is returned at least once (Redis may return a key
// twice if its table is resized during the scan). `count` is a full SCAN too: O(sessions).
//
// Errors: `not_found` / `conflict` / `invalid_argument` as the store contract says; `unavailable`
// when Redis cannot be reached or answers an error (the message says which); `timeout` when a
// call passes `command_timeout`; `corrupt` for a hash that does not decode. Nothing throws.
//
// Ownership: `open` returns a shared owner; the destructor fails calls still in flight with
// `unavailable` and joins the I/O thread. `options.clock` is borrowed and must outlive the store.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/store.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace sessionkit {

struct RedisNodeAddress {
  std::string host;
  std::uint16_t port = 6379;
};

struct RedisTlsOptions {
  std::string ca_file;      // PEM bundle to verify the server ("" = the system's CAs)
  std::string cert_file;    // client certificate (PEM), for servers that require one
  std::string key_file;     // its private key (PEM)
  std::string server_name;  // name to verify and send as SNI ("" = the host)
  bool verify = true;       // false only for tests against self-signed servers
};

struct RedisStoreOptions {
  // One server, or (with `cluster`) any number of cluster nodes to discover the rest from.
  std::vector<RedisNodeAddress> nodes{{"127.0.0.1", 6379}};
  bool cluster = false;
  std::string username;  // ACL user; "" = the default user
  std::string password;  // "" = no AUTH
  int database = 0;      // SELECT; must be 0 with `cluster`
  std::optional<RedisTlsOptions> tls;
  std::string key_prefix =
      "sk:";                    // must not contain '{' or '}' (it would pin every key to one slot)
  std::size_t connections = 2;  // pipelined connections per server (at least 1)
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
  const Clock* clock = nullptr;  // nullptr = system_clock()

  // Parses `redis://[user:password@]host:port[/db]`, `rediss://…` (TLS) and
  // `redis+cluster://[user:password@]host:port[,host:port…]` (`rediss+cluster://` with TLS).
  // Query parameters: `prefix`, `connections`, `timeout_ms`, `connect_timeout_ms`, and for TLS
  // `ca`, `cert`, `key`, `sni`, `verify=0`. User and password are percent-decoded.
  // `invalid_argument` with a message naming the problem otherwise.
  static Result<RedisStoreOptions> from_url(std::string_view url);
};

class RedisStore final : public SessionStore {
 public:
  // Validates the options, starts the I/O thread and checks that every given server answers
  // (PING) within `connect_timeout`. Errors: `invalid_argument` for bad options or TLS files,
  // `unavailable` / `timeout` when a server cannot be reached or refuses the credentials.
  static Result<std::shared_ptr<RedisStore>> open(RedisStoreOptions options);

  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  std::string_view name() const noexcept override;

  void load(const SessionKey& key, std::optional<TouchSpec> touch,
            Callback<std::optional<SessionRecord>> done) override;
  void create(const SessionKey& key, const SessionRecord& record, Callback<void> done) override;
  void patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) override;
  void patch_if(const SessionKey& key, const PayloadCondition& condition, const SessionPatch& patch,
                Callback<void> done) override;
  void increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                 std::optional<TouchSpec> touch, Callback<std::int64_t> done) override;
  void replace(const SessionKey& key, const SessionRecord& record, Callback<void> done) override;
  void touch(const SessionKey& key, TouchSpec touch, Callback<void> done) override;
  void destroy(const SessionKey& key, Callback<bool> done) override;
  void list_user(const std::string& user_id, Callback<std::vector<StoredSession>> done) override;
  void destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                    Callback<std::size_t> done) override;
  void count(Callback<std::size_t> done) override;
  bool count_is_expensive() const noexcept override { return true; }
  void scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) override;
  void purge_expired(std::size_t limit, Callback<std::size_t> done) override;
  void health(Callback<void> done) override;

  // Gives the event loop `loop` (an io_context run by exactly one thread) its own connections:
  // see "Event loops" above. Keep the answer while the loop runs; dropping it closes them
  // (calls still in flight answer `unavailable`) and the thread's calls use the store's own
  // I/O thread again. Drop it before `loop` is destroyed. May be called from any thread, any
  // number of times, for any number of loops.
  [[nodiscard]] std::shared_ptr<void> attach(boost::asio::io_context& loop);

  // The Redis key a session is stored under (for tests and operators).
  std::string redis_key(const SessionKey& key) const;

  // For operators' tools (sessionctl stats): the bytes the server holds for the record of `key`
  // (MEMORY USAGE … SAMPLES 0, which counts every field), or for the index of `user_id`'s
  // sessions; 0 when there is none. One round trip each, to the server that holds the key.
  void memory_usage(const SessionKey& key, Callback<std::size_t> done);
  void index_memory_usage(const std::string& user_id, Callback<std::size_t> done);

 private:
  class Impl;
  explicit RedisStore(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace sessionkit
