// export_format.h — sessionctl's export format, version 1 (docs/operations.md, "Export format";
// private to sessionctl). JSON Lines, one object per line:
//
//   {"sessionkit_export":1,"store":"sqlite","exported_at":"2026-12-04T21:00:00.000Z",
//    "values":"as-stored"}                                   the header, first
//   {"key":"<64 lowercase hex>","record":{…}}                one per session
//   {"end":true,"sessions":N}                                the trailer, last
//
// `key` is the store key (the SHA-256 digest of the session ID: an export holds no session ID);
// `record` is the record format of docs/record-format.md, its values exactly as the store holds
// them (sealed where the apps seal them, compressed where they compress them). The trailer
// proves the file complete: a file without it, with a different count, or with anything after
// it is rejected.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/clock.h"
#include "sessionkit/store.h"

namespace sessionctl {

inline constexpr int kExportVersion = 1;

std::string export_header(std::string_view store_name, sessionkit::Time now);
std::string export_line(const sessionkit::StoredSession& s);
std::string export_trailer(std::size_t sessions);

// Reads an export. The constructor reads and checks the header; every problem is a
// Failure(kCorrupt) naming the line.
class ExportReader {
 public:
  explicit ExportReader(std::istream& in);
  // Up to `n` sessions; none when the trailer has been read (and checked).
  std::vector<sessionkit::StoredSession> next(std::size_t n);
  std::size_t bytes_read() const noexcept { return bytes_; }
  const std::string& store_name() const noexcept { return store_; }

 private:
  bool read_line(std::string& line);
  std::istream* in_;
  std::string store_;
  std::size_t line_no_ = 0;
  std::size_t bytes_ = 0;
  std::size_t sessions_ = 0;
  bool ended_ = false;
};

}  // namespace sessionctl
