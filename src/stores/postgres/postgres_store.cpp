#include "sessionkit/stores/postgres.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>

#include "sessionkit/store_rules.h"
#include "stores/postgres/postgres_connection.h"

namespace sessionkit {

using namespace postgres_detail;

namespace {

using Steady = std::chrono::steady_clock;

// Calls `done` with `result` unless it is empty; a throwing callback breaks the contract, but
// must not take a worker thread down with it.
template <class T>
void answer(Callback<T>& done, Result<T> result) noexcept {
  if (!done) return;
  try {
    done(std::move(result));
  } catch (...) {  // NOLINT(bugprone-empty-catch): nowhere to report it
  }
}

// One queued operation: `run` executes it on a worker's connection and answers; `fail` answers
// without running it. Exactly one of the two is called, once.
class Job {
 public:
  Job() : enqueued(Steady::now()) {}
  virtual ~Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  virtual void run(Connection& c, std::int64_t now) noexcept = 0;
  virtual void fail(Status status) noexcept = 0;

  const Steady::time_point enqueued;
};

// `body(connection, now)` computes the Result<T>; exceptions (std::bad_alloc in practice)
// become `unavailable`.
template <class T, class Body>
class JobOf final : public Job {
 public:
  JobOf(Callback<T>& done, Body body) : done_(std::move(done)), body_(std::move(body)) {}
  void run(Connection& c, std::int64_t now) noexcept override {
    std::optional<Result<T>> result;
    try {
      result.emplace(body_(c, now));
    } catch (const std::exception& e) {
      result.emplace(errc::unavailable, std::string("postgres store: ") + e.what());
    } catch (...) {
      result.emplace(errc::unavailable, "postgres store: unknown failure");
    }
    answer(done_, std::move(*result));
  }
  void fail(Status status) noexcept override { answer(done_, Result<T>(std::move(status))); }

 private:
  Callback<T> done_;
  Body body_;
};

// --- Text rules: PostgreSQL text is valid UTF-8 without U+0000. ---

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b(i + k) & 0x3F);
  }
  constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

bool storable_text(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0 || s[i] == '\0') return false;
    i += n;
  }
  return true;
}

// Invalid UTF-8 (byte by byte) and, with `nul`, U+0000 replaced by U+FFFD.
std::string clean_text(std::string_view s, bool nul) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0 || (nul && s[i] == '\0')) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

bool has_nul(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::string:
      return j.get_ref<const std::string&>().find('\0') != std::string::npos;
    case nlohmann::json::value_t::object:
      for (const auto& [name, value] : j.items()) {
        if (name.find('\0') != std::string::npos || has_nul(value)) return true;
      }
      return false;
    case nlohmann::json::value_t::array:
      for (const auto& value : j) {
        if (has_nul(value)) return true;
      }
      return false;
    default:
      return false;
  }
}

const Status kNulInPayload{errc::invalid_argument,
                           "postgres: payload strings and keys cannot contain U+0000 (jsonb)"};

Status check_user(const std::string& user_id) {
  if (!storable_text(user_id)) {
    return {errc::invalid_argument, "postgres: user id must be UTF-8 without U+0000"};
  }
  return {};
}

// A record as given by a caller: payload a JSON object without U+0000, user id storable.
Status check_record(const SessionRecord& r) {
  if (auto s = stores::check_record(r); !s) return s;
  if (has_nul(r.data)) return kNulInPayload;
  return check_user(r.user_id);
}

// The record columns (user_id ... data), in the order of SK_COLS.
void add_record(Params& p, const SessionRecord& r) {
  if (r.user_id.empty()) {
    p.null();
  } else {
    p.text(r.user_id);
  }
  p.integer(to_millis(r.created_at))
      .integer(to_millis(r.last_access))
      .integer(to_millis(r.expires_at))
      .integer(to_millis(r.absolute_expires_at))
      .opt_integer(r.auth_at ? std::optional(to_millis(*r.auth_at)) : std::nullopt)
      .text(clean_text(r.ip, true))
      .text(clean_text(r.user_agent, true))
      .text(stores::dump_payload(r.data));
}

// A text[] literal: {"a","b\"c"}.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char ch : clean_text(item, false)) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

constexpr std::size_t kNowParam = 1;  // $2 is "now" in every keyed statement

