// transfer.cpp — see transfer.h.
#include "transfer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "export_format.h"
#include "render.h"
#include "sessionkit/blocking_store.h"
#include "sessionkit/stores/url.h"

namespace sessionctl {

namespace sk = sessionkit;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// What happened to the sessions read; in a dry run, what would have.
struct Counts {
  std::atomic<std::size_t> read{0};
  std::atomic<std::size_t> copied{0};     // created in the target
  std::atomic<std::size_t> replaced{0};   // replaced an older record (--on-conflict newer)
  std::atomic<std::size_t> already{0};    // the target holds the same record (a resumed run)
  std::atomic<std::size_t> kept{0};       // the target holds a different record, kept
  std::atomic<std::size_t> conflicts{0};  // dry run with --on-conflict fail: would stop here
  std::atomic<std::size_t> expired{0};    // expired before it was copied: not written
  std::atomic<std::size_t> ended{0};      // ended in the source meanwhile: copy removed

  json to_json() const {
    return {{"read", read.load()},         {"copied", copied.load()},
            {"replaced", replaced.load()}, {"already_there", already.load()},
            {"kept_target", kept.load()},  {"conflicts", conflicts.load()},
            {"expired", expired.load()},   {"ended_meanwhile", ended.load()}};
  }
  void from_json(const json& j) {
    auto get = [&](const char* name) { return j.value(name, std::size_t{0}); };
    read = get("read");
    copied = get("copied");
    replaced = get("replaced");
    already = get("already_there");
    kept = get("kept_target");
    conflicts = get("conflicts");
    expired = get("expired");
    ended = get("ended_meanwhile");
  }
};

// At most `rate` starts per second, shared by the workers (0: no limit).
class Pacer {
 public:
  explicit Pacer(double rate) : rate_(rate) {}
  void wait() {
    if (rate_ <= 0) return;
    const auto slot = static_cast<double>(next_++);
    std::this_thread::sleep_until(start_ +
                                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(slot / rate_)));
  }

 private:
  double rate_;
  std::atomic<std::uint64_t> next_{0};
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// A store with the URL its errors are scrubbed of.
struct Side {
  sk::SessionStore* store = nullptr;
  std::string url;
  template <class T>
  T must(sk::Result<T> r, const std::string& doing) const {
    if (!r.ok()) throw store_failure(r.status(), doing, url);
    return std::move(r).value();
  }
};

// Copies batches of sessions into the target, `parallel` at a time (see transfer.h).
class Copier {
 public:
  Copier(Side target, std::optional<Side> source, const CopyOptions& o, Counts& counts,
         Progress& progress)
      : target_(std::move(target)),
        source_(std::move(source)),
        o_(o),
        counts_(counts),
        progress_(progress),
        pacer_(o.rate) {}

  // Copies every session of `batch`; the first failure is thrown once the others in flight
  // have finished (those done stay done).
  void copy(const std::vector<sk::StoredSession>& batch) {
    counts_.read += batch.size();
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr first;
    std::mutex mu;
    auto work = [&] {
      for (std::size_t i; !failed && (i = next++) < batch.size();) {
        pacer_.wait();
        try {
          one(batch[i]);
        } catch (...) {
          std::lock_guard lock(mu);
          if (!first) first = std::current_exception();
          failed = true;
        }
        progress_.add(1);
      }
    };
    const std::size_t n = std::min(std::max<std::size_t>(o_.parallel, 1), batch.size());
    std::vector<std::thread> workers;
    for (std::size_t w = 1; w < n; ++w)
      workers.emplace_back(work);
    work();
    for (std::thread& t : workers)
      t.join();
    if (first) std::rethrow_exception(first);
  }

