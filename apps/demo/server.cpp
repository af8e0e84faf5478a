#include "server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <iostream>
#include <optional>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

#include "sessionkit/http/beast.h"

namespace demo {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

void log_exception(std::string_view what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("{} ended with an exception: {}", what, ex.what());
  } catch (...) {
    spdlog::error("{} ended with an unknown exception", what);
  }
}

bool is_parse_error(const error_code& ec) {
  return &ec.category() == &bhttp::make_error_code(bhttp::error::bad_method).category();
}

// The response's status line and header fields, in one contiguous buffer, so that the response
// goes out in one plain gather write with the body. Beast's async_write presents the header as
// a buffer sequence of several pieces per field and walks it again on every write_some; this
// walks it once (docs/performance.md, "The one-buffer response write": healthz +42%, read +16%).
error_code serialize_header(Response& res, std::string& out) {
  out.clear();
  bhttp::serializer<false, bhttp::string_body> sr(res);
  sr.split(true);
  error_code ec;
  while (!ec && !sr.is_header_done()) {
    sr.next(ec, [&](error_code&, const auto& buffers) {
      std::size_t n = 0;
      for (auto b : beast::buffers_range_ref(buffers)) {
        out.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      sr.consume(n);
    });
  }
  return ec;
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
  asio::any_io_executor executor;       // the connection's strand; guards the fields above
};

Server::Server(Router& router, ServerOptions options)
    : router_(router),
      options_(std::move(options)),
      ioc_(static_cast<int>(std::max(1U, options_.threads))),
      acceptor_(asio::make_strand(ioc_)),
      accept_resume_(acceptor_.get_executor()),
      signals_(ioc_, SIGINT, SIGTERM),
      janitor_timer_(asio::make_strand(ioc_)) {}

Server::~Server() = default;

void Server::start() {
  error_code ec;
  asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (ec) {  // a host name: resolve it (start-up only, blocking is fine)
    tcp::resolver resolver(ioc_);
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

  asio::co_spawn(acceptor_.get_executor(), accept_loop(),
                 [](std::exception_ptr e) { log_exception("accept loop", e); });
  asio::co_spawn(janitor_timer_.get_executor(), janitor(),
                 [](std::exception_ptr e) { log_exception("janitor", e); });
  wait_for_signal();

  spdlog::info("listening on http://{}:{} with {} threads, at most {} connections",
               url_host(address), bound_port_, options_.threads, connection_limit_);
  std::cout << "sessionkit-demo listening on http://" << url_host(address) << ':' << bound_port_
            << std::endl;  // endl flushes: tests and scripts wait for this line
}

void Server::run() {
  auto worker = [this] {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {  // handlers do not throw; be defensive anyway
        spdlog::error("unexpected exception on an I/O thread: {}", e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < options_.threads; ++i)
    threads.emplace_back(worker);
  worker();
  for (auto& t : threads)
    t.join();
  spdlog::info("server stopped");
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  asio::co_spawn(asio::make_strand(ioc_), shutdown_sequence(),
                 [](std::exception_ptr e) { log_exception("shutdown", e); });
}

void Server::wait_for_signal() {
  signals_.async_wait([this](const error_code& ec, int signo) {
    if (ec) return;
    if (stopping_.load()) {
      spdlog::warn("second signal ({}): stopping now", signo);
      ioc_.stop();
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
  // The accept loop sets accept_paused_ before it re-checks the count and waits, on its strand;
  // the cancel is posted to that strand, so it reaches the wait even if it is not yet pending.
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
  ioc_.stop();
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
    tcp::socket socket(asio::make_strand(ioc_));
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
                   [](std::exception_ptr e) { log_exception("connection", e); });
  }
}

asio::awaitable<void> Server::serve(tcp::socket socket, [[maybe_unused]] Slot slot) {
  auto conn = std::make_shared<Connection>();
  conn->executor = socket.get_executor();
  beast::tcp_stream stream(std::move(socket));
  conn->stream = &stream;
  if (!enroll(conn)) co_return;  // shutting down: the socket closes with `stream`
  struct Withdraw {
    Server* self;
    std::shared_ptr<Connection> conn;
    ~Withdraw() {
      conn->stream = nullptr;
      self->withdraw(conn);
    }
  } withdraw_on_exit{this, conn};

  std::string peer;
  {
    error_code ec;
    auto remote = stream.socket().remote_endpoint(ec);
    if (!ec) peer = remote.address().to_string();
  }

  beast::flat_buffer buffer;
  std::string header;  // the serialized response header, reused across the connection's requests
  auto& metrics = router_.manager().metrics();
  bool lingering_close = false;

  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(options_.header_limit);
    parser.body_limit(options_.body_limit);

    conn->reading = true;
    if (stopping_.load()) break;
    // The header, parsed as it arrives (what http::async_read_header does, with two deadlines):
    // the idle timeout until the request's first byte, then header_timeout for the whole header.
    error_code ec;
    std::size_t n = 0;
    bool header_deadline = false;
    stream.expires_after(options_.idle_timeout);
    for (;;) {
      if (buffer.size() > 0) {
        if (!header_deadline) {
          stream.expires_after(options_.header_timeout);
          header_deadline = true;
        }
        const std::size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec != bhttp::error::need_more) break;  // the header is complete, or malformed
        ec = {};
      }
      const std::size_t room = beast::read_size(buffer, 65536);
      if (room == 0) {
        ec = bhttp::error::buffer_overflow;
        break;
      }
      auto [rec, rn] = co_await stream.async_read_some(buffer.prepare(room), use_tuple);
      buffer.commit(rn);
      if (rec == asio::error::eof) {
        if (parser.got_some()) {
          parser.put_eof(ec);  // partial_message
        } else {
          ec = bhttp::error::end_of_stream;
        }
        break;
      }
      if (rec) {
        ec = rec;
        break;
      }
    }
    // Framing that RFC 9112 answers with 400 and a closed connection: nothing after this header
    // is parsed (a body that is not one would otherwise run as the next request).
    std::optional<std::string_view> framing;
    if (!ec) framing = sessionkit::beast::framing_error(parser);
    if (framing) {
      conn->reading = false;
      Response error = json_error(HttpStatus::bad_request, *framing, 11, false);
      stream.expires_after(options_.idle_timeout);
      co_await bhttp::async_write(stream, error, use_tuple);
      lingering_close = true;
      break;
    }
    if (!ec && !parser.is_done()) stream.expires_after(options_.idle_timeout);
    if (!ec && parser.get()[bhttp::field::expect] == "100-continue" && !parser.is_done()) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, parser.get().version()};
      auto [wec, wn] = co_await bhttp::async_write(stream, cont, use_tuple);
      ec = wec;
    }
    if (!ec && !parser.is_done()) {
      std::tie(ec, n) = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    }
    conn->reading = false;

    if (ec) {
      std::optional<Response> error;
      if (ec == bhttp::error::header_limit) {
        error = json_error(HttpStatus::request_header_fields_too_large, "request header too large",
                           11, false);
      } else if (ec == bhttp::error::body_limit) {
        error = json_error(HttpStatus::payload_too_large, "request body too large", 11, false);
      } else if (is_parse_error(ec) && ec != bhttp::error::end_of_stream &&
                 ec != bhttp::error::partial_message) {
        error = json_error(HttpStatus::bad_request, "malformed HTTP request", 11, false);
      }
      if (error) {
        stream.expires_after(options_.idle_timeout);
        co_await bhttp::async_write(stream, *error, use_tuple);
        lingering_close = true;
      }
      break;
    }

    const auto started = std::chrono::steady_clock::now();
    Request req = parser.release();
    Response res = co_await router_.handle(req, peer);
    const bool keep_alive = !res.need_eof() && !stopping_.load();
    res.keep_alive(keep_alive);

    stream.expires_after(options_.idle_timeout);
    error_code wec;
    if (res.chunked()) {  // no handler answers chunked; Beast would encode the chunks
      std::tie(wec, std::ignore) = co_await bhttp::async_write(stream, res, use_tuple);
    } else if (wec = serialize_header(res, header); !wec) {
      const std::array<asio::const_buffer, 2> wire{asio::buffer(header), asio::buffer(res.body())};
      std::tie(wec, std::ignore) = co_await asio::async_write(stream, wire, use_tuple);
    }
    metrics.request_latency.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    spdlog::debug("{} {} {} {}", peer, std::string_view(req.method_string()),
                  std::string_view(req.target()), res.result_int());
    if (wec || !keep_alive) break;
  }

  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (lingering_close) {
    // Read and discard what the client is still sending (bounded), so that closing the socket
    // with unread data does not reset the connection before the client has read our answer.
    stream.expires_after(std::chrono::seconds(2));
    std::array<char, 16 * 1024> sink;
    std::size_t drained = 0;
    while (drained < 1024 * 1024) {
      auto [rec, rn] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
      if (rec) break;
      drained += rn;
    }
  }
  stream.socket().close(ignored);
}

asio::awaitable<void> Server::janitor() {
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
          [this](sessionkit::Callback<std::size_t> done) {
            router_.manager().store().purge_expired(options_.janitor_batch, std::move(done));
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

}  // namespace demo