Result<std::vector<StoredSession>> read_sessions(const PGresult* r) {
  std::vector<StoredSession> out;
  const int rows = PQntuples(r);
  out.reserve(static_cast<std::size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    auto key = cell_key(r, i, 0);
    if (!key) return key.status();
    auto record = read_record(r, i, 1);
    if (!record) return record.status();
    out.push_back({*key, std::move(*record)});
  }
  return out;
}

const Status kNotFound{errc::not_found, "no such session"};

}  // namespace

// The workers, their queue and the reconnect throttle. Shared by the store and its worker
// threads, so that a worker that ends up destroying the store (its callback dropped the last
// owner) can still finish its loop.
class PostgresStore::Pool : public std::enable_shared_from_this<PostgresStore::Pool> {
 public:
  explicit Pool(Settings s)
      : settings(std::move(s)),
        clock(settings.options.clock ? settings.options.clock : &system_clock()) {}
  ~Pool() = default;

  const Settings settings;
  const Clock* const clock;

  // Starts pool_size workers; the first gets `first` (the connection open() used).
  Status start(std::unique_ptr<Connection> first) {
    try {
      workers_.reserve(settings.options.pool_size);
      for (std::size_t i = 0; i < settings.options.pool_size; ++i) {
        workers_.emplace_back(
            [self = shared_from_this(), c = i == 0 ? std::move(first) : nullptr]() mutable {
              self->work(std::move(c));
            });
      }
    } catch (const std::exception& e) {
      close();
      return {errc::unavailable, std::string("postgres: cannot start workers: ") + e.what()};
    }
    return {};
  }

  // Queues `body` (see JobOf); answers at once when the queue is full or the store closing.
  template <class T, class Body>
  void submit(Callback<T>& done, Body&& body) noexcept {
    std::unique_ptr<Job> job;
    try {
      job = std::make_unique<JobOf<T, std::decay_t<Body>>>(done, std::forward<Body>(body));
    } catch (...) {
      answer(done, Result<T>(errc::unavailable, "postgres store: out of memory"));
      return;
    }
    const char* refused = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (closing_) {
        refused = "postgres: store closed";
      } else if (queue_.size() >= settings.options.queue_limit) {
        refused = "postgres: too many operations queued (queue_limit)";
      } else {
        try {
          queue_.push_back(std::move(job));  // strong guarantee: `job` intact if this throws
        } catch (...) {
          refused = "postgres store: out of memory";
        }
      }
    }
    if (refused) {
      job->fail({errc::unavailable, refused});
      return;
    }
    ready_.notify_one();
  }

  // Answers queued operations "store closed", lets running ones finish, joins the workers
  // (except the calling thread, if it is one: it finishes by itself).
  void close() noexcept {
    std::deque<std::unique_ptr<Job>> pending;
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      pending.swap(queue_);
    }
    ready_.notify_all();
    for (auto& job : pending)
      job->fail({errc::unavailable, "postgres: store closed"});
    for (auto& t : workers_) {
      if (t.get_id() == std::this_thread::get_id()) {
        t.detach();
      } else if (t.joinable()) {
        t.join();
      }
    }
  }

 private:
  void work(std::unique_ptr<Connection> conn) noexcept {
    for (;;) {
      std::unique_ptr<Job> job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return closing_ || !queue_.empty(); });
        if (closing_) return;  // close() took the queue
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      if (Steady::now() - job->enqueued > settings.options.queue_timeout) {
        job->fail({errc::timeout, "postgres: no free connection within queue_timeout"});
        continue;
      }
      Status ready = ensure(conn);
      if (!ready) {
        job->fail(std::move(ready));
        continue;
      }
      job->run(*conn, to_millis(clock->now()));
      if (conn->broken()) conn.reset();  // the next operation connects anew
    }
  }

  // A usable connection in `conn`: keeps a healthy one, replaces a dead one. While the server
  // is unreachable, one attempt per reconnect_interval (store-wide); in between: unavailable.
  Status ensure(std::unique_ptr<Connection>& conn) noexcept {
    try {
      if (conn && !conn->usable()) conn.reset();
      if (conn) return {};
      {
        std::lock_guard lock(mutex_);
        if (Steady::now() < retry_after_) return {errc::unavailable, last_error_};
      }
      auto fresh = Connection::connect(settings);
      std::lock_guard lock(mutex_);
      if (!fresh) {
        retry_after_ = Steady::now() + settings.options.reconnect_interval;
        last_error_ = fresh.message();
        return fresh.status();
      }
      retry_after_ = {};
      conn = std::move(*fresh);
      return {};
    } catch (const std::exception& e) {
      return {errc::unavailable, std::string("postgres: connect: ") + e.what()};
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<Job>> queue_;
  bool closing_ = false;
  Steady::time_point retry_after_{};
  std::string last_error_;
  std::vector<std::thread> workers_;
};

namespace {

// Runs `f` (which builds parameters and submits); an exception before the job took over
// `done` answers unavailable.
template <class T, class F>
void guarded(Callback<T>& done, F&& f) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    answer(done, Result<T>(errc::unavailable, std::string("postgres store: ") + e.what()));
  } catch (...) {
    answer(done, Result<T>(errc::unavailable, "postgres store: unknown failure"));
  }
}

