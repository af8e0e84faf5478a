// The PostgreSQL store's operations (see sessionkit/stores/postgres.h): each checks its
// arguments against the text rules (text_rules.h), builds the parameters of its one prepared
// statement (postgres_connection.h; the store's clock goes in as Params::now()) and queues a job
// on the workers (worker_pool.h) that runs it and reads the answer. Every public method runs
// under stores::guarded: arguments refused, or an exception before the job took the callback
// over, answer inline; nothing throws.
#include "sessionkit/stores/postgres.h"

#include <limits>
#include <utility>

#include "sessionkit/store_rules.h"
#include "stores/completion.h"
#include "stores/kept_as_is.h"
#include "stores/postgres/postgres_connection.h"
#include "stores/postgres/text_rules.h"
#include "stores/postgres/worker_pool.h"

namespace sessionkit {

using namespace postgres_detail;
using stores::answer;

namespace {

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

// A touch's access time and deadline, or two NULLs without one.
void add_touch(Params& p, const std::optional<TouchSpec>& touch) {
  if (touch) {
    p.integer(to_millis(touch->last_access)).integer(to_millis(touch->expires_at));
  } else {
    p.null().null();
  }
}

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

// A statement whose answer is "did it change a row": success, or not_found.
Status changed_one(Result<ResultPtr> r) {
  if (!r) return r.status();
  if (affected(r->get()) == 0) return kNotFound;
  return {};
}

// A count in the first cell.
Result<std::size_t> read_count(Result<ResultPtr> r) {
  if (!r) return r.status();
  auto n = cell_int(r->get(), 0, 0);
  if (!n) return n.status();
  return static_cast<std::size_t>(*n);
}

// The payload checks of a patch (U+0000 in a name or value, a user id PostgreSQL cannot store);
// answers the `set` part as one JSON object.
Result<nlohmann::json> patch_payload(const SessionPatch& patch) {
  nlohmann::json set = nlohmann::json::object();
  for (const auto& [name, value] : patch.set) {
    if (name.find('\0') != std::string::npos || has_nul(value)) return kNulInPayload;
    set[name] = value;
  }
  for (const auto& name : patch.erase) {
    if (name.find('\0') != std::string::npos) return kNulInPayload;
  }
  if (patch.user_id) {
    if (auto s = check_user(*patch.user_id); !s) return s;
  }
  return set;
}

// The parameters of patch and patch_if: $1 key, $2 now, $3 the `set` keys as one JSON object,
// $4 the `erase` names, $5 user, $6 auth time, $7 / $8 a touch (settings.cpp: SK_PATCH).
Result<Params> patch_params(const SessionKey& key, const SessionPatch& patch) {
  auto set = patch_payload(patch);
  if (!set) return set.status();
  Params p;
  p.key(key).now().text(stores::dump_payload(*set)).text(text_array(patch.erase));
  if (patch.user_id) {
    p.text(*patch.user_id);
  } else {
    p.null();
  }
  p.opt_integer(patch.auth_at ? std::optional(to_millis(*patch.auth_at)) : std::nullopt);
  add_touch(p, patch.touch);
  return p;
}

// The increment: one UPDATE, which matches nothing when the record is missing or the field
// cannot be incremented; a second look tells which (and if the field changed in between so that
// it now could be, the UPDATE is simply tried again).
Result<std::int64_t> run_increment(Connection& c, std::int64_t now, const Params& update,
                                   const Params& probe, const std::string& name,
                                   std::int64_t delta) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto r = c.exec(Q::increment, update, now);
    if (!r) return r.status();
    if (PQntuples(r->get()) == 1) return cell_int(r->get(), 0, 0);
    auto why = c.exec(Q::increment_probe, probe, now);
    if (!why) return why.status();
    if (PQntuples(why->get()) == 0) return kNotFound;
    nlohmann::json data = nlohmann::json::object();
    if (!is_null(why->get(), 0, 0)) {
      auto value = nlohmann::json::parse(cell(why->get(), 0, 0), nullptr, false);
      if (value.is_discarded()) return {errc::corrupt, "postgres: stored payload is corrupt"};
      data[name] = std::move(value);
    }
    if (auto v = stores::apply_increment(data, name, delta); !v) return v.status();
  }
  return {errc::unavailable, "postgres: increment: the field kept changing, try again"};
}

template <class T, class F>
void guarded(Callback<T>& done, F&& submit) noexcept {
  stores::guarded(kStoreName, done, std::forward<F>(submit));
}

}  // namespace

// The workers (worker_pool.h), under the name the public header gives them.
class PostgresStore::Pool : public WorkerPool {
 public:
  using WorkerPool::WorkerPool;
};

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
    p.key(key).now();
    if (touch) {
      const auto& window = touch->only_if_accessed_in;
      p.integer(to_millis(touch->last_access))
          .integer(to_millis(touch->expires_at))
          .integer(window ? to_millis(window->from) : std::numeric_limits<std::int64_t>::min())
          .integer(window ? to_millis(window->before) : std::numeric_limits<std::int64_t>::max());
    }
    const Q q = touch ? Q::load_touch : Q::load;
    pool_->submit(done, [p = std::move(p), q](Connection& c, std::int64_t now) -> Result<R> {
      auto r = c.exec(q, p, now);
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
    p.now();                // $11
    pool_->submit(done, [p = std::move(p)](Connection& c, std::int64_t now) -> Status {
      auto r = c.exec(Q::create, p, now);
      if (!r) return r.status();
      if (affected(r->get()) == 0) return {errc::conflict, "session key already exists"};
      return {};
    });
  });
}

