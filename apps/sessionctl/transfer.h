// transfer.h — copying sessions between stores and files: export, import, migrate (private to
// sessionctl; docs/operations.md, "Export, import and migration").
//
// Records are copied as the store holds them (values sealed or compressed by the apps stay so),
// with their deadlines: a copy expires when the original would have. A copy never overwrites
// blindly: `create` first; when the target already has the key, an identical record counts as
// "already there" (a resumed run), and a different one is handled by --on-conflict. After a
// copy from a live store, the original is looked up again: a session ended meanwhile (a logout
// while it was being copied) is removed from the target, so a migration never brings one back.
#pragma once

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <string>

#include "context.h"
#include "progress.h"

namespace sessionctl {

enum class OnConflict {
  kSkip,   // keep the target's record (the default)
  kNewer,  // keep whichever was accessed last (the copy replaces an older record)
  kFail,   // stop with exit code 5
};

struct CopyOptions {
  OnConflict on_conflict = OnConflict::kSkip;
  bool dry_run = false;      // read both sides, write nothing, count what would happen
  double rate = 0;           // at most this many sessions per second (0: no limit)
  std::size_t batch = 1000;  // sessions per scan page (a migration's cursor step)
  std::size_t parallel = 8;  // sessions in flight at once
  Progress::Mode progress = Progress::Mode::kAuto;
  std::chrono::milliseconds progress_interval{5000};  // when stderr is not a terminal
};

// Every live session of ctx's store to `output` ("" or "-": stdout), in the export format.
int export_sessions(const Context& ctx, const std::string& output, const CopyOptions& o,
                    std::ostream& out);
// The sessions of an export (`input`; "" or "-": stdin) into ctx's store.
int import_sessions(const Context& ctx, const std::string& input, const CopyOptions& o,
                    std::ostream& out);
// Every live session of ctx's store into the store at `to_url`. With `cursor_file`, progress
// is recorded after each page, and a run with the same file resumes after the last page done.
int migrate(const Context& ctx, const std::string& to_url, const std::string& cursor_file,
            const CopyOptions& o, std::ostream& out);

}  // namespace sessionctl
