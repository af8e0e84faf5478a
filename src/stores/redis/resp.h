// Internal: the Redis wire protocol (RESP2). Commands are encoded here as arrays of bulk strings;
// replies are parsed by hiredis' reader (hiredis 0.14 has no TLS, so sessionkit does its own
// socket I/O on Asio and uses hiredis only for parsing). Not installed.
//
// Reply memory: hiredis' reader builds each reply tree through object functions; the default
// ones make two heap blocks per element (an HGETALL of a session: about 30 mallocs and 30 frees).
// ReplyParser's functions put a whole tree, the top object, every element and every string, in
// one arena owned by the top object (one malloc for a session's hash; more blocks only for
// larger replies), freed at once by ReplyDeleter. The trees are ordinary `redisReply`s.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/result.h"

namespace sessionkit::redis {

// Frees a reply tree made by ReplyParser (arena-allocated: never pass it to freeReplyObject).
void free_reply(void* top) noexcept;
struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept { free_reply(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// One encoded command (or several, pipelined back to back) and how many replies it yields.
struct Command {
  std::string bytes;
  std::size_t replies = 0;
};

// Appends `*N\r\n$len\r\narg\r\n...` for one command.
void append_command(Command& out, std::initializer_list<std::string_view> args);
Command make_command(std::initializer_list<std::string_view> args);
Command make_command(const std::vector<std::string>& args);

// Incremental reply parser over a hiredis reader (with the arena object functions above). Not
// thread-safe.
class ReplyParser {
 public:
  ReplyParser();
  ~ReplyParser();
  ReplyParser(const ReplyParser&) = delete;
  ReplyParser& operator=(const ReplyParser&) = delete;

  // Feeds received bytes. False (with `error()`) on a protocol error.
  bool feed(const char* data, std::size_t size);
  // The next complete reply, nullptr when more bytes are needed. Sets `error()` and returns
  // nullptr on a protocol error.
  Reply next();
  const std::string& error() const noexcept { return error_; }

 private:
  redisReader* reader_;
  std::string error_;
};

// Reply inspection helpers.
inline bool is_error(const redisReply& r) noexcept {
  return r.type == REDIS_REPLY_ERROR;
}
inline std::string_view text(const redisReply& r) noexcept {
  return r.str ? std::string_view(r.str, r.len) : std::string_view();
}
// An error reply as a message ("redis: <text>"), for logs and Status messages.
std::string describe(const redisReply& r);

}  // namespace sessionkit::redis