// A statement whose answer is "did it change a row": success, or not_found.
Status changed_one(Result<ResultPtr> r) {
  if (!r) return r.status();
  if (affected(r->get()) == 0) return kNotFound;
  return {};
}

}  // namespace

PostgresStore::PostgresStore(std::shared_ptr<Pool> pool) : pool_(std::move(pool)) {}

PostgresStore::~PostgresStore() {
  pool_->close();
}

const std::string& PostgresStore::table() const noexcept {
  return pool_->settings.options.table;
}

Result<std::shared_ptr<PostgresStore>> PostgresStore::open(PostgresStoreOptions options) {
  using R = std::shared_ptr<PostgresStore>;
  std::shared_ptr<Pool> pool;
  struct CloseOnError {
    std::shared_ptr<Pool>* pool;
    bool started = false;
    ~CloseOnError() {
      if (started && *pool) (*pool)->close();
    }
  } guard{&pool};
  try {
    auto settings = make_settings(std::move(options));
    if (!settings) return settings.status();
    pool = std::make_shared<Pool>(std::move(*settings));
    auto conn = Connection::connect(pool->settings);
    if (!conn) return conn.status();
    if (auto s = create_schema(**conn, pool->settings); !s) return s;
    if (auto s = pool->start(std::move(*conn)); !s) return s;
    guard.started = true;
    R store(new PostgresStore(pool));
    guard.started = false;  // the store owns the workers now
    return store;
  } catch (const std::exception& e) {
    return Result<R>(errc::unavailable, std::string("postgres: ") + e.what());
  }
}

void PostgresStore::load(const SessionKey& key, std::optional<TouchSpec> touch,
                         Callback<std::optional<SessionRecord>> done) {
  using R = std::optional<SessionRecord>;
  guarded(done, [&] {
    Params p;
    p.key(key).integer(0);
    if (touch) {
      const auto& window = touch->only_if_accessed_in;
      p.integer(to_millis(touch->last_access))
          .integer(to_millis(touch->expires_at))
          .integer(window ? to_millis(window->from) : std::numeric_limits<std::int64_t>::min())
          .integer(window ? to_millis(window->before) : std::numeric_limits<std::int64_t>::max());
    }
    const Q q = touch ? Q::load_touch : Q::load;
    pool_->submit(done,
                  [p = std::move(p), q](Connection& c, std::int64_t now) mutable -> Result<R> {
                    p.set_integer(kNowParam, now);
                    auto r = c.exec(q, p);
                    if (!r) return r.status();
                    if (PQntuples(r->get()) == 0) return R{};
                    auto record = read_record(r->get(), 0, 0);
                    if (!record) return record.status();
                    return R(std::move(*record));
                  });
  });
}

void PostgresStore::create(const SessionKey& key, const SessionRecord& record,
                           Callback<void> done) {
  guarded(done, [&] {
    if (auto s = check_record(record); !s) return answer(done, std::move(s));
    Params p;
    p.key(key);
    add_record(p, record);  // $2 .. $10
    p.integer(0);           // $11: now
    pool_->submit(done, [p = std::move(p)](Connection& c, std::int64_t now) mutable -> Status {
      p.set_integer(10, now);
      auto r = c.exec(Q::create, p);
      if (!r) return r.status();
      if (affected(r->get()) == 0) return {errc::conflict, "session key already exists"};
      return {};
    });
  });
}

