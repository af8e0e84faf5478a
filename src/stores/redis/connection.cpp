#include "stores/redis/connection.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <vector>

namespace sessionkit::redis {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {
constexpr std::chrono::milliseconds kTick{25};
constexpr std::chrono::milliseconds kFirstBackoff{50};
constexpr std::chrono::milliseconds kMaxBackoff{2000};
}  // namespace

struct Connection::Link {
  explicit Link(asio::io_context& io) : resolver(io), socket(io) {}
  tcp::resolver resolver;
  tcp::socket socket;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  ReplyParser parser;
  std::string wbuf;
  std::array<char, 16384> rbuf{};

  template <class F>
  void with_stream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(socket);
    }
  }
  void close() {
    boost::system::error_code ignored;
    resolver.cancel();
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }
};

Connection::Connection(asio::io_context& io, Endpoint endpoint, const ConnectionConfig& config)
    : io_(io), endpoint_(std::move(endpoint)), config_(config), tick_(io) {}

Connection::~Connection() = default;

bool Connection::backing_off() const {
  std::lock_guard lock(mutex_);
  return state_ == State::backoff;
}

void Connection::execute(const Command& command, ReplyHandler done) {
  std::unique_lock lock(mutex_);
  switch (state_) {
    case State::closed:
      lock.unlock();
      done(Result<Reply>(errc::unavailable, "redis " + endpoint_.str() + ": store closed"));
      return;
    case State::backoff: {
      std::string why = last_error_;
      lock.unlock();
      done(Result<Reply>(errc::unavailable,
                         "redis " + endpoint_.str() + ": " + why + " (reconnecting)"));
      return;
    }
    case State::idle:
      state_ = State::connecting;
      asio::post(io_, [self = shared_from_this()] { self->start_connect(); });
      break;
    case State::connecting:
    case State::ready:
      break;
  }
  out_ += command.bytes;
  pending_.push_back(
      Pending{command.replies, steady::now() + config_.command_timeout, std::move(done), nullptr});
  // The tick stops while the connection is idle; this command's deadline needs it again (else a
  // server that froze meanwhile would leave the command waiting forever).
  const bool wake_tick = std::exchange(tick_idle_, false);
  const bool start_writing = state_ == State::ready && !writing_;
  if (start_writing) writing_ = true;
  lock.unlock();
  if (wake_tick || start_writing) {
    asio::post(io_, [self = shared_from_this(), wake_tick, start_writing] {
      if (wake_tick) self->arm_tick();
      if (start_writing) self->start_write();
    });
  }
}

void Connection::close() {
  std::deque<Pending> victims;
  {
    std::lock_guard lock(mutex_);
    state_ = State::closed;
    victims.swap(pending_);
    out_.clear();
    writing_ = false;
  }
  auto shared_victims = std::make_shared<std::deque<Pending>>(std::move(victims));
  asio::post(io_, [self = shared_from_this(), shared_victims] {
    if (self->link_) self->link_->close();
    self->link_.reset();
    self->tick_.cancel();
    for (auto& p : *shared_victims)
      p.done(Result<Reply>(errc::unavailable, "redis " + self->endpoint_.str() + ": store closed"));
  });
}

void Connection::arm_tick() {
  if (tick_armed_) return;
  tick_armed_ = true;
  tick_.expires_after(kTick);
  tick_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
    self->tick_armed_ = false;
    self->on_tick();
  });
}

void Connection::on_tick() {
  State state;
  steady::time_point oldest{};
  bool have_pending = false;
  {
    std::lock_guard lock(mutex_);
    state = state_;
    if (!pending_.empty()) {
      have_pending = true;
      oldest = pending_.front().deadline;
    }
  }
  if (state == State::closed) return;
  const auto now = steady::now();
  if (state == State::connecting && now >= connect_deadline_) {
    fail(Status(errc::timeout, "connect timed out after " +
                                   std::to_string(config_.connect_timeout.count()) + " ms"));
  } else if ((state == State::connecting || state == State::ready) && have_pending &&
             now >= oldest) {
    fail(Status(errc::timeout,
                "no reply within " + std::to_string(config_.command_timeout.count()) + " ms"));
  } else if (state == State::backoff) {
    bool retry = false;
    {
      std::lock_guard lock(mutex_);
      if (state_ == State::backoff && now >= retry_at_) {
        state_ = State::connecting;
        retry = true;
      }
    }
    if (retry) start_connect();
  }
  {
    // An idle, healthy connection needs no clock: `execute` wakes the tick again.
    std::lock_guard lock(mutex_);
    if (state_ == State::ready && pending_.empty()) {
      tick_idle_ = true;
      return;
    }
  }
  arm_tick();
}

