#pragma once
/// RESP2 framing without I/O: bytes in, replies out (hiredis's redisReader underneath), and
/// commands out (hiredis's redisFormatCommandArgv). Knows nothing of sockets; the connection
/// feeds it what it reads. Bounded: a reply that would hold more than Limits::max_reply_bytes
/// (string bytes plus one Reply node per element, counted while it is being read) is refused
/// before it is allocated, so a hostile or broken server cannot make it allocate without limit.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "queue/reply.hpp"

struct redisReader;

namespace iamq::queue {

class RespParser {
 public:
  struct Limits {
    /// Memory one reply may take, counted as string bytes + element nodes (64 MiB).
    std::size_t max_reply_bytes = std::size_t{64} << 20;
  };

  explicit RespParser(Limits limits);
  RespParser() : RespParser(Limits{}) {}
  ~RespParser();
  RespParser(const RespParser&) = delete;
  RespParser& operator=(const RespParser&) = delete;

  /// Appends bytes read from the server. After an error the parser stays failed (the
  /// connection must be dropped); feeding then does nothing and returns the error.
  std::error_code feed(std::string_view bytes);
  /// The next complete reply, or nullopt when more bytes are needed or the parser failed
  /// (check error()). Error replies (-ERR …) are replies, not parser errors.
  std::optional<Reply> next();
  /// Errc::protocol_error (garbage, bad lengths, nesting too deep) or Errc::reply_too_large;
  /// empty while the stream is well-formed.
  std::error_code error() const { return error_; }
  /// What was wrong, for logs ("Protocol error, got \"H\" as reply type byte").
  const std::string& error_message() const { return error_message_; }
  /// Bytes fed but not yet consumed as a complete reply (bounded by the limit after next()).
  std::size_t buffered() const;

 private:
  void fail(std::error_code ec, std::string msg);
  struct ReaderDeleter {
    void operator()(redisReader* r) const;
  };
  struct Budget {
    std::size_t used = 0;
    std::size_t limit = 0;
    bool exceeded = false;
  };
  Limits limits_;
  Budget budget_;  // declared before reader_: the reader's privdata points at it
  std::unique_ptr<redisReader, ReaderDeleter> reader_;
  std::error_code error_;
  std::string error_message_;

  friend struct RespBuilder;
};

/// Appends one command in RESP (an array of bulk strings) to `out`.
void append_command(std::string& out, const std::vector<std::string>& args);
/// One command in RESP.
std::string format_command(const std::vector<std::string>& args);

}  // namespace iamq::queue
