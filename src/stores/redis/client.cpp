#include "stores/redis/client.h"

#include "core/attached_loops.h"

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <map>
#include <mutex>
#include <thread>

namespace sessionkit::redis {

namespace asio = boost::asio;

std::uint16_t key_slot(std::string_view key) noexcept {
  if (auto open = key.find('{'); open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  std::uint16_t crc = 0;  // CRC16-XMODEM: polynomial 0x1021, initial 0, no reflection
  for (unsigned char c : key) {
    crc ^= static_cast<std::uint16_t>(c << 8);
    for (int i = 0; i < 8; ++i)
      crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<std::uint16_t>(crc << 1);
  }
  return crc & 16383;
}

namespace {

constexpr int kMaxRedirects = 5;

struct EndpointLess {
  bool operator()(const Endpoint& a, const Endpoint& b) const {
    return std::tie(a.host, a.port) < std::tie(b.host, b.port);
  }
};

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" → the target, when `reply` is one.
std::optional<Endpoint> redirect_target(std::string_view error, std::string_view kind) {
  if (error.substr(0, kind.size()) != kind || error.size() <= kind.size() ||
      error[kind.size()] != ' ') {
    return std::nullopt;
  }
  auto addr_at = error.find(' ', kind.size() + 1);
  if (addr_at == std::string_view::npos) return std::nullopt;
  std::string_view addr = error.substr(addr_at + 1);
  auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  Endpoint ep;
  ep.host = std::string(addr.substr(0, colon));
  int port = 0;
  for (char c : addr.substr(colon + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
    if (port > 65535) return std::nullopt;
  }
  ep.port = static_cast<std::uint16_t>(port);
  return ep;
}

}  // namespace

class Client::Impl : public std::enable_shared_from_this<Client::Impl> {
 public:
  // The connections of one event loop: the client's own I/O thread (`home_`) or an attached one.
  struct Shard {
    asio::io_context* io;
    std::size_t per_server;  // connections per server
    std::map<Endpoint, std::vector<std::shared_ptr<Connection>>, EndpointLess> nodes;
  };

  explicit Impl(const RedisStoreOptions& options)
      : options_(options), work_(io_.get_executor()), home_{&io_, options.connections, {}} {}

  Status init() {
    config_.username = options_.username;
    config_.password = options_.password;
    config_.database = options_.database;
    config_.connect_timeout = options_.connect_timeout;
    config_.command_timeout = options_.command_timeout;
    if (options_.tls) {
      const RedisTlsOptions& t = *options_.tls;
      auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
      boost::system::error_code ec;
      ctx->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                           asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                       ec);
      if (t.ca_file.empty()) {
        ctx->set_default_verify_paths(ec);
      } else {
        ctx->load_verify_file(t.ca_file, ec);
      }
      if (ec) return {errc::invalid_argument, "redis TLS CA '" + t.ca_file + "': " + ec.message()};
      if (!t.cert_file.empty()) {
        ctx->use_certificate_chain_file(t.cert_file, ec);
        if (ec)
          return {errc::invalid_argument, "redis TLS cert '" + t.cert_file + "': " + ec.message()};
        ctx->use_private_key_file(t.key_file.empty() ? t.cert_file : t.key_file,
                                  asio::ssl::context::pem, ec);
        if (ec) return {errc::invalid_argument, "redis TLS key: " + ec.message()};
      }
      config_.tls = std::move(ctx);
      config_.tls_server_name = t.server_name;
      config_.tls_verify = t.verify;
    }
    for (const auto& n : options_.nodes)
      seeds_.push_back(Endpoint{n.host, n.port});
    thread_ = std::thread([self = shared_from_this()] { self->io_.run(); });
    return {};
  }

  // Closes every connection (calls in flight answer `unavailable`) and joins the I/O thread.
  void shutdown() {
    std::vector<std::shared_ptr<Connection>> all;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      for (auto& [ep, conns] : home_.nodes)
        for (auto& c : conns)
          all.push_back(c);
      for (auto& shard : shards_)
        for (auto& [ep, conns] : shard->nodes)
          for (auto& c : conns)
            all.push_back(c);
    }
    for (auto& c : all)
      c->close();
    work_.reset();
    if (!thread_.joinable()) return;
    if (std::this_thread::get_id() == thread_.get_id()) {
      thread_.detach();  // the last owner let go inside a callback: the thread ends by itself
    } else {
      thread_.join();
    }
  }

  std::shared_ptr<void> attach(asio::io_context& loop) {
    auto shard = std::make_shared<Shard>(Shard{&loop, 1, {}});
    {
      std::lock_guard lock(mutex_);
      shards_.push_back(shard);
    }
    const std::uint64_t registration = detail::note_attached_loop(
        [io = &loop] { return io->get_executor().running_in_this_thread(); });
    // Detaches when dropped: closes the loop's connections (their handlers run on the loop,
    // or are destroyed with it when it has stopped).
    return std::shared_ptr<void>(nullptr, [weak = weak_from_this(), shard, registration](void*) {
      detail::forget_attached_loop(registration);
      if (auto self = weak.lock()) self->detach(shard);
    });
  }

  void detach(const std::shared_ptr<Shard>& shard) {
    std::vector<std::shared_ptr<Connection>> all;
    {
      std::lock_guard lock(mutex_);
      std::erase(shards_, shard);
      for (auto& [ep, conns] : shard->nodes)
        for (auto& c : conns)
          all.push_back(c);
      shard->nodes.clear();
    }
    for (auto& c : all)
      c->close();
  }

  // The connections of the loop running on this thread (caller holds mutex_).
  Shard& shard_here() {
    for (auto& shard : shards_)
      if (shard->io->get_executor().running_in_this_thread()) return *shard;
    return home_;
  }

  std::shared_ptr<Connection> connection(const Endpoint& ep) {
    std::lock_guard lock(mutex_);
    Shard& shard = shard_here();
    auto& conns = shard.nodes[ep];
    if (conns.empty()) {
      for (std::size_t i = 0; i < shard.per_server; ++i) {
        conns.push_back(std::make_shared<Connection>(*shard.io, ep, config_));
        if (stopping_) conns.back()->close();  // answers "store closed" at once
      }
    }
    const std::size_t first = next_.fetch_add(1, std::memory_order_relaxed);
    // Round robin, skipping a connection that waits to reconnect while another is usable: after
    // an outage each connection reconnects on its own timer, and a request must not fail on one
    // that has not yet noticed the server is back when its sibling has.
    for (std::size_t k = 0; k + 1 < conns.size(); ++k) {
      const auto& c = conns[(first + k) % conns.size()];
      if (!c->backing_off()) return c;
    }
    return conns[(first + conns.size() - 1) % conns.size()];
  }

  std::optional<Endpoint> owner(std::uint16_t slot) {
    std::lock_guard lock(mutex_);
    if (slot_owner_[slot] < 0) return std::nullopt;
    return masters_[static_cast<std::size_t>(slot_owner_[slot])];
  }

  void execute(std::string_view key, Command command, ReplyHandler done) {
    if (!options_.cluster) {
      return connection(seeds_.front())->execute(command, std::move(done));
    }
    const std::uint16_t slot = key_slot(key);
    std::optional<Endpoint> ep = owner(slot);
    if (!ep) {
      refresh();
      ep = seeds_.front();  // a redirect will say where the slot lives
    }
    send_routed(*ep, slot, std::make_shared<Command>(std::move(command)), std::move(done), 0,
                false);
  }

  void send_routed(const Endpoint& ep, std::uint16_t slot, const std::shared_ptr<Command>& command,
                   ReplyHandler done, int redirects, bool asking) {
    Command wire;
    if (asking) {
      append_command(wire, {"ASKING"});
      wire.bytes += command->bytes;
      wire.replies += command->replies;
    } else {
      wire = *command;
    }
    auto self = shared_from_this();
    connection(ep)->execute(wire, [self, slot, command, done = std::move(done),
                                   redirects](Result<Reply> r) mutable {
      if (!r) {
        self->refresh();  // the node may have failed over: learn the new owner
        return done(std::move(r));
      }
      if (is_error(**r) && redirects < kMaxRedirects) {
        std::string_view err = text(**r);
        if (auto moved = redirect_target(err, "MOVED")) {
          self->learn(slot, *moved);
          self->refresh();
          return self->send_routed(*moved, slot, command, std::move(done), redirects + 1, false);
        }
        if (auto ask = redirect_target(err, "ASK")) {
          return self->send_routed(*ask, slot, command, std::move(done), redirects + 1, true);
        }
        if (err.substr(0, 11) == "CLUSTERDOWN" || err.substr(0, 8) == "TRYAGAIN") {
          self->refresh();
        }
      }
      done(std::move(r));
    });
  }

  void learn(std::uint16_t slot, const Endpoint& ep) {
    std::lock_guard lock(mutex_);
    slot_owner_[slot] = index_of(ep);
  }

  // Index of `ep` in masters_, adding it. Caller holds mutex_.
  int index_of(const Endpoint& ep) {
    for (std::size_t i = 0; i < masters_.size(); ++i)
      if (masters_[i] == ep) return static_cast<int>(i);
    masters_.push_back(ep);
    return static_cast<int>(masters_.size() - 1);
  }

  // Re-reads the slot map (CLUSTER SLOTS) from the first node that answers; at most one
  // refresh runs at a time and at most one starts per 100 ms.
  void refresh(std::function<void(Status)> done = nullptr) {
    if (!options_.cluster) {
      if (done) done({});
      return;
    }
    std::vector<Endpoint> candidates;
    {
      std::lock_guard lock(mutex_);
      if (done) refresh_waiters_.push_back(std::move(done));
      auto now = std::chrono::steady_clock::now();
      if (refreshing_ ||
          (now - last_refresh_ < std::chrono::milliseconds(100) && refresh_waiters_.empty())) {
        return;
      }
      refreshing_ = true;
      last_refresh_ = now;
      candidates = masters_;
      for (const auto& s : seeds_)
        if (std::find(candidates.begin(), candidates.end(), s) == candidates.end())
          candidates.push_back(s);
    }
    try_refresh(std::make_shared<std::vector<Endpoint>>(std::move(candidates)), 0, "");
  }

  void try_refresh(const std::shared_ptr<std::vector<Endpoint>>& candidates, std::size_t i,
                   const std::string& last_error) {
    if (i >= candidates->size()) {
      return finish_refresh(Status(errc::unavailable,
                                   "redis cluster: no node answered CLUSTER "
                                   "SLOTS" +
                                       (last_error.empty() ? "" : ": " + last_error)));
    }
    const Endpoint asked = (*candidates)[i];
    auto self = shared_from_this();
    connection(asked)->execute(
        make_command({"CLUSTER", "SLOTS"}), [self, candidates, i, asked](Result<Reply> r) {
          if (!r) return self->try_refresh(candidates, i + 1, r.message());
          const redisReply& rep = **r;
          if (rep.type != REDIS_REPLY_ARRAY)
            return self->try_refresh(candidates, i + 1, describe(rep));
          std::array<int, 16384> owners;
          owners.fill(-1);
          std::vector<Endpoint> masters;
          for (std::size_t k = 0; k < rep.elements; ++k) {
            const redisReply* range = rep.element[k];
            if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) continue;
            const redisReply* node = range->element[2];
            if (node->type != REDIS_REPLY_ARRAY || node->elements < 2) continue;
            Endpoint ep{std::string(text(*node->element[0])),
                        static_cast<std::uint16_t>(node->element[1]->integer)};
            if (ep.host.empty() || ep.host == "?") ep.host = asked.host;
            int idx = -1;
            for (std::size_t m = 0; m < masters.size(); ++m)
              if (masters[m] == ep) idx = static_cast<int>(m);
            if (idx < 0) {
              masters.push_back(ep);
              idx = static_cast<int>(masters.size() - 1);
            }
            long long lo = range->element[0]->integer, hi = range->element[1]->integer;
            for (long long s = std::max(0LL, lo); s <= std::min(16383LL, hi); ++s)
              owners[static_cast<std::size_t>(s)] = idx;
          }
          if (masters.empty()) return self->try_refresh(candidates, i + 1, "empty slot map");
          {
            std::lock_guard lock(self->mutex_);
            self->masters_ = std::move(masters);
            self->slot_owner_ = owners;
          }
          self->finish_refresh({});
        });
  }

