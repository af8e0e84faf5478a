// Internal: routes commands to Redis servers. One I/O thread (an Asio io_context) per client,
// `connections` pipelined Connections per server, round-robin. Attached event loops (`attach`)
// get a set of their own, one Connection per server: a command issued on a thread that runs an
// attached loop goes out on that loop's connection, and its reply is handled there, so the
// caller never changes thread (see RedisStore::attach). In cluster mode commands are sent
// to the master owning the key's hash slot (CRC16 of the key or its {hash tag}, mod 16384), the
// slot map comes from CLUSTER SLOTS, and MOVED / ASK redirects are followed (MOVED also
// refreshes the map). Not installed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/stores/redis.h"
#include "stores/redis/connection.h"

namespace sessionkit::redis {

// The cluster hash slot of a key (CRC16-XMODEM of the key, or of its first non-empty {tag}).
std::uint16_t key_slot(std::string_view key) noexcept;

class Client {
 public:
  // Validates the options (TLS files) and starts the I/O thread; connects lazily.
  static Result<std::shared_ptr<Client>> start(const RedisStoreOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Runs `command` (which touches only `key`'s slot) where `key` lives.
  void execute(std::string_view key, Command command, ReplyHandler done);
  // The masters to visit for whole-keyspace commands (SCAN, PING), as known now.
  void masters(std::function<void(Result<std::vector<Endpoint>>)> done);
  // Runs `command` on one given server.
  void execute_on(const Endpoint& node, const Command& command, ReplyHandler done);

  // Connections of the event loop `loop` (run by one thread) for the commands issued on it,
  // made on first use; dropping the answer closes them (calls in flight answer `unavailable`)
  // and that thread's commands go through the client's own I/O thread again.
  std::shared_ptr<void> attach(boost::asio::io_context& loop);

  // Closes every connection, the attached loops' too (calls in flight answer `unavailable`,
  // later calls too) and joins the I/O thread. Idempotent; also done by the destructor.
  void shutdown();

 private:
  class Impl;
  explicit Client(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace sessionkit::redis
