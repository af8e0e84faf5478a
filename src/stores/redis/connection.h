// Internal: one pipelined connection to one Redis server, over TCP or TLS, on Asio.
//
// Any thread may `execute` commands; they are written in submission order, pipelined (many in
// flight), and their replies are matched in order. The connection connects lazily on first use,
// authenticates (AUTH [user] password), selects the database, and reconnects by itself with
// exponential backoff (50 ms doubling to 2 s) after any failure. While it is waiting to
// reconnect, `execute` fails fast with `unavailable` instead of queueing: a request never waits
// for a server that is down. Every command has a deadline (`command_timeout`); when the oldest
// unanswered command passes it, the connection is reset (the reply stream cannot skip one
// answer): that command fails with `timeout`, the others in flight with `unavailable`, and the
// connection reconnects. A failure while commands are in flight means their outcome is unknown;
// they answer `unavailable`, never a guess.
//
// Handlers run on the connection's I/O thread, exactly once each, and must not block.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "sessionkit/result.h"
#include "stores/redis/resp.h"

namespace sessionkit::redis {

using ReplyHandler = std::function<void(Result<Reply>)>;

struct Endpoint {
  std::string host;
  std::uint16_t port = 6379;
  bool operator==(const Endpoint&) const = default;
  std::string str() const { return host + ":" + std::to_string(port); }
};

struct ConnectionConfig {
  std::string username;                            // ACL user ("" = default user)
  std::string password;                            // "" = no AUTH
  int database = 0;                                // SELECT (standalone only)
  std::shared_ptr<boost::asio::ssl::context> tls;  // null = plain TCP
  std::string tls_server_name;                     // SNI and certificate host check ("" = host)
  bool tls_verify = true;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::io_context& io, Endpoint endpoint, const ConnectionConfig& config);
  ~Connection();

  // Sends `command` (one or more commands pipelined back to back) and calls `done` with the
  // LAST reply (the others, e.g. ASKING, are checked for errors only). Thread-safe.
  void execute(const Command& command, ReplyHandler done);
  // Closes the socket and fails everything in flight with `unavailable` ("closed"); no more
  // reconnects. Thread-safe; called by the owner before the I/O thread stops.
  void close();
  // Whether the connection is waiting to reconnect (so `execute` would fail fast). Thread-safe;
  // a hint only: the state may change right after the answer.
  bool backing_off() const;

 private:
  enum class State { idle, connecting, ready, backoff, closed };
  struct Pending {
    std::size_t replies;  // replies still to come for this entry
    std::chrono::steady_clock::time_point deadline;
    ReplyHandler done;
    Reply first_error;  // an error reply to one of the leading commands of the batch
  };
  struct Link;  // one socket (and TLS stream, parser, buffers) per connection attempt

  void start_connect();                                  // I/O thread
  void on_connected(const std::shared_ptr<Link>& link);  // I/O thread
  void start_write();                                    // I/O thread
  void start_read(const std::shared_ptr<Link>& link);    // I/O thread
  void on_tick();                                        // I/O thread: deadlines and reconnects
  void fail(const Status& why);                          // I/O thread
  void arm_tick();                                       // I/O thread

  boost::asio::io_context& io_;
  const Endpoint endpoint_;
  const ConnectionConfig config_;
  boost::asio::steady_timer tick_;
  std::shared_ptr<Link> link_;  // I/O thread only: the current attempt or connection
  std::chrono::steady_clock::time_point connect_deadline_{};  // I/O thread only

  mutable std::mutex mutex_;
  State state_ = State::idle;
  std::string out_;  // encoded commands not yet handed to a write
  std::deque<Pending> pending_;
  bool writing_ = false;
  bool tick_armed_ = false;  // I/O thread only
  bool tick_idle_ = false;   // the tick stopped because nothing was in flight
  std::string last_error_;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point retry_at_{};
};

}  // namespace sessionkit::redis
