#include "stores/redis/resp.h"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

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
  if (b.empty()) {  // a new command: one allocation, not one per doubling ("*N\r\n", then
                    // "$N\r\n" and "\r\n" around each argument: at most 24 and 26 bytes)
    std::size_t size = 24;
    for (const auto& a : args)
      size += std::string_view(a).size() + 26;
    b.reserve(size);
  }
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

namespace {

// A reply tree's memory: the top reply object, then the first block's bytes; further blocks
// (for replies larger than the first) are chained. Every object of the tree is carved from it.
struct Arena {
  struct alignas(std::max_align_t) Block {
    Block* next;
    std::size_t size;
    std::size_t used;
    // bytes follow
    char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
  };
  redisReply top;  // first: the tree's root is the arena itself
  Block* extra = nullptr;
  Block first;

  static constexpr std::size_t kMaxFirstBytes = std::size_t{64} * 1024;

  // An arena whose first block holds `bytes` (more blocks are added as needed).
  static Arena* make(std::size_t bytes) {
    bytes = std::min(bytes, kMaxFirstBytes);
    void* raw = std::malloc(sizeof(Arena) + bytes);
    if (raw == nullptr) return nullptr;
    auto* a = new (raw) Arena{};
    a->first = Block{nullptr, bytes, 0};
    return a;
  }

  void* allocate(std::size_t n) noexcept {
    n = (n + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
    Block* b = extra != nullptr ? extra : &first;
    if (b->size - b->used < n) {
      const std::size_t size = std::max<std::size_t>(n, std::size_t{8} * 1024);
      void* raw = std::malloc(sizeof(Block) + size);
      if (raw == nullptr) return nullptr;
      b = new (raw) Block{extra, size, 0};
      extra = b;
    }
    void* p = b->bytes() + b->used;
    b->used += n;
    return p;
  }

  void release() noexcept {
    for (Block* b = extra; b != nullptr;) {
      Block* next = b->next;
      std::free(b);
      b = next;
    }
    std::free(this);
  }
};
static_assert(offsetof(Arena, top) == 0);
static_assert(alignof(Arena::Block) <= alignof(std::max_align_t));

// A new reply object and the arena of its tree.
struct Made {
  redisReply* reply = nullptr;  // null: no memory (hiredis reports out of memory)
  Arena* arena = nullptr;
};

// The reply object of `task`: the top of a new arena (with `root_bytes` for what the root
// needs) for the root task, carved from the root's arena for an element (and linked into its
// parent, as hiredis' own functions do).
Made make_reply(const redisReadTask* task, int type, std::size_t root_bytes) {
  Made m;
  if (task->parent == nullptr) {
    m.arena = Arena::make(root_bytes);
    if (m.arena == nullptr) return {};
    m.reply = &m.arena->top;
  } else {
    const redisReadTask* root = task->parent;
    while (root->parent != nullptr)
      root = root->parent;
    m.arena = static_cast<Arena*>(root->obj);
    void* p = m.arena->allocate(sizeof(redisReply));
    if (p == nullptr) return {};
    m.reply = new (p) redisReply{};
    static_cast<redisReply*>(task->parent->obj)->element[task->idx] = m.reply;
  }
  m.reply->type = type;
  return m;
}

void* create_string(const redisReadTask* task, char* str, std::size_t len) {
  auto [r, a] = make_reply(task, task->type, len + alignof(std::max_align_t));
  if (r == nullptr) return nullptr;
  auto* text = static_cast<char*>(a->allocate(len + 1));
  if (text == nullptr) {
    if (task->parent == nullptr) a->release();
    return nullptr;
  }
  std::memcpy(text, str, len);
  text[len] = '\0';
  r->str = text;
  r->len = len;
  return r;
}

void* create_array(const redisReadTask* task, int elements) {
  const auto n = static_cast<std::size_t>(elements > 0 ? elements : 0);
  // Room for the elements' objects and slots and some text each (a session hash: one block).
  auto [r, a] = make_reply(task, REDIS_REPLY_ARRAY, n * (sizeof(redisReply) + 64) + 64);
  if (r == nullptr) return nullptr;
  if (n > 0) {
    auto* slots = static_cast<redisReply**>(a->allocate(n * sizeof(redisReply*)));
    if (slots == nullptr) {
      if (task->parent == nullptr) a->release();
      return nullptr;
    }
    std::fill_n(slots, n, nullptr);
    r->element = slots;
  }
  r->elements = n;
  return r;
}

void* create_integer(const redisReadTask* task, long long value) {
  redisReply* r = make_reply(task, REDIS_REPLY_INTEGER, 0).reply;
  if (r != nullptr) r->integer = value;
  return r;
}

void* create_nil(const redisReadTask* task) {
  return make_reply(task, REDIS_REPLY_NIL, 0).reply;
}

redisReplyObjectFunctions kArenaFunctions = {create_string, create_array, create_integer,
                                             create_nil, free_reply};

}  // namespace

// hiredis calls this only for a tree's root (the reader's reply); so do we.
void free_reply(void* top) noexcept {
  if (top != nullptr) reinterpret_cast<Arena*>(top)->release();
}

ReplyParser::ReplyParser() : reader_(redisReaderCreateWithFunctions(&kArenaFunctions)) {
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
