// server.h — the apps' HTTP/1.1 server (sessionkit-demo runs it; any app under apps/ may: static
// library sessionkit_apps_http, not installed): N event loops (one io_context per thread, the
// "one loop per core" shape of nginx, Seastar and Redis' own I/O threads), an acceptor on loop 0
// that deals accepted connections out to the loops in turn, and one coroutine per connection
// (Beast's advanced-server / server-flex-awaitable shape), generic over the app's request handler
// (`Handler`).
//
// Loops: a connection lives on one loop, and so on one thread, from accept to close: its
// coroutine needs no strand, and whatever completes on that loop (a store connection the app
// attached to it, `ServerOptions::attach_loop`) resumes the request without a thread switch. An
// app attaches per-loop resources once per loop in `start()`; the server releases what it handed
// back after the loops have stopped (`run()` returning) and before it is destroyed.
//
// Per connection (`serve`; reading and writing in http_io.h): a request parser is created for every
// message with an 8 KiB header limit (431) and a 64 KiB body limit (413); malformed input gets a
// 400, and so does a header whose framing RFC 9112 forbids (sessionkit::beast::framing_error:
// Transfer-Encoding not ending in chunked, on HTTP/1.0 or with Content-Length; no Host on HTTP/1.1,
// several Host lines), answered before any body is read and without parsing another byte; after any
// of these the connection is closed (lingering: the unread rest is discarded unparsed for at most 2
// s so that the close does not reset the connection before the client has read the error).
// Keep-alive with an idle timeout; `Expect: 100-continue` is honoured.
//
// Timeouts: waiting for a request's first byte (a new or kept-alive connection) and every body
// read or response write: `idle_timeout`. From a request's first byte to the end of its header:
// `header_timeout`, a deadline for the whole header, so a client trickling a header byte by byte
// cannot hold a connection for longer.
//
// Connection limit: at most `max_connections` connections at once (default: the RLIMIT_NOFILE
// soft limit minus `fd_reserve` descriptors kept for store connections, SQLite files and logs).
// At the limit the server stops accepting until a connection closes; new clients wait in the
// kernel's listen backlog rather than being accepted and turned away: a 503 would need a
// descriptor and a write per attempt (under a flood, a busy loop of accept-write-close that
// competes with the connections being served), while waiting clients are served as soon as
// capacity frees and a full backlog pushes back on the TCP level. One line is logged when the
// limit is reached and one when it clears. Accept failures for lack of descriptors or memory
// (EMFILE, ENFILE, ENOBUFS, ENOMEM: e.g. the store's own descriptors) back off from 10 ms up to
// 1 s and are logged once per episode.
//
// Shutdown (SIGINT/SIGTERM, or `stop()`): stop accepting, cancel idle connections, let in-flight
// requests finish and close their connections, wait at most `shutdown_grace`, then stop the
// io_context. A second signal stops at once.
//
// What the app hands in (ServerOptions): the Metrics whose `request_latency` gets every request
// (read complete to response written), and the store a janitor purges of expired sessions every
// `janitor_interval`; either may be null (not measured; no janitor).
//
// Thread safety: construct, `run()` once from one thread; `stop()` may be called from any thread.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/http/message.h"

namespace sessionkit {
struct Metrics;
class SessionStore;
}  // namespace sessionkit