 private:
  void one(const sk::StoredSession& s) {
    const sk::SessionRecord& rec = s.record;
    if (rec.expired(sk::SystemClock{}.now())) {
      ++counts_.expired;
      return;
    }
    sk::BlockingStore target(*target_.store);
    if (o_.dry_run) {
      const std::optional<sk::SessionRecord> there =
          target_.must(target.load(s.key), "load from the target");
      if (!there) {
        ++counts_.copied;
      } else if (*there == rec) {
        ++counts_.already;
      } else if (o_.on_conflict == OnConflict::kFail) {
        ++counts_.conflicts;
      } else if (o_.on_conflict == OnConflict::kNewer && there->last_access < rec.last_access) {
        ++counts_.replaced;
      } else {
        ++counts_.kept;
      }
      return;
    }
    // A key that vanishes or reappears between our steps (expiry, an app's write) is retried.
    for (int attempt = 0; attempt < 4; ++attempt) {
      const sk::Status created = target.create(s.key, rec);
      if (created.ok()) return written(s, counts_.copied);
      if (created.code() != sk::errc::conflict) {
        throw store_failure(created, "create in the target", target_.url);
      }
      const std::optional<sk::SessionRecord> there =
          target_.must(target.load(s.key), "load from the target");
      if (!there) continue;
      if (*there == rec) {
        ++counts_.already;
        return;
      }
      if (o_.on_conflict == OnConflict::kFail) {
        throw Failure(kConflict, "session " + s.key.hint() +
                                     "... is already in the target with other contents "
                                     "(--on-conflict fail; skip or newer go on)");
      }
      if (o_.on_conflict == OnConflict::kSkip || there->last_access >= rec.last_access) {
        ++counts_.kept;
        return;
      }
      const sk::Status replaced = target.replace(s.key, rec);
      if (replaced.ok()) return written(s, counts_.replaced);
      if (replaced.code() != sk::errc::not_found) {
        throw store_failure(replaced, "replace in the target", target_.url);
      }
    }
    throw Failure(kStoreError, "session " + s.key.hint() +
                                   "...: the target kept changing it; gave up after 4 attempts");
  }

  // A copy was written: when the source is a live store, make sure the session still exists
  // there, or take the copy back (it was ended while being copied: never bring one back).
  void written(const sk::StoredSession& s, std::atomic<std::size_t>& outcome) {
    if (source_) {
      sk::BlockingStore source(*source_->store);
      const std::optional<sk::SessionRecord> still =
          source_->must(source.load(s.key), "load from the source again");
      if (!still) {
        target_.must(sk::BlockingStore(*target_.store).destroy(s.key),
                     "remove a copy from the target");
        ++counts_.ended;
        return;
      }
    }
    ++outcome;
  }

  Side target_;
  std::optional<Side> source_;
  const CopyOptions& o_;
  Counts& counts_;
  Progress& progress_;
  Pacer pacer_;
};

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", s);
  return buf;
}

void report(std::ostream& out, bool as_json, const std::string& operation, const Counts& c,
            bool dry_run, double secs, const json& extra = json::object()) {
  json doc = {{"operation", operation}, {"dry_run", dry_run}, {"seconds", secs}};
  doc.update(c.to_json());
  doc.update(extra);
  if (as_json) {
    out << doc.dump(2) << '\n';
    return;
  }
  const double rate = secs > 0 ? static_cast<double>(c.read) / secs : 0;
  out << operation << (dry_run ? " (dry run: nothing written)" : "") << ": " << c.read
      << " sessions read in " << seconds_text(secs) << " s (" << static_cast<std::size_t>(rate)
      << "/s)\n";
  const char* would = dry_run ? "would be " : "";
  print_table(out, {
                       {"  copied", std::to_string(c.copied.load()), dry_run ? "(would be)" : ""},
                       {"  replaced an older record", std::to_string(c.replaced.load()),
                        dry_run ? "(would be)" : ""},
                       {"  already there, the same", std::to_string(c.already.load()), ""},
                       {"  kept the target's record", std::to_string(c.kept.load()),
                        "(the target has other contents)"},
                       {"  expired, not copied", std::to_string(c.expired.load()), ""},
                       {"  ended meanwhile, removed", std::to_string(c.ended.load()), ""},
                   });
  if (c.conflicts > 0) {
    out << "  " << c.conflicts << " conflicts: --on-conflict fail " << would << "stops here\n";
  }
}

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The cursor file of a migration: written whole to a temporary file, synced, then renamed over
// the old one, so a crash at any moment leaves the previous or the new state, never a torn one.
class CursorFile {
 public:
  CursorFile(std::string path, std::string from, std::string to)
      : path_(std::move(path)), from_(std::move(from)), to_(std::move(to)) {}

