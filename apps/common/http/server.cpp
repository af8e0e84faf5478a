#include "common/http/server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <iostream>
#include <optional>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

#include "common/http/http_io.h"
#include "sessionkit/http/beast.h"
#include "sessionkit/metrics.h"
#include "sessionkit/store.h"

namespace sessionkit_apps::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

void log_exception(std::string_view what, const std::exception_ptr& e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("{} ended with an exception: {}", what, ex.what());
  } catch (...) {
    spdlog::error("{} ended with an unknown exception", what);
  }
}

// Accept failures that mean "no descriptor or memory for a new connection right now".
bool out_of_resources(const error_code& ec) {
  return ec == asio::error::no_descriptors ||                                 // EMFILE
         ec == boost::system::errc::too_many_files_open_in_system ||          // ENFILE
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;  // ENOBUFS, ENOMEM
}

// RLIMIT_NOFILE's soft limit minus `reserve`, at least 1.
std::size_t descriptor_budget(std::size_t reserve) {
  rlimit limit{};
  std::size_t soft = 1U << 20;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    soft = static_cast<std::size_t>(limit.rlim_cur);
  return soft > reserve + 1 ? soft - reserve : 1;
}

std::string url_host(const asio::ip::address& a) {
  return a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
}

}  // namespace

// Counts one accepted connection from accept to close (it is destroyed with the connection's
// coroutine frame, after the socket).
class Server::Slot {
 public:
  explicit Slot(Server* server) : server_(server) {}
  Slot(Slot&& other) noexcept : server_(std::exchange(other.server_, nullptr)) {}
  Slot& operator=(Slot&&) = delete;
  ~Slot() {
    if (server_ != nullptr) server_->release_slot();
  }

 private:
  Server* server_;
};

struct Server::Connection {
  beast::tcp_stream* stream = nullptr;  // null once the coroutine has finished with it
  bool reading = false;                 // waiting for (the rest of) a request: may be cancelled
  asio::any_io_executor executor;       // the connection's loop; the fields above are its own
};

// Keeps a connection in the server's set (shutdown cancels it while it waits for a request)
// until its coroutine ends.
class Server::Enrollment {
 public:
  Enrollment(Server* server, std::shared_ptr<Connection> conn)
      : server_(server), conn_(std::move(conn)) {}
  Enrollment(const Enrollment&) = delete;
  Enrollment& operator=(const Enrollment&) = delete;
  ~Enrollment() {
    conn_->stream = nullptr;
    server_->withdraw(conn_);
  }

 private:
  Server* server_;
  std::shared_ptr<Connection> conn_;
};

namespace {

std::string peer_address(beast::tcp_stream& stream) {
  error_code ec;
  auto remote = stream.socket().remote_endpoint(ec);
  return ec ? std::string() : remote.address().to_string();
}

}  // namespace

namespace {

std::vector<std::unique_ptr<asio::io_context>> make_loops(unsigned threads) {
  std::vector<std::unique_ptr<asio::io_context>> loops;
  for (unsigned i = 0; i < std::max(1U, threads); ++i)
    loops.push_back(std::make_unique<asio::io_context>(1));  // one thread each: no locking
  return loops;
}

}  // namespace

Server::Server(Handler& handler, ServerOptions options)
    : handler_(handler),
      options_(std::move(options)),
      loops_(make_loops(options_.threads)),
      acceptor_(*loops_[0]),
      accept_resume_(*loops_[0]),
      signals_(*loops_[0], SIGINT, SIGTERM),
      janitor_timer_(*loops_[0]) {
  for (auto& loop : loops_)
    work_.push_back(asio::make_work_guard(*loop));  // a loop without connections keeps running
}

Server::~Server() {
  attachments_.clear();  // before the loops they belong to
}

asio::io_context& Server::next_loop() {
  asio::io_context& loop = *loops_[next_loop_];
  next_loop_ = (next_loop_ + 1) % loops_.size();
  return loop;
}