void PostgresStore::patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) {
  guarded(done, [&] {
    auto p = patch_params(key, patch);
    if (!p) return answer(done, p.status());
    pool_->submit(done, [p = std::move(*p)](Connection& c, std::int64_t now) -> Status {
      return changed_one(c.exec(Q::patch, p, now));
    });
  });
}

void PostgresStore::patch_if(const SessionKey& key, const PayloadCondition& condition,
                             const SessionPatch& patch, Callback<void> done) {
  guarded(done, [&] {
    auto p = patch_params(key, patch);
    if (!p) return answer(done, p.status());
    // $9: a name no stored key can have (stored names are clean UTF-8 without U+0000) reads as
    // absent (NULL). $10: a value no stored value can equal never holds (NULL).
    if (storable_text(condition.key)) {
      p->text(condition.key);
    } else {
      p->null();
    }
    if (stores::kept_as_is(condition.value, storable_text)) {
      p->text(stores::dump_payload(condition.value));
    } else {
      p->null();
    }
    pool_->submit(done, [p = std::move(*p)](Connection& c, std::int64_t now) -> Status {
      auto r = c.exec(Q::patch_if, p, now);
      if (!r) return r.status();
      if (PQntuples(r->get()) != 1) {
        return {errc::unavailable, "postgres: patch if: unexpected answer"};
      }
      if (cell(r->get(), 0, 0) != "t") return kNotFound;
      if (cell(r->get(), 0, 1) != "t") return stores::condition_failed();
      return {};
    });
  });
}

void PostgresStore::increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                              std::optional<TouchSpec> touch, Callback<std::int64_t> done) {
  guarded(done, [&] {
    if (field.find('\0') != std::string::npos) return answer(done, kNulInPayload);
    std::string name = clean_text(field, false);
    Params p;
    p.key(key).now().text(name).integer(delta);
    add_touch(p, touch);
    Params probe;
    probe.key(key).now().text(name);
    pool_->submit(done,
                  [p = std::move(p), probe = std::move(probe), name = std::move(name), delta](
                      Connection& c, std::int64_t now) -> Result<std::int64_t> {
                    return run_increment(c, now, p, probe, name, delta);
                  });
  });
}

void PostgresStore::replace(const SessionKey& key, const SessionRecord& record,
                            Callback<void> done) {
  guarded(done, [&] {
    if (auto s = check_record(record); !s) return answer(done, std::move(s));
    Params p;
    p.key(key).now();
    add_record(p, record);  // $3 .. $11
    pool_->submit(done, [p = std::move(p)](Connection& c, std::int64_t now) -> Status {
      return changed_one(c.exec(Q::replace, p, now));
    });
  });
}

void PostgresStore::touch(const SessionKey& key, TouchSpec touch, Callback<void> done) {
  guarded(done, [&] {
    Params p;
    p.key(key).now().integer(to_millis(touch.last_access)).integer(to_millis(touch.expires_at));
    pool_->submit(done, [p = std::move(p)](Connection& c, std::int64_t now) -> Status {
      return changed_one(c.exec(Q::touch, p, now));
    });
  });
}

void PostgresStore::destroy(const SessionKey& key, Callback<bool> done) {
  guarded(done, [&] {
    Params p;
    p.key(key).now();
    pool_->submit(done, [p = std::move(p)](Connection& c, std::int64_t now) -> Result<bool> {
      auto r = c.exec(Q::destroy, p, now);
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
    if (user_id.empty() || !storable_text(user_id)) return answer(done, R{});
    Params p;
    p.text(user_id).now();
    pool_->submit(done, [p = std::move(p)](Connection& c, std::int64_t now) -> Result<R> {
      auto r = c.exec(Q::list_user, p, now);
      if (!r) return r.status();
      return read_sessions(r->get());
    });
  });
}

void PostgresStore::destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                                 Callback<std::size_t> done) {
  guarded(done, [&] {
    if (user_id.empty() || !storable_text(user_id)) return answer(done, std::size_t{0});
    Params p;
    p.text(user_id);
    if (keep) {
      p.key(*keep);
    } else {
      p.null();
    }
    p.now();
    pool_->submit(done, [p = std::move(p)](Connection& c, std::int64_t now) -> Result<std::size_t> {
      return read_count(c.exec(Q::destroy_user, p, now));
    });
  });
}

void PostgresStore::count(Callback<std::size_t> done) {
  guarded(done, [&] {
    pool_->submit(done, [](Connection& c, std::int64_t now) -> Result<std::size_t> {
      return read_count(c.exec(Q::count, Params{}, now));
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
    p.now().integer(static_cast<std::int64_t>(page + 1));  // one more: is the scan complete?
    pool_->submit(done,
                  [p = std::move(p), page](Connection& c, std::int64_t now) -> Result<ScanPage> {
                    auto r = c.exec(Q::scan, p, now);
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
    if (limit == 0) return answer(done, std::size_t{0});
    constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    Params p;
    p.now().integer(static_cast<std::int64_t>(std::min(limit, kMax)));
    pool_->submit(done, [p = std::move(p)](Connection& c, std::int64_t now) -> Result<std::size_t> {
      auto r = c.exec(Q::purge, p, now);
      if (!r) return r.status();
      return static_cast<std::size_t>(affected(r->get()));
    });
  });
}

void PostgresStore::health(Callback<void> done) {
  guarded(done, [&] {
    pool_->submit(done, [](Connection& c, std::int64_t now) -> Status {
      return c.exec(Q::health, Params{}, now).status();
    });
  });
}

}  // namespace sessionkit