  // The saved state, or nullopt when there is none yet. kUsage when it belongs to another
  // migration, kCorrupt when it cannot be read.
  std::optional<json> load() const {
    if (path_.empty() || !fs::exists(path_)) return std::nullopt;
    std::ifstream in(path_);
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("sessionkit_migrate", 0) != 1 ||
        !j["cursor"].is_string()) {
      throw Failure(kCorrupt, "--cursor-file " + path_ + ": not a sessionctl migration cursor");
    }
    if (j.value("from", "") != from_ || j.value("to", "") != to_) {
      throw Failure(kUsage, "--cursor-file " + path_ + " belongs to the migration from " +
                                j.value("from", "?") + " to " + j.value("to", "?"));
    }
    return j;
  }

  void save(const std::string& cursor, bool done, const Counts& counts) const {
    if (path_.empty()) return;
    const json j = {{"sessionkit_migrate", 1},
                    {"from", from_},
                    {"to", to_},
                    {"cursor", cursor},
                    {"done", done},
                    {"counts", counts.to_json()},
                    {"saved_at", iso_time(sk::SystemClock{}.now())}};
    const std::string tmp = path_ + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) throw Failure(kUsage, "--cursor-file: cannot write " + tmp);
    const std::string text = j.dump(2) + "\n";
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() &&
                    std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
    std::fclose(f);
    if (!ok || std::rename(tmp.c_str(), path_.c_str()) != 0) {
      throw Failure(kUsage, "--cursor-file: cannot write " + path_);
    }
  }

 private:
  std::string path_, from_, to_;
};

}  // namespace

int export_sessions(const Context& ctx, const std::string& output, const CopyOptions& o,
                    std::ostream& out) {
  const auto started = std::chrono::steady_clock::now();
  const bool to_stdout = output.empty() || output == "-";
  const std::string part = output + ".part";
  std::ofstream file;
  if (!to_stdout) {
    file.open(part, std::ios::binary | std::ios::trunc);
    if (!file) throw Failure(kUsage, "--output: cannot write " + part);
  }
  std::ostream& sink = to_stdout ? std::cout : file;
  sk::BlockingStore store(ctx.raw_store());
  Progress progress(std::cerr, "export", o.progress, o.progress_interval);
  if (sk::Result<std::size_t> n = store.count(); n.ok()) progress.set_total(*n);
  Counts counts;
  const sk::Time now = sk::SystemClock{}.now();
  sink << export_header(ctx.raw_store().name(), now) << '\n';
  std::size_t written = 0;
  std::string cursor;
  try {
    do {
      sk::ScanPage page = ctx.must(store.scan(cursor, std::max<std::size_t>(o.batch, 1)), "scan");
      for (const sk::StoredSession& s : page.sessions) {
        ++counts.read;
        sink << export_line(s) << '\n';
        ++written;
      }
      counts.copied = written;
      progress.add(page.sessions.size());
      cursor = std::move(page.next_cursor);
    } while (!cursor.empty());
    sink << export_trailer(written) << '\n' << std::flush;
    if (!sink) throw Failure(kStoreError, "writing the export failed (disk full?)");
    if (!to_stdout) {
      file.close();
      if (!file || std::rename(part.c_str(), output.c_str()) != 0) {
        throw Failure(kStoreError, "--output: cannot write " + output);
      }
    }
  } catch (...) {
    progress.finish(false);
    if (!to_stdout) std::remove(part.c_str());
    throw;
  }
  progress.finish();
  // The export itself may be on stdout: the summary goes to stderr then.
  report(to_stdout ? std::cerr : out, ctx.json(), "export", counts, false, since(started),
         {{"sessions", written}});
  return kOk;
}