void PostgresStore::patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) {
  guarded(done, [&] {
    nlohmann::json set = nlohmann::json::object();
    for (const auto& [name, value] : patch.set) {
      if (name.find('\0') != std::string::npos || has_nul(value)) {
        return answer(done, Status(kNulInPayload));
      }
      set[name] = value;
    }
    for (const auto& name : patch.erase) {
      if (name.find('\0') != std::string::npos) return answer(done, Status(kNulInPayload));
    }
    if (patch.user_id) {
      if (auto s = check_user(*patch.user_id); !s) return answer(done, std::move(s));
    }
    Params p;
    p.key(key).integer(0).text(stores::dump_payload(set)).text(text_array(patch.erase));
    if (patch.user_id) {
      p.text(*patch.user_id);
    } else {
      p.null();
    }
    p.opt_integer(patch.auth_at ? std::optional(to_millis(*patch.auth_at)) : std::nullopt);
    if (patch.touch) {
      p.integer(to_millis(patch.touch->last_access)).integer(to_millis(patch.touch->expires_at));
    } else {
      p.null().null();
    }
    pool_->submit(done, [p = std::move(p)](Connection& c, std::int64_t now) mutable -> Status {
      p.set_integer(kNowParam, now);
      return changed_one(c.exec(Q::patch, p));
    });
  });
}

void PostgresStore::increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                              std::optional<TouchSpec> touch, Callback<std::int64_t> done) {
  guarded(done, [&] {
    if (field.find('\0') != std::string::npos) {
      return answer(done, Result<std::int64_t>(kNulInPayload));
    }
    std::string name = clean_text(field, false);
    Params p;
    p.key(key).integer(0).text(name).integer(delta);
    if (touch) {
      p.integer(to_millis(touch->last_access)).integer(to_millis(touch->expires_at));
    } else {
      p.null().null();
    }
    Params probe;
    probe.key(key).integer(0).text(name);
    pool_->submit(
        done,
        [p = std::move(p), probe = std::move(probe), name = std::move(name), delta](
            Connection& c, std::int64_t now) mutable -> Result<std::int64_t> {
          p.set_integer(kNowParam, now);
          probe.set_integer(kNowParam, now);
          // The UPDATE matches nothing when the record is missing or the field cannot be
          // incremented; a second look tells which (and if the field changed in between so that
          // it now could be, the UPDATE is simply tried again).
          for (int attempt = 0; attempt < 3; ++attempt) {
            auto r = c.exec(Q::increment, p);
            if (!r) return r.status();
            if (PQntuples(r->get()) == 1) return cell_int(r->get(), 0, 0);
            auto why = c.exec(Q::increment_probe, probe);
            if (!why) return why.status();
            if (PQntuples(why->get()) == 0) return kNotFound;
            nlohmann::json data = nlohmann::json::object();
            if (!is_null(why->get(), 0, 0)) {
              auto value = nlohmann::json::parse(cell(why->get(), 0, 0), nullptr, false);
              if (value.is_discarded())
                return {errc::corrupt, "postgres: stored payload is corrupt"};
              data[name] = std::move(value);
            }
            if (auto v = stores::apply_increment(data, name, delta); !v) return v.status();
          }
          return {errc::unavailable, "postgres: increment: the field kept changing, try again"};
        });
  });
}

void PostgresStore::replace(const SessionKey& key, const SessionRecord& record,
                            Callback<void> done) {
  guarded(done, [&] {
    if (auto s = check_record(record); !s) return answer(done, std::move(s));
    Params p;
    p.key(key).integer(0);
    add_record(p, record);  // $3 .. $11
    pool_->submit(done, [p = std::move(p)](Connection& c, std::int64_t now) mutable -> Status {
      p.set_integer(kNowParam, now);
      return changed_one(c.exec(Q::replace, p));
    });
  });
}

void PostgresStore::touch(const SessionKey& key, TouchSpec touch, Callback<void> done) {
  guarded(done, [&] {
    Params p;
    p.key(key)
        .integer(0)
        .integer(to_millis(touch.last_access))
        .integer(to_millis(touch.expires_at));
    pool_->submit(done, [p = std::move(p)](Connection& c, std::int64_t now) mutable -> Status {
      p.set_integer(kNowParam, now);
      return changed_one(c.exec(Q::touch, p));
    });
  });
}

void PostgresStore::destroy(const SessionKey& key, Callback<bool> done) {
  guarded(done, [&] {
    Params p;
    p.key(key).integer(0);
    pool_->submit(done,
                  [p = std::move(p)](Connection& c, std::int64_t now) mutable -> Result<bool> {
                    p.set_integer(kNowParam, now);
                    auto r = c.exec(Q::destroy, p);
                    if (!r) return r.status();
                    return PQntuples(r->get()) == 1 && cell(r->get(), 0, 0) == "t";
                  });
  });
}