void Server::stop_loops() {
  for (auto& guard : work_)
    guard.reset();
  for (auto& loop : loops_)
    loop->stop();
}

void Server::start() {
  error_code ec;
  asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (ec) {  // a host name: resolve it (start-up only, blocking is fine)
    tcp::resolver resolver(*loops_[0]);
    auto results = resolver.resolve(options_.host, std::to_string(options_.port), ec);
    if (ec || results.empty()) {
      throw std::system_error(ec ? ec : asio::error::host_not_found,
                              "cannot resolve listen host '" + options_.host + "'");
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, options_.port);
  auto fail = [&](const char* step) {
    throw std::system_error(ec, std::string("cannot listen on ") + url_host(address) + ":" +
                                    std::to_string(options_.port) + " (" + step + ")");
  };
  if (acceptor_.open(endpoint.protocol(), ec)) fail("open");
  if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec)) fail("reuse_address");
  if (acceptor_.bind(endpoint, ec)) fail("bind");
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec)) fail("listen");
  bound_port_ = acceptor_.local_endpoint().port();
  const std::size_t budget = descriptor_budget(options_.fd_reserve);
  connection_limit_ = options_.max_connections > 0 ? options_.max_connections : budget;
  if (connection_limit_ > budget) {
    spdlog::warn("max_connections {} exceeds the descriptor limit minus {} reserved ({})",
                 connection_limit_, options_.fd_reserve, budget);
  }

  if (options_.attach_loop) {
    for (auto& loop : loops_)
      attachments_.push_back(options_.attach_loop(*loop));
  }
  asio::co_spawn(acceptor_.get_executor(), accept_loop(),
                 [](const std::exception_ptr& e) { log_exception("accept loop", e); });
  asio::co_spawn(janitor_timer_.get_executor(), janitor(),
                 [](const std::exception_ptr& e) { log_exception("janitor", e); });
  wait_for_signal();

  const std::string_view scheme = options_.tls ? "https" : "http";
  spdlog::info("listening on {}://{}:{} with {} threads, at most {} connections", scheme,
               url_host(address), bound_port_, options_.threads, connection_limit_);
  if (options_.announce_on_stdout) {
    if (!options_.name.empty()) std::cout << options_.name << ' ';
    std::cout << "listening on " << scheme << "://" << url_host(address) << ':' << bound_port_
              << std::endl;  // endl flushes: tests and scripts wait for this line
  } else {
    spdlog::default_logger()->flush();
  }
}