namespace sessionkit_apps::http {

// The app's side of the server: what a request is answered with.
class Handler {
 public:
  virtual ~Handler() = default;
  // One request in, its response out; never throws for client input. May run concurrently.
  // `peer` is the client address. The request's body has already been read (size-limited).
  virtual boost::asio::awaitable<Response> handle(Request& request, const std::string& peer) = 0;
  // The answer to a request the server refused before `handle` (400: malformed or refused
  // framing; 431: header too large; 413: body too large), in the app's error format: `status`,
  // `reason` for the client (static text), HTTP/1.1 and `Connection: close` (the server closes
  // the connection after it). May run concurrently.
  virtual Response refusal(HttpStatus status, std::string_view reason) = 0;
};

// What the server calls once for each of its event loops before they run (ServerOptions::
// attach_loop); it answers what must live as long as the loop (null: nothing).
using LoopAttacher = std::function<std::shared_ptr<void>(boost::asio::io_context&)>;

struct ServerOptions {
  // Printed before " listening on http://HOST:PORT" (the app's name; empty: nothing before).
  std::string name;
  // Whether that plain line goes to stdout besides the log's own "listening on" line (off when
  // every stdout line must be a JSON log line; the log line carries the same address).
  bool announce_on_stdout = true;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (the bound port is printed)
  unsigned threads = 1;
  std::chrono::seconds idle_timeout{30};    // keep-alive idle and per-read/write timeout
  std::chrono::seconds header_timeout{10};  // from a request's first byte to its header's end
  // Connections served at once; 0: RLIMIT_NOFILE's soft limit minus `fd_reserve` (at least 1).
  std::size_t max_connections = 0;
  std::size_t fd_reserve = 64;  // descriptors kept for the store, files, logs (with 0 above)
  std::chrono::seconds shutdown_grace{5};     // how long in-flight requests may take
  std::chrono::seconds janitor_interval{30};  // purge_expired period
  std::size_t janitor_batch = 1000;           // per purge_expired call; a run drains all
  std::uint32_t header_limit = 8 * 1024;
  std::uint64_t body_limit = std::uint64_t{64} * 1024;
  // TLS: every connection is TLS with this context (its certificate, and, for mutual TLS, the
  // client CAs and verify mode set by the app); nullptr: plain HTTP. The handshake must finish
  // within `header_timeout`.
  std::shared_ptr<boost::asio::ssl::context> tls;
  // Borrowed; must outlive the server. nullptr: request latency is not observed.
  sessionkit::Metrics* metrics = nullptr;
  // Borrowed; must outlive the server. Purged of expired sessions every `janitor_interval`
  // (with client-side sessions: their revocation store); nullptr: no janitor.
  sessionkit::SessionStore* janitor_store = nullptr;
  // Called once for each event loop by `start()`, on the starting thread, before any loop runs
  // (e.g. `RedisStore::attach`: the store's connections for that loop). What it answers is kept
  // until the loops have stopped, then released (null: nothing to keep). Empty: nothing attached.
  LoopAttacher attach_loop;
};

class Server {
 public:
  // `handler` is borrowed and must outlive the server.
  Server(Handler& handler, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; throws std::system_error (with a message naming the address) on failure.
  // Then prints "NAME listening on http://HOST:PORT" (ServerOptions::name) to stdout.
  void start();
  // Runs the `threads` event loops, one per thread (loop 0 on the calling thread), until shutdown
  // completes; then releases what `attach_loop` answered.
  void run();
  // Begins the graceful shutdown (thread-safe, idempotent).
  void stop();

  std::uint16_t bound_port() const noexcept { return bound_port_; }
  // The connection limit in force (resolved by `start`).
  std::size_t connection_limit() const noexcept { return connection_limit_; }

 private:
  struct Connection;
  class Slot;        // one counted connection; releasing it may resume accepting
  class Enrollment;  // one connection in `connections_`, from enroll to withdraw

  boost::asio::awaitable<void> accept_loop();
  boost::asio::io_context& next_loop();  // the loop the next connection goes to (round robin)
  void stop_loops();
  // One connection: the TLS handshake when configured, then `serve_http`.
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket, Slot slot);
  // One connection's HTTP/1.1 loop (reading and writing: http_io.h), plain or TLS.
  template <class Stream>
  boost::asio::awaitable<void> serve_http(Stream& stream, Connection& conn,
                                          const std::string& peer);
  void release_slot();
  boost::asio::awaitable<void> janitor();
  boost::asio::awaitable<void> shutdown_sequence();
  void wait_for_signal();
  bool enroll(const std::shared_ptr<Connection>& conn);
  void withdraw(const std::shared_ptr<Connection>& conn);
  std::size_t active_connections();

  Handler& handler_;
  ServerOptions options_;

  // Declared before the io_context: coroutine frames destroyed with the io_context touch these.
  std::mutex mutex_;
  std::unordered_set<std::shared_ptr<Connection>> connections_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_connections_{0};  // accepted and not yet closed
  std::atomic<bool> accept_paused_{false};        // the accept loop waits on accept_resume_
  std::size_t connection_limit_ = 0;

  // One io_context per thread; declared before everything that lives on them. Loop 0 also runs
  // the acceptor, the signals, the janitor and the shutdown sequence.
  std::vector<std::unique_ptr<boost::asio::io_context>> loops_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::shared_ptr<void>> attachments_;  // ServerOptions::attach_loop's answers
  std::size_t next_loop_ = 0;                       // loop 0 only (the accept loop)
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_resume_;  // on loop 0; cancelled to resume accepting
  boost::asio::signal_set signals_;
  boost::asio::steady_timer janitor_timer_;
  std::uint16_t bound_port_ = 0;
};

}  // namespace sessionkit_apps::http