void PostgresStore::list_user(const std::string& user_id,
                              Callback<std::vector<StoredSession>> done) {
  using R = std::vector<StoredSession>;
  guarded(done, [&] {
    // "" means unbound, not a user; a user id PostgreSQL cannot store has no sessions.
    if (user_id.empty() || !storable_text(user_id)) return answer(done, Result<R>(R{}));
    Params p;
    p.text(user_id).integer(0);
    pool_->submit(done, [p = std::move(p)](Connection& c, std::int64_t now) mutable -> Result<R> {
      p.set_integer(kNowParam, now);
      auto r = c.exec(Q::list_user, p);
      if (!r) return r.status();
      return read_sessions(r->get());
    });
  });
}

void PostgresStore::destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                                 Callback<std::size_t> done) {
  guarded(done, [&] {
    if (user_id.empty() || !storable_text(user_id)) {
      return answer(done, Result<std::size_t>(std::size_t{0}));
    }
    Params p;
    p.text(user_id);
    if (keep) {
      p.key(*keep);
    } else {
      p.null();
    }
    p.integer(0);
    pool_->submit(
        done, [p = std::move(p)](Connection& c, std::int64_t now) mutable -> Result<std::size_t> {
          p.set_integer(2, now);
          auto r = c.exec(Q::destroy_user, p);
          if (!r) return r.status();
          auto n = cell_int(r->get(), 0, 0);
          if (!n) return n.status();
          return static_cast<std::size_t>(*n);
        });
  });
}

void PostgresStore::count(Callback<std::size_t> done) {
  guarded(done, [&] {
    pool_->submit(done, [](Connection& c, std::int64_t) -> Result<std::size_t> {
      auto r = c.exec(Q::count, Params{});
      if (!r) return r.status();
      auto n = cell_int(r->get(), 0, 0);
      if (!n) return n.status();
      return static_cast<std::size_t>(*n);
    });
  });
}

void PostgresStore::scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) {
  guarded(done, [&] {
    if (limit == 0) {
      return answer(done, Result<ScanPage>(errc::invalid_argument, "scan limit must be positive"));
    }
    std::optional<SessionKey> after;
    if (!cursor.empty()) {
      after = SessionKey::from_hex(cursor);
      if (!after)
        return answer(done, Result<ScanPage>(errc::invalid_argument, "malformed scan cursor"));
    }
    constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max() - 1);
    const std::size_t page = std::min(limit, kMax);
    Params p;
    if (after) {
      p.key(*after);
    } else {
      p.bytes({});  // the empty bytea sorts before every key
    }
    p.integer(0).integer(static_cast<std::int64_t>(page + 1));  // one more: is the scan complete?
    pool_->submit(
        done,
        [p = std::move(p), page](Connection& c, std::int64_t now) mutable -> Result<ScanPage> {
          p.set_integer(kNowParam, now);
          auto r = c.exec(Q::scan, p);
          if (!r) return r.status();
          auto sessions = read_sessions(r->get());
          if (!sessions) return sessions.status();
          ScanPage out;
          out.sessions = std::move(*sessions);
          if (out.sessions.size() > page) {
            out.sessions.resize(page);
            out.next_cursor = out.sessions.back().key.hex();
          }
          return out;
        });
  });
}

void PostgresStore::purge_expired(std::size_t limit, Callback<std::size_t> done) {
  guarded(done, [&] {
    if (limit == 0) return answer(done, Result<std::size_t>(std::size_t{0}));
    constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    Params p;
    p.integer(0).integer(static_cast<std::int64_t>(std::min(limit, kMax)));
    pool_->submit(
        done, [p = std::move(p)](Connection& c, std::int64_t now) mutable -> Result<std::size_t> {
          p.set_integer(0, now);
          auto r = c.exec(Q::purge, p);
          if (!r) return r.status();
          return static_cast<std::size_t>(affected(r->get()));
        });
  });
}

void PostgresStore::health(Callback<void> done) {
  guarded(done, [&] {
    pool_->submit(done, [](Connection& c, std::int64_t) -> Status {
      return c.exec(Q::health, Params{}).status();
    });
  });
}

}  // namespace sessionkit