  void finish_refresh(const Status& status) {
    std::vector<std::function<void(Status)>> waiters;
    {
      std::lock_guard lock(mutex_);
      refreshing_ = false;
      waiters.swap(refresh_waiters_);
    }
    for (auto& w : waiters)
      w(status);
  }

  void masters(std::function<void(Result<std::vector<Endpoint>>)> done) {
    if (!options_.cluster) return done(std::vector<Endpoint>{seeds_.front()});
    auto self = shared_from_this();
    refresh([self, done = std::move(done)](const Status& s) {
      if (!s) return done(s);
      std::vector<Endpoint> list;
      {
        std::lock_guard lock(self->mutex_);
        list = self->masters_;
      }
      std::sort(list.begin(), list.end(), EndpointLess{});
      done(std::move(list));
    });
  }

 private:
  RedisStoreOptions options_;
  ConnectionConfig config_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::vector<Endpoint> seeds_;

  std::mutex mutex_;
  Shard home_;                                  // the client's own I/O thread
  std::vector<std::shared_ptr<Shard>> shards_;  // attached event loops
  std::atomic<std::size_t> next_{0};
  // Cluster slot map: slot → index into masters_ (-1 unknown).
  std::vector<Endpoint> masters_;
  std::array<int, 16384> slot_owner_ = [] {
    std::array<int, 16384> a;
    a.fill(-1);
    return a;
  }();
  bool stopping_ = false;
  bool refreshing_ = false;
  std::chrono::steady_clock::time_point last_refresh_{};
  std::vector<std::function<void(Status)>> refresh_waiters_;
};

Client::Client(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() {
  impl_->shutdown();
}

void Client::shutdown() {
  impl_->shutdown();
}

std::shared_ptr<void> Client::attach(asio::io_context& loop) {
  return impl_->attach(loop);
}

Result<std::shared_ptr<Client>> Client::start(const RedisStoreOptions& options) {
  auto impl = std::make_shared<Impl>(options);
  if (auto s = impl->init(); !s) return s;
  return std::shared_ptr<Client>(new Client(std::move(impl)));
}

void Client::execute(std::string_view key, Command command, ReplyHandler done) {
  impl_->execute(key, std::move(command), std::move(done));
}

void Client::masters(std::function<void(Result<std::vector<Endpoint>>)> done) {
  impl_->masters(std::move(done));
}

void Client::execute_on(const Endpoint& node, const Command& command, ReplyHandler done) {
  impl_->connection(node)->execute(command, std::move(done));
}

}  // namespace sessionkit::redis
