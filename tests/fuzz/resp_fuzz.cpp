// libFuzzer target: the Redis store's reply parser (stores/redis/resp.h), differentially.
//
// The input is raw server bytes, fed in chunks whose sizes come from the input itself. The same
// bytes go to hiredis' reader with its default object functions, the reference. Checks: the
// parser never crashes, leaks or reads out of bounds (ASan), fails exactly when the reference
// fails, and every reply it gives equals the reference's (type, integer, text, elements, at any
// depth). Arena-allocated trees are freed by ReplyDeleter, the reference's by freeReplyObject.
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "stores/redis/resp.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool same(const redisReply& a, const redisReply& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case REDIS_REPLY_INTEGER:
      return a.integer == b.integer;
    case REDIS_REPLY_NIL:
      return true;
    case REDIS_REPLY_ARRAY:
      if (a.elements != b.elements) return false;
      for (std::size_t i = 0; i < a.elements; ++i)
        if (!same(*a.element[i], *b.element[i])) return false;
      return true;
    default:  // string, status, error
      return a.len == b.len && a.str[a.len] == '\0' && std::memcmp(a.str, b.str, a.len) == 0;
  }
}

// Whether `in` announces an array of a million elements or more anywhere ('*' then 7+ digits).
// Both readers would allocate the element slots at once (hiredis 0.14 has no limit; the server
// is trusted), which only exhausts the fuzzer's memory.
bool announces_huge_array(std::string_view in) {
  for (std::size_t at = in.find('*'); at != std::string_view::npos; at = in.find('*', at + 1)) {
    std::size_t digits = 0;
    while (at + 1 + digits < in.size() && in[at + 1 + digits] >= '0' && in[at + 1 + digits] <= '9')
      ++digits;
    if (digits >= 7) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if (announces_huge_array({reinterpret_cast<const char*>(data), size})) return 0;
  const std::size_t step = 1 + data[0] % 64;  // chunk size: replies arrive split anywhere
  ++data;
  --size;
  sessionkit::redis::ReplyParser parser;
  redisReader* reference = redisReaderCreate();
  check(reference != nullptr);
  bool failed = false;
  for (std::size_t at = 0; at < size && !failed; at += step) {
    const std::size_t n = std::min(step, size - at);
    const char* chunk = reinterpret_cast<const char*>(data + at);
    const bool fed = parser.feed(chunk, n);
    const bool ref_fed = redisReaderFeed(reference, chunk, n) == REDIS_OK;
    check(fed == ref_fed);
    if (!fed) break;
    for (;;) {
      sessionkit::redis::Reply mine = parser.next();
      void* theirs = nullptr;
      const bool ref_ok = redisReaderGetReply(reference, &theirs) == REDIS_OK;
      if (!ref_ok) {
        check(!mine && !parser.error().empty());
        failed = true;
        break;
      }
      check(parser.error().empty());
      if (theirs == nullptr) {
        check(!mine);
        break;
      }
      check(mine != nullptr);
      check(same(*mine, *static_cast<redisReply*>(theirs)));
      freeReplyObject(theirs);
    }
  }
  redisReaderFree(reference);
  return 0;
}