void Server::run() {
  auto worker = [](asio::io_context& loop) {
    for (;;) {
      try {
        loop.run();
        return;
      } catch (const std::exception& e) {  // handlers do not throw; be defensive anyway
        spdlog::error("unexpected exception on an I/O thread: {}", e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops_.size(); ++i)
    threads.emplace_back(worker, std::ref(*loops_[i]));
  worker(*loops_[0]);
  for (auto& t : threads)
    t.join();
  attachments_.clear();  // the loops have stopped: nothing of theirs runs any more
  spdlog::info("server stopped");
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  asio::co_spawn(*loops_[0], shutdown_sequence(),
                 [](const std::exception_ptr& e) { log_exception("shutdown", e); });
}

void Server::wait_for_signal() {
  signals_.async_wait([this](const error_code& ec, int signo) {
    if (ec) return;
    if (stopping_.load()) {
      spdlog::warn("second signal ({}): stopping now", signo);
      stop_loops();
      return;
    }
    spdlog::info("signal {} received: shutting down gracefully", signo);
    stop();
    wait_for_signal();
  });
}

bool Server::enroll(const std::shared_ptr<Connection>& conn) {
  std::lock_guard lock(mutex_);
  if (stopping_.load()) return false;
  connections_.insert(conn);
  return true;
}

void Server::withdraw(const std::shared_ptr<Connection>& conn) {
  std::lock_guard lock(mutex_);
  connections_.erase(conn);
}

void Server::release_slot() {
  open_connections_.fetch_sub(1);
  // The accept loop sets accept_paused_ before it re-checks the count and waits, on loop 0; the
  // cancel is posted to loop 0, so it reaches the wait even if it is not yet pending.
  if (accept_paused_.load() && !stopping_.load()) {
    asio::post(acceptor_.get_executor(), [this] { accept_resume_.cancel(); });
  }
}

std::size_t Server::active_connections() {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

asio::awaitable<void> Server::shutdown_sequence() {
  std::vector<std::shared_ptr<Connection>> snapshot;
  {
    std::lock_guard lock(mutex_);  // after this, enroll() refuses new connections
    snapshot.assign(connections_.begin(), connections_.end());
  }
  asio::post(acceptor_.get_executor(), [this] {
    error_code ignored;
    acceptor_.close(ignored);
    accept_resume_.cancel();
  });
  asio::post(janitor_timer_.get_executor(), [this] { janitor_timer_.cancel(); });
  for (auto& conn : snapshot) {
    asio::post(conn->executor, [conn] {
      if (conn->stream != nullptr && conn->reading) conn->stream->cancel();
    });
  }

  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + options_.shutdown_grace;
  std::size_t left = active_connections();
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(use_tuple);
    left = active_connections();
  }
  if (left > 0) {
    spdlog::warn("shutdown grace period over: dropping {} connection(s)", left);
  }
  error_code ignored;
  signals_.cancel(ignored);
  stop_loops();
}

asio::awaitable<void> Server::accept_loop() {
  bool at_limit = false;     // logged once per episode
  std::size_t failures = 0;  // consecutive accept failures for lack of resources
  std::chrono::milliseconds backoff{10};
  for (;;) {
    if (open_connections_.load() >= connection_limit_) {
      if (!at_limit) {
        at_limit = true;
        spdlog::warn("connection limit reached ({} open): not accepting until one closes",
                     connection_limit_);
      }
      accept_paused_.store(true);
      if (open_connections_.load() >= connection_limit_) {  // re-check after announcing the wait
        // A closing connection cancels the wait; the timeout is only a safety net.
        accept_resume_.expires_after(std::chrono::seconds(1));
        co_await accept_resume_.async_wait(use_tuple);
      }
      accept_paused_.store(false);
      if (!acceptor_.is_open() || stopping_.load()) co_return;
      continue;
    }
    if (at_limit) {
      at_limit = false;
      spdlog::info("connection limit cleared: accepting again ({} open)", open_connections_.load());
    }
    tcp::socket socket(next_loop());  // accepted on loop 0, served on its own loop
    auto [ec] = co_await acceptor_.async_accept(socket, use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (out_of_resources(ec)) {
        if (failures++ == 0) {
          spdlog::warn("accept failed: {} ({} connections open); backing off until it works again",
                       ec.message(), open_connections_.load());
        }
        asio::steady_timer pause(acceptor_.get_executor(), backoff);
        co_await pause.async_wait(use_tuple);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(1));
        continue;
      }
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    if (failures > 0) {
      spdlog::info("accepting again after {} failed attempt(s)", failures);
      failures = 0;
      backoff = std::chrono::milliseconds(10);
    }
    open_connections_.fetch_add(1);
    auto executor = socket.get_executor();
    asio::co_spawn(executor, serve(std::move(socket), Slot(this)),
                   [](const std::exception_ptr& e) { log_exception("connection", e); });
  }
}

asio::awaitable<void> Server::serve(tcp::socket socket, [[maybe_unused]] Slot slot) {
  auto conn = std::make_shared<Connection>();
  conn->executor = socket.get_executor();
  beast::tcp_stream stream(std::move(socket));
  conn->stream = &stream;
  if (!enroll(conn)) co_return;  // shutting down: the socket closes with `stream`
  Enrollment enrollment(this, conn);
  const std::string peer = peer_address(stream);
  if (!options_.tls) {
    co_await serve_http(stream, *conn, peer);
    co_return;
  }
  TlsStream tls(std::move(stream), *options_.tls);
  conn->stream = &beast::get_lowest_layer(tls);  // (on the connection's loop)
  conn->reading = true;  // a shutdown may cancel a handshake that waits for the client
  beast::get_lowest_layer(tls).expires_after(options_.header_timeout);
  auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, use_tuple);
  conn->reading = false;
  if (ec) {
    // No certificate, an unknown CA, plain HTTP on a TLS port, a timeout: nothing to answer.
    spdlog::debug("{}: TLS handshake failed: {}", peer, ec.message());
    error_code ignored;
    beast::get_lowest_layer(tls).socket().close(ignored);
    co_return;
  }
  co_await serve_http(tls, *conn, peer);
}

template <class Stream>
asio::awaitable<void> Server::serve_http(Stream& stream, Connection& conn,
                                         const std::string& peer) {
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  std::string header;  // the serialized response header, reused across the connection's requests
  bool lingering = false;  // after a refusal: let the client read it before the close
  for (;;) {
    RequestParser parser;
    parser.header_limit(options_.header_limit);
    parser.body_limit(options_.body_limit);
    conn.reading = true;
    if (stopping_.load()) break;
    const ReadOutcome read = co_await read_request(stream, buffer, parser, options_.idle_timeout,
                                                   options_.header_timeout);
    conn.reading = false;
    if (const std::optional<Refusal> refused = refusal(read)) {
      Response error = handler_.refusal(refused->status, refused->reason);
      if (error.keep_alive()) error.keep_alive(false);  // the connection closes after it
      tcp.expires_after(options_.idle_timeout);
      co_await bhttp::async_write(stream, error, use_tuple);
      lingering = true;
      break;
    }
    if (read.ec) break;  // the client went away, or timed out

    const auto started = std::chrono::steady_clock::now();
    Request req = parser.release();
    Response res = co_await handler_.handle(req, peer);
    const bool keep_alive = !res.need_eof() && !stopping_.load();
    res.keep_alive(keep_alive);
    tcp.expires_after(options_.idle_timeout);
    error_code wec;
    if (res.chunked()) {  // no handler answers chunked; Beast would encode the chunks
      std::tie(wec, std::ignore) = co_await bhttp::async_write(stream, res, use_tuple);
    } else {
      serialize_header(res, header);
      const std::array<asio::const_buffer, 2> wire{asio::buffer(header), asio::buffer(res.body())};
      std::tie(wec, std::ignore) = co_await asio::async_write(stream, wire, use_tuple);
    }
    if (options_.metrics != nullptr) {
      options_.metrics->request_latency.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    spdlog::debug("{} {} {} {}", peer, std::string_view(req.method_string()),
                  std::string_view(req.target()), res.result_int());
    if (wec || !keep_alive) break;
  }
  co_await close_connection(stream, lingering);
}

asio::awaitable<void> Server::janitor() {
  sessionkit::SessionStore* const store = options_.janitor_store;
  if (store == nullptr) co_return;  // nothing to purge
  for (;;) {
    janitor_timer_.expires_after(options_.janitor_interval);
    auto [ec] = co_await janitor_timer_.async_wait(use_tuple);
    if (ec || stopping_.load()) co_return;
    // Drain everything that has expired, one bounded batch at a time, yielding to the request
    // handlers between batches: a million sessions expiring together must neither wait hours
    // for a fixed quota nor hold a thread for one long sweep.
    std::size_t total = 0;
    for (;;) {
      auto purged = co_await sessionkit::beast::async_call<std::size_t>(
          [this, store](sessionkit::Callback<std::size_t> done) {
            store->purge_expired(options_.janitor_batch, std::move(done));
          },
          asio::use_awaitable);
      if (!purged) {
        spdlog::warn("janitor: purging expired sessions failed: {}", purged.status().to_string());
        break;
      }
      total += *purged;
      if (*purged < options_.janitor_batch || stopping_.load()) break;
      co_await asio::post(janitor_timer_.get_executor(), asio::use_awaitable);
    }
    if (total > 0) spdlog::info("janitor: purged {} expired session(s)", total);
  }
}

}  // namespace sessionkit_apps::http
