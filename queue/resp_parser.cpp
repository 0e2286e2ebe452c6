#include "queue/resp_parser.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <new>

#include "queue/error.hpp"

namespace iamq::queue {

/// hiredis reply-object functions that build Reply trees directly (static trampolines; the
/// reader's privdata is the parser's Budget, owned by the RespParser that owns the reader).
/// Children are constructed in place in their parent's `elements` (sized once, when the array
/// header is read); only the root is heap-allocated, and hiredis frees only the root. A null
/// return makes hiredis fail the stream ("Out of memory"); the budget flag tells the real cause.
/// Nothing may throw into C: every function catches.
struct RespBuilder {
  static RespParser::Budget& budget(const redisReadTask* t) {
    return *static_cast<RespParser::Budget*>(t->privdata);
  }

  /// Charges `n` bytes to the reply being read; false once the limit is passed.
  static bool charge(const redisReadTask* t, std::size_t n) {
    auto& b = budget(t);
    if (n > b.limit || b.used > b.limit - n) {
      b.exceeded = true;
      return false;
    }
    b.used += n;
    return true;
  }

  static void* place(const redisReadTask* t, Reply&& value) {
    if (t->parent != nullptr) {
      auto* parent = static_cast<Reply*>(t->parent->obj);
      if (parent == nullptr || t->idx < 0 ||
          static_cast<std::size_t>(t->idx) >= parent->elements.size()) {
        return nullptr;
      }
      Reply& slot = parent->elements[static_cast<std::size_t>(t->idx)];
      slot = std::move(value);
      return &slot;
    }
    if (!charge(t, sizeof(Reply))) return nullptr;
    return new Reply(std::move(value));
  }

  static void* create_string(const redisReadTask* t, char* s, size_t len) noexcept {
    try {
      // Checked before the bytes are touched: a forged length never reaches a copy.
      if (!charge(t, len)) return nullptr;
      Reply r;
      r.type = t->type == REDIS_REPLY_ERROR    ? Reply::Type::error
               : t->type == REDIS_REPLY_STATUS ? Reply::Type::status
                                               : Reply::Type::string;
      r.str.assign(s, len);
      return place(t, std::move(r));
    } catch (...) {
      return nullptr;
    }
  }

  static void* create_array(const redisReadTask* t, int elements) noexcept {
    try {
      if (elements < 0) return nullptr;
      auto n = static_cast<std::size_t>(elements);
      if (n > budget(t).limit / sizeof(Reply) || !charge(t, n * sizeof(Reply))) {
        budget(t).exceeded = true;
        return nullptr;
      }
      Reply r;
      r.type = Reply::Type::array;
      r.elements.resize(n);
      return place(t, std::move(r));
    } catch (...) {
      return nullptr;
    }
  }

  static void* create_integer(const redisReadTask* t, long long v) noexcept {
    try {
      return place(t, Reply::make_integer(v));
    } catch (...) {
      return nullptr;
    }
  }

  static void* create_nil(const redisReadTask* t) noexcept {
    try {
      return place(t, Reply::make_nil());
    } catch (...) {
      return nullptr;
    }
  }

  static void free_object(void* obj) noexcept { delete static_cast<Reply*>(obj); }

  static redisReplyObjectFunctions* functions() {
    static redisReplyObjectFunctions fn = {&create_string, &create_array, &create_integer,
                                           &create_nil, &free_object};
    return &fn;
  }
};

void RespParser::ReaderDeleter::operator()(redisReader* r) const {
  redisReaderFree(r);
}

RespParser::RespParser(Limits limits)
    : limits_(limits), reader_(redisReaderCreateWithFunctions(RespBuilder::functions())) {
  if (!reader_) throw std::bad_alloc();
  budget_.limit = limits_.max_reply_bytes;
  reader_->privdata = &budget_;  // what the builder functions find in every task
}

RespParser::~RespParser() = default;

void RespParser::fail(std::error_code ec, std::string msg) {
  if (error_) return;
  error_ = ec;
  error_message_ = std::move(msg);
}

std::error_code RespParser::feed(std::string_view bytes) {
  if (error_) return error_;
  if (bytes.empty()) return {};
  if (redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) != REDIS_OK) {
    fail(make_error_code(Errc::protocol_error), "out of memory while buffering a reply");
  }
  return error_;
}

std::optional<Reply> RespParser::next() {
  if (error_) return std::nullopt;
  void* obj = nullptr;
  if (redisReaderGetReply(reader_.get(), &obj) != REDIS_OK) {
    if (budget_.exceeded) {
      fail(make_error_code(Errc::reply_too_large),
           "reply larger than " + std::to_string(limits_.max_reply_bytes) + " bytes");
    } else {
      fail(make_error_code(Errc::protocol_error), reader_->errstr);
    }
    return std::nullopt;
  }
  if (obj == nullptr) {
    // Incomplete: what is buffered belongs to the reply being read, and counts against it.
    if (buffered() > limits_.max_reply_bytes) {
      fail(make_error_code(Errc::reply_too_large),
           "reply larger than " + std::to_string(limits_.max_reply_bytes) + " bytes");
    }
    return std::nullopt;
  }
  std::unique_ptr<Reply> root(static_cast<Reply*>(obj));
  budget_.used = 0;
  return std::move(*root);
}

std::size_t RespParser::buffered() const {
  return reader_->len - reader_->pos;
}

void append_command(std::string& out, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  int len = redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (len < 0 || cmd == nullptr) throw std::bad_alloc();
  std::unique_ptr<char, void (*)(char*)> owned(cmd, &redisFreeCommand);
  out.append(cmd, static_cast<std::size_t>(len));
}

std::string format_command(const std::vector<std::string>& args) {
  std::string out;
  append_command(out, args);
  return out;
}

}  // namespace iamq::queue
