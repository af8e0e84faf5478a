#include "stores/redis/resp.h"

#include <charconv>

namespace sessionkit::redis {
namespace {

void append_number(std::string& out, std::size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

template <class Range>
void append_args(Command& out, const Range& args) {
  std::string& b = out.bytes;
  b.push_back('*');
  append_number(b, std::size(args));
  b.append("\r\n");
  for (const auto& a : args) {
    std::string_view arg(a);
    b.push_back('$');
    append_number(b, arg.size());
    b.append("\r\n");
    b.append(arg);
    b.append("\r\n");
  }
  ++out.replies;
}

}  // namespace

void append_command(Command& out, std::initializer_list<std::string_view> args) {
  append_args(out, args);
}

Command make_command(std::initializer_list<std::string_view> args) {
  Command c;
  append_args(c, args);
  return c;
}

Command make_command(const std::vector<std::string>& args) {
  Command c;
  append_args(c, args);
  return c;
}

ReplyParser::ReplyParser() : reader_(redisReaderCreate()) {
  if (reader_ == nullptr) throw std::bad_alloc();
}

ReplyParser::~ReplyParser() {
  redisReaderFree(reader_);
}

bool ReplyParser::feed(const char* data, std::size_t size) {
  if (redisReaderFeed(reader_, data, size) != REDIS_OK) {
    error_ = reader_->errstr[0] ? reader_->errstr : "redis: reply parser failed";
    return false;
  }
  return true;
}

Reply ReplyParser::next() {
  void* reply = nullptr;
  if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
    error_ = reader_->errstr[0] ? reader_->errstr : "redis: protocol error";
    return nullptr;
  }
  return Reply(static_cast<redisReply*>(reply));
}

std::string describe(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_ERROR:
      return "redis: " + std::string(text(r));
    case REDIS_REPLY_NIL:
      return "redis: unexpected nil reply";
    case REDIS_REPLY_INTEGER:
      return "redis: unexpected integer reply " + std::to_string(r.integer);
    case REDIS_REPLY_ARRAY:
      return "redis: unexpected array reply";
    default:
      return "redis: unexpected reply '" + std::string(text(r).substr(0, 80)) + "'";
  }
}

}  // namespace sessionkit::redis