int import_sessions(const Context& ctx, const std::string& input, const CopyOptions& o,
                    std::ostream& out) {
  const auto started = std::chrono::steady_clock::now();
  const bool from_stdin = input.empty() || input == "-";
  std::ifstream file;
  if (!from_stdin) {
    file.open(input, std::ios::binary);
    if (!file) throw Failure(kUsage, "--input: cannot read " + input);
  }
  std::istream& in = from_stdin ? std::cin : file;
  ExportReader reader(in);
  Progress progress(std::cerr, o.dry_run ? "import (dry run)" : "import", o.progress,
                    o.progress_interval);
  struct stat st {};
  if (!from_stdin && ::stat(input.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    progress.set_total_bytes(static_cast<std::size_t>(st.st_size));
  }
  Counts counts;
  Copier copier(Side{&ctx.raw_store(), ctx.url()}, std::nullopt, o, counts, progress);
  try {
    for (;;) {
      const std::vector<sk::StoredSession> batch = reader.next(std::max<std::size_t>(o.batch, 1));
      if (batch.empty()) break;
      copier.copy(batch);
      progress.set_bytes(reader.bytes_read());
    }
  } catch (const Failure& f) {
    progress.finish(false);
    report(std::cerr, false, "import stopped", counts, o.dry_run, since(started));
    throw;
  }
  progress.finish();
  report(out, ctx.json(), "import", counts, o.dry_run, since(started),
         {{"exported_from", reader.store_name()}});
  return counts.conflicts > 0 ? kConflict : kOk;
}

int migrate(const Context& ctx, const std::string& to_url, const std::string& cursor_file,
            const CopyOptions& o, std::ostream& out) {
  const auto started = std::chrono::steady_clock::now();
  if (to_url.empty()) throw Failure(kUsage, "migrate: --to URL is required");
  const std::string from_name = sk::redact_store_url(ctx.url());
  const std::string to_name = sk::redact_store_url(to_url);
  if (to_url == ctx.url()) throw Failure(kUsage, "migrate: --to names the source store");
  const std::shared_ptr<sk::SessionStore> target = open_store(to_url, "--to");
  const Side source{&ctx.raw_store(), ctx.url()};
  const CursorFile saved(o.dry_run ? std::string() : cursor_file, from_name, to_name);
  Counts counts;
  std::string cursor;
  if (const std::optional<json> state = saved.load()) {
    counts.from_json((*state)["counts"]);
    if (state->value("done", false)) {
      std::cerr << "sessionctl: this migration is complete (" << cursor_file
                << "); delete that file to run it again\n";
      report(out, ctx.json(), "migrate", counts, false, 0, {{"resumed", true}, {"done", true}});
      return kOk;
    }
    cursor = (*state)["cursor"].get<std::string>();
    std::cerr << "sessionctl: resuming the migration after " << counts.read.load() << " sessions ("
              << cursor_file << ")\n";
  }
  const bool resumed = counts.read > 0 || !cursor.empty();
  Progress progress(std::cerr, o.dry_run ? "migrate (dry run)" : "migrate", o.progress,
                    o.progress_interval);
  if (sk::Result<std::size_t> n = sk::BlockingStore(*source.store).count(); n.ok()) {
    progress.set_total(*n);
  }
  progress.add(counts.read);
  Copier copier(Side{target.get(), to_url}, source, o, counts, progress);
  try {
    do {
      sk::ScanPage page = source.must(
          sk::BlockingStore(*source.store).scan(cursor, std::max<std::size_t>(o.batch, 1)),
          "scan the source");
      copier.copy(page.sessions);
      cursor = std::move(page.next_cursor);
      saved.save(cursor, cursor.empty(), counts);
    } while (!cursor.empty());
  } catch (const Failure& f) {
    progress.finish(false);
    report(std::cerr, false, "migrate stopped", counts, o.dry_run, since(started));
    if (!cursor_file.empty() && !o.dry_run) {
      std::cerr << "sessionctl: run the same command again to resume after the last page done\n";
    }
    throw;
  }
  progress.finish();
  report(out, ctx.json(), "migrate", counts, o.dry_run, since(started),
         {{"from", from_name}, {"to", to_name}, {"resumed", resumed}});
  return counts.conflicts > 0 ? kConflict : kOk;
}

}  // namespace sessionctl