void Connection::start_connect() {
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::connecting) return;  // closed meanwhile
  }
  auto link = std::make_shared<Link>(io_);
  link_ = link;
  connect_deadline_ = steady::now() + config_.connect_timeout;
  arm_tick();
  auto self = shared_from_this();
  link->resolver.async_resolve(
      endpoint_.host, std::to_string(endpoint_.port),
      [self, link](const boost::system::error_code& ec, const tcp::resolver::results_type& found) {
        if (link != self->link_) return;
        if (ec) return self->fail(Status(errc::unavailable, "resolve: " + ec.message()));
        asio::async_connect(
            link->socket, found,
            [self, link](const boost::system::error_code& ec, const tcp::endpoint&) {
              if (link != self->link_) return;
              if (ec) return self->fail(Status(errc::unavailable, "connect: " + ec.message()));
              boost::system::error_code ignored;
              link->socket.set_option(tcp::no_delay(true), ignored);
              if (!self->config_.tls) return self->on_connected(link);
              link->tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(link->socket,
                                                                            *self->config_.tls);
              const std::string& name = self->config_.tls_server_name.empty()
                                            ? self->endpoint_.host
                                            : self->config_.tls_server_name;
              SSL_set_tlsext_host_name(link->tls->native_handle(), name.c_str());
              if (self->config_.tls_verify) {
                link->tls->set_verify_mode(asio::ssl::verify_peer);
                link->tls->set_verify_callback(asio::ssl::host_name_verification(name));
              } else {
                link->tls->set_verify_mode(asio::ssl::verify_none);
              }
              link->tls->async_handshake(
                  asio::ssl::stream_base::client,
                  [self, link](const boost::system::error_code& ec) {
                    if (link != self->link_) return;
                    if (ec) {
                      return self->fail(
                          Status(errc::unavailable, "TLS handshake: " + ec.message()));
                    }
                    self->on_connected(link);
                  });
            });
      });
}

void Connection::on_connected(const std::shared_ptr<Link>& link) {
  // The handshake goes in front of everything queued while connecting.
  Command hello;
  if (!config_.password.empty()) {
    if (config_.username.empty()) {
      append_command(hello, {"AUTH", config_.password});
    } else {
      append_command(hello, {"AUTH", config_.username, config_.password});
    }
  }
  if (config_.database != 0) {
    append_command(hello, {"SELECT", std::to_string(config_.database)});
  }
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::connecting) return;
    for (std::size_t i = 0; i < hello.replies; ++i) {
      auto check = [self = shared_from_this(), link](Result<Reply> r) {
        if (link != self->link_ || !r) return;
        if (is_error(**r)) {
          self->fail(Status(errc::unavailable, "handshake refused: " + std::string(text(**r))));
        }
      };
      pending_.insert(pending_.begin() + static_cast<std::ptrdiff_t>(i),
                      Pending{1, steady::now() + config_.command_timeout, check, nullptr});
    }
    out_.insert(0, hello.bytes);
    state_ = State::ready;
    backoff_ = std::chrono::milliseconds(0);
    writing_ = true;
  }
  start_read(link);
  start_write();
}

void Connection::start_write() {
  std::shared_ptr<Link> link = link_;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::ready || !link || out_.empty()) {
      writing_ = false;
      return;
    }
    link->wbuf.clear();
    link->wbuf.swap(out_);
  }
  auto self = shared_from_this();
  link->with_stream([&](auto& stream) {
    asio::async_write(stream, asio::buffer(link->wbuf),
                      [self, link](const boost::system::error_code& ec, std::size_t) {
                        if (link != self->link_) return;
                        if (ec)
                          return self->fail(Status(errc::unavailable, "write: " + ec.message()));
                        self->start_write();
                      });
  });
}

void Connection::start_read(const std::shared_ptr<Link>& link) {
  auto self = shared_from_this();
  link->with_stream([&](auto& stream) {
    stream.async_read_some(
        asio::buffer(link->rbuf), [self, link](const boost::system::error_code& ec, std::size_t n) {
          if (link != self->link_) return;
          if (ec) {
            return self->fail(Status(errc::unavailable, ec == asio::error::eof
                                                            ? "connection closed by the server"
                                                            : "read: " + ec.message()));
          }
          if (!link->parser.feed(link->rbuf.data(), n)) {
            return self->fail(Status(errc::unavailable, "protocol: " + link->parser.error()));
          }
          for (;;) {
            Reply reply = link->parser.next();
            if (!reply) {
              if (!link->parser.error().empty()) {
                return self->fail(Status(errc::unavailable, "protocol: " + link->parser.error()));
              }
              break;
            }
            ReplyHandler done;
            Reply deliver;
            bool stray = false;
            {
              std::lock_guard lock(self->mutex_);
              if (self->pending_.empty()) {
                stray = true;  // an answer nobody asked for: the stream is out of step
              } else {
                Pending& p = self->pending_.front();
                if (--p.replies > 0) {
                  if (is_error(*reply) && !p.first_error) p.first_error = std::move(reply);
                  continue;
                }
                done = std::move(p.done);
                deliver = p.first_error ? std::move(p.first_error) : std::move(reply);
                self->pending_.pop_front();
              }
            }
            if (stray) return self->fail(Status(errc::unavailable, "protocol: unexpected reply"));
            done(std::move(deliver));
            if (link != self->link_) return;  // the handler reset the connection
          }
          self->start_read(link);
        });
  });
}

void Connection::fail(const Status& why) {
  std::deque<Pending> victims;
  const std::string where = "redis " + endpoint_.str() + ": ";
  {
    std::lock_guard lock(mutex_);
    victims.swap(pending_);
    out_.clear();
    writing_ = false;
    last_error_ = why.message();
    if (state_ != State::closed) {
      state_ = State::backoff;
      backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
      retry_at_ = steady::now() + backoff_;
    }
  }
  if (link_) link_->close();
  link_.reset();
  bool first = true;
  for (auto& p : victims) {
    if (first && why.code() == errc::timeout) {
      p.done(Result<Reply>(errc::timeout, where + why.message()));
    } else {
      p.done(Result<Reply>(errc::unavailable, where + "connection lost: " + why.message()));
    }
    first = false;
  }
  std::lock_guard lock(mutex_);
  if (state_ != State::closed) arm_tick();
}

}  // namespace sessionkit::redis
